package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/config"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// rootFlags are the flags of commands that look at a machine.
type rootFlags struct {
	root string
}

func (a *app) addRootFlags(cmd *cobra.Command, rf *rootFlags) {
	f := cmd.Flags()
	f.StringVar(&rf.root, "root", "", "inspect the tree at `DIR` as an offline image (default: this machine)")
	f.BoolVar(&a.jsonOut, "json", false, "print one JSON object (see README) instead of a table")
	config.AddFlags(f, "offline", "linux.min_version", "windows.min_version", "checks.skip")
}

// fsRoot turns --root into a Root, checking that it is a directory.
func (rf *rootFlags) fsRoot() (fsroot.Root, error) {
	if rf.root == "" {
		if runtime.GOOS == "windows" {
			sd := os.Getenv("SystemDrive")
			if sd == "" {
				sd = "C:"
			}
			return fsroot.New(sd + `\`), nil
		}
		return fsroot.New("/"), nil
	}
	abs, err := filepath.Abs(rf.root)
	if err != nil {
		return fsroot.Root{}, fmt.Errorf("--root %s: %w", rf.root, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return fsroot.Root{}, fmt.Errorf("--root: %w", err)
	}
	if !fi.IsDir() {
		return fsroot.Root{}, fmt.Errorf("--root %s: not a directory", rf.root)
	}
	return fsroot.New(abs), nil
}

// inspectOptions builds agent.Options from a loaded configuration and
// --root; log receives the inspection's logs.
func (a *app) inspectOptions(c *config.Config, rf *rootFlags, log *slog.Logger) (agent.Options, error) {
	root, err := rf.fsRoot()
	if err != nil {
		return agent.Options{}, &exitError{exitUsage, err}
	}
	return agent.Options{
		Root:       root,
		NoNetwork:  c.Offline,
		MinLinux:   c.LinuxMinVersion,
		MinWindows: c.WindowsMinVersion,
		// windows.supported_version: between MinWindows and it, agent.version warns.
		SupportedWindows: c.WindowsSupportedVersion,
		Endpoints: agent.Endpoints{WireServer: c.WireServer, HostGAPlugin: c.HostGAPlugin,
			IMDS: c.IMDS, Timeout: c.NetworkTimeout},
		BackupStaleAfter: c.BackupStaleAfter,
		Runner:           run.Exec{},
		Log:              log,
		Version:          appVersion().Version,
		HTTP:             a.http,
		Skip:             skipSet(c.ChecksSkip),
	}, nil
}

// skipSet is checks.skip as agent.Options wants it (nil when empty).
func skipSet(ids []string) map[agent.CheckID]bool {
	if len(ids) == 0 {
		return nil
	}
	set := make(map[agent.CheckID]bool, len(ids))
	for _, id := range ids {
		set[agent.CheckID(id)] = true
	}
	return set
}

func (a *app) checkCommand() *cobra.Command {
	var rf rootFlags
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check whether this machine (or an image, with --root) is ready for Azure Backup",
		Long: `check detects the operating system, inspects the Azure VM agent (package, version,
service, configuration) and, on a live Azure VM, the Azure host endpoints, and reports
whether the machine is ready for Azure Backup. It changes nothing.

By default it checks this machine, network checks included (they run only on a live
Azure VM); --root DIR checks an offline image instead, without network checks.

Exit codes: 0 ready, 1 not ready, 2 usage, config or internal error.`,
		Example: `  sudo agentkeeper check                         # this machine: a table, then READY or NOT READY
  agentkeeper check --root /mnt/image            # an unpacked or mounted image (Linux or Windows)
  agentkeeper check --json | jq .ready           # for pipelines: one JSON object on stdout
  agentkeeper check --linux-min-version 2.9.1.1  # demand a newer agent than the default minimum`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.load(cmd)
			if err != nil {
				return err
			}
			opts, err := a.inspectOptions(cfg, &rf, a.log)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			rep := agent.Inspect(ctx, opts)
			out := cmd.OutOrStdout()
			if a.jsonOut {
				err = agent.WriteJSON(out, rep)
			} else {
				err = agent.WriteText(out, rep)
			}
			if err != nil {
				return &exitError{exitUsage, fmt.Errorf("write report: %w", err)}
			}
			if !rep.Ready {
				return exitCode(exitNotReady)
			}
			return nil
		},
	}
	a.addRootFlags(cmd, &rf)
	return cmd
}
