// Command agentkeeper makes a machine ready for Azure Backup: it checks the
// Azure VM agent and reports whether the machine is ready.
package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/config"
)

// version is set at build time: -ldflags "-X main.version=...". Without
// it the build info decides (appVersion); use appVersion().Version.
var version = "dev"

// Exit codes, as documented in README.md.
const (
	exitReady    = 0
	exitNotReady = 1
	exitUsage    = 2
)

// exitError carries an exit code through cobra. err says what went wrong;
// nil means the command's output already said it (a report that is not
// ready), so nothing more is printed.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitCode ends the command with code and no further message.
func exitCode(code int) error { return &exitError{code: code} }

// app holds what every subcommand shares.
type app struct {
	configFile string
	jsonOut    bool
	log        *slog.Logger
	// http is the process's one client for the network checks: its
	// transport (and idle connections) is reused by every inspection.
	http *http.Client
	// quiet (--quiet) leaves only warnings and errors on stderr.
	quiet bool
	// minInterval lowers the floor of service.interval (run's hidden
	// --min-interval, for tests).
	minInterval time.Duration
}

func main() {
	os.Exit(execute(os.Args[1:]))
}

func execute(args []string) int {
	a := &app{http: agent.NewHTTPClient()}
	root := a.rootCommand()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return exitReady
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
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
		Version:       appVersion().Version,
	}
	root.SetVersionTemplate("agentkeeper {{.Version}}\n")
	root.SetHelpCommand(helpCommand())
	// Old flag names (--offline) keep working, hidden from --help.
	root.SetGlobalNormalizationFunc(config.NormalizeFlag)
	pf := root.PersistentFlags()
	pf.StringVar(&a.configFile, "config", "", "read the config `FILE` (default "+config.DefaultFile()+" when it exists)")
	config.AddFlags(pf, "log.level")
	pf.BoolVarP(&a.quiet, "quiet", "q", false, "only warnings and errors on stderr: no progress, no package manager output (for pipelines)")
	root.AddCommand(a.checkCommand(), a.ensureCommand(), a.versionCommand())
	root.AddCommand(a.runCommand(), a.serviceCommand())
	root.AddCommand(a.summarizeCommand(), a.genDocsCommand())
	root.AddCommand(a.checksCommand())
	root.InitDefaultCompletionCmd()
	completionExamples(root)
	return root
}

// loader reads the configuration for the running command: its flags
// bound to keys (config.Key.Flag) beat the environment, the file and the
// defaults.
func (a *app) loader(cmd *cobra.Command) config.Loader {
	return config.Loader{File: a.configFile, Flags: cmd.Flags(), MinInterval: a.minInterval}
}

// load reads and validates the configuration, sets up logging to stderr
// and logs the configuration's warnings.
func (a *app) load(cmd *cobra.Command) (*config.Config, error) {
	cfg, err := a.loader(cmd).Load()
	if err != nil {
		return nil, &exitError{exitUsage, err}
	}
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	if a.quiet && lvl < slog.LevelWarn {
		lvl = slog.LevelWarn
	}
	a.log = slog.New(newCLIHandler(os.Stderr, lvl))
	for _, w := range cfg.Warnings {
		a.log.Warn(w)
	}
	if cfg.File != "" {
		a.log.Debug("config read", "file", cfg.File)
	}
	return cfg, nil
}

// helpCommand is `help [command]`: cobra's, except that a command that
// does not exist is a usage error (exit 2), not a message and exit 0.
func helpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "help prints the help of the command named (of agentkeeper with none).",
		Example: `  agentkeeper help
  agentkeeper help service`,
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, err := c.Root().Find(args)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			var names []cobra.Completion
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() && strings.HasPrefix(sub.Name(), toComplete) {
					names = append(names, cobra.CompletionWithDesc(sub.Name(), sub.Short))
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := c.Root().Find(args)
			if err != nil || cmd == nil || len(rest) > 0 {
				return &exitError{exitUsage, fmt.Errorf("help: no command %q; run 'agentkeeper --help' for the list", strings.Join(args, " "))}
			}
			cmd.InitDefaultHelpFlag()
			cmd.InitDefaultVersionFlag()
			return cmd.Help()
		},
	}
}

// completionExamples gives cobra's completion commands an Example each.
// The .deb and .rpm install the bash, zsh and fish scripts already.
func completionExamples(root *cobra.Command) {
	examples := map[string]string{
		"completion": `  source <(agentkeeper completion bash)   # this shell only; the packages install it for good
  agentkeeper completion fish > ~/.config/fish/completions/agentkeeper.fish`,
		"bash":       `  source <(agentkeeper completion bash)`,
		"zsh":        `  agentkeeper completion zsh > "${fpath[1]}/_agentkeeper"`,
		"fish":       `  agentkeeper completion fish > ~/.config/fish/completions/agentkeeper.fish`,
		"powershell": `  agentkeeper completion powershell | Out-String | Invoke-Expression`,
	}
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Example = examples["completion"]
		for _, sub := range c.Commands() {
			sub.Example = examples[sub.Name()]
		}
	}
}
