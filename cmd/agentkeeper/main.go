// Command agentkeeper makes a machine ready for Azure Backup: it checks the
// Azure VM agent and reports whether the machine is ready.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/agentkeeper/agentkeeper/agent/config"
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

// Exit codes, as documented in README.md.
const (
	exitReady    = 0
	exitNotReady = 1
	exitUsage    = 2
)

// exitError carries an exit code through cobra.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// app holds what every subcommand shares.
type app struct {
	v          *viper.Viper
	configFile string
	jsonOut    bool
	log        *slog.Logger
	cfg        *config.Config
}

func main() {
	os.Exit(execute(os.Args[1:]))
}

func execute(args []string) int {
	a := &app{v: config.New()}
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitReady
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(os.Stderr, "agentkeeper:", ee.err)
		}
		return ee.code
	}
	// Anything else is a usage error from cobra or a flag.
	fmt.Fprintln(os.Stderr, "agentkeeper:", err)
	fmt.Fprintln(os.Stderr, "Run 'agentkeeper --help' for usage.")
	return exitUsage
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "agentkeeper",
		Short: "Make a machine ready for Azure Backup: check (and keep) the Azure VM agent",
		Long: `agentkeeper finds out which operating system it runs on, checks that the Azure VM
agent is installed, recent enough and healthy, and reports whether the machine is
ready for Azure Backup.

Exit codes: 0 ready, 1 not ready, 2 usage, config or internal error,
75 deferred (ensure: a backup or another installation is running; retry later).`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.configFile, "config", "", "config file (default "+config.DefaultFile()+" when it exists)")
	pf.String("log-level", "info", "log level: debug, info, warn, error (logs go to stderr)")
	root.AddCommand(a.checkCommand(), a.ensureCommand(), a.versionCommand())
	root.AddCommand(a.runCommand(), a.serviceCommand())
	root.AddCommand(a.summarizeCommand())
	return root
}

// flagKeys ties flags to config keys so that flag > env > file > default.
// They are bound when a command runs: several commands define the same
// flag, and viper keeps one binding per key.
var flagKeys = map[string]string{
	"log-level":           "log.level",
	"offline":             "offline",
	"linux-min-version":   "linux.min_version",
	"windows-min-version": "windows.min_version",
	"wait-backup":         "backup.wait",
}

// load binds the running command's flags, reads and validates the
// configuration and sets up logging.
func (a *app) load(cmd *cobra.Command) error {
	for name, key := range flagKeys {
		f := cmd.Flags().Lookup(name)
		if f == nil {
			f = cmd.InheritedFlags().Lookup(name)
		}
		if f != nil {
			if err := a.v.BindPFlag(key, f); err != nil {
				return &exitError{exitUsage, err}
			}
		}
	}
	cfg, err := config.Load(a.v, a.configFile)
	if err != nil {
		return &exitError{exitUsage, err}
	}
	a.cfg = cfg
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	a.log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	for _, w := range cfg.Warnings {
		a.log.Warn(w)
	}
	if cfg.File != "" {
		a.log.Debug("config read", "file", cfg.File)
	}
	return nil
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print agentkeeper's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), "agentkeeper", version)
			return nil
		},
	}
}
