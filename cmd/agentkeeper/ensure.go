package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/config"
	"github.com/agentkeeper/agentkeeper/agent/ensure"
	"github.com/agentkeeper/agentkeeper/platform/msi"
)

func (a *app) ensureCommand() *cobra.Command {
	var rf rootFlags
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "ensure",
		Short: "Install or update the Azure VM agent when it is missing or too old, never during a backup",
		Long: `ensure inspects the machine (or the image at --root) and, when the agent is missing,
too old or its service is not enabled, installs or updates it: with the distribution's
package manager on Linux (chroot/--installroot for images), or by reinstalling the
verified agent MSI on Windows. It never changes anything while an Azure Backup snapshot
is running: it waits up to --wait-backup, then defers.

By default it changes this machine (--root DIR: the image at DIR) and does not wait
for a running backup (--wait-backup 0): it defers at once.

Exit codes: 0 ready afterwards, 1 not ready or failed, 2 usage or config error,
75 deferred (a backup is running, another install is in progress): retry later.`,
		Example: `  sudo agentkeeper ensure --dry-run          # the plan and the preconditions; changes nothing
  sudo agentkeeper ensure                    # install, update or enable the agent if needed
  sudo agentkeeper ensure --wait-backup 10m  # wait up to 10 minutes for a running backup
  agentkeeper ensure --root /mnt/image       # into an image (chroot / --installroot)
  sudo agentkeeper ensure --json; [ $? -eq 75 ] && echo "deferred: retry later"`,
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
			// Progress and the package manager's (or msiexec's) own lines,
			// indented under it, go to stderr in the log's one format.
			eo := ensureOptions(cfg, opts, func(msg string) { a.log.Info(msg) })
			eo.Output = func(line string) { a.log.Info(line, outputKey, true) }
			eo.DryRun = dryRun
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			res := ensure.Run(ctx, eo)
			out := cmd.OutOrStdout()
			if a.jsonOut {
				err = agent.WriteJSON(out, res)
			} else {
				err = writeEnsureText(out, res)
			}
			if err != nil {
				return &exitError{exitUsage, fmt.Errorf("write result: %w", err)}
			}
			if res.ExitCode != 0 {
				return exitCode(res.ExitCode)
			}
			return nil
		},
	}
	a.addRootFlags(cmd, &rf)
	f := cmd.Flags()
	f.BoolVar(&dryRun, "dry-run", false, "print the plan and the preconditions; change nothing")
	config.AddFlags(f, "backup.wait")
	return cmd
}

// ensureOptions builds ensure.Options from a loaded configuration, for the
// ensure command and the service alike; progress receives ensure's
// progress lines.
func ensureOptions(c *config.Config, inspect agent.Options, progress func(msg string)) ensure.Options {
	return ensure.Options{
		Inspect:        inspect,
		WaitBackup:     c.BackupWait,
		Poll:           c.BackupPoll,
		LockFile:       c.InstallLockFile,
		LockTimeout:    c.InstallLockTimeout,
		PkgLockTimeout: c.InstallLockTimeout,
		MSI:            msi.Source{URL: c.WindowsMSI, SHA256: c.WindowsMSISHA256, Signer: c.WindowsMSISigner},
		VerifySig:      msi.DefaultVerifier,
		Progress:       progress,
	}
}

func writeEnsureText(w io.Writer, r *ensure.Result) error {
	var b strings.Builder
	p := r.Plan
	fmt.Fprintf(&b, "plan: %s", p.Action)
	if p.Package != "" {
		fmt.Fprintf(&b, " %s (%s)", p.Package, p.Installer)
	}
	fmt.Fprintf(&b, ": %s\n", p.Reason)
	for _, c := range p.Commands {
		fmt.Fprintf(&b, "  $ %s\n", c)
	}
	section := func(title string, steps []ensure.Step) {
		if len(steps) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s:\n", title)
		for _, s := range steps {
			fmt.Fprintf(&b, "  %-8s %-14s %s\n", strings.ToUpper(s.Status), s.ID, s.Message)
		}
	}
	section("preconditions", r.Preconditions)
	section("actions", r.Actions)
	if r.Report != nil && r.Outcome != "planned" {
		fmt.Fprintln(&b)
		if err := agent.WriteText(&b, r.Report); err != nil {
			return err
		}
	}
	fmt.Fprintf(&b, "\nensure: %s (exit %d): %s\n", r.Outcome, r.ExitCode, r.Message)
	_, err := io.WriteString(w, b.String())
	return err
}
