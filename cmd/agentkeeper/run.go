package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/kardianos/service"
	"github.com/spf13/cobra"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/config"
	"github.com/agentkeeper/agentkeeper/agent/daemon"
	"github.com/agentkeeper/agentkeeper/agent/ensure"
	"github.com/agentkeeper/agentkeeper/platform/pkgmgr"
)

// stopTimeout bounds how long a stop request waits for the loop. Windows'
// service manager gives up at 20 s. On Linux a package manager that is
// changing packages when the stop comes is let finish, up to
// pkgmgr.DefaultStopGrace (dpkg or rpm cut off mid-transaction leaves a
// half-installed package); the packaged unit's TimeoutStopSec (and
// KillMode=mixed, so that only agentkeeper gets the SIGTERM) allows it.
// Without an install running, the loop stops at once.
var stopTimeout = map[bool]time.Duration{true: 8 * time.Second, false: pkgmgr.DefaultStopGrace + 30*time.Second}[runtime.GOOS == "windows"]

func (a *app) runCommand() *cobra.Command {
	var rf rootFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the service loop in the foreground (what the installed service runs)",
		Long: `run checks the machine every service.interval (±10 %) and, when install.auto is
true and the agent is missing or too old, installs or updates it as ensure does
(never during a backup: it retries next cycle). install.auto is true by default:
run (and so the installed service) installs the agent unless the configuration says
install.auto: false (or AGENTKEEPER_INSTALL_AUTO=false), which only checks and reports. It serves GET /healthz, /readyz
and /metrics on service.listen, and writes service.textfile and
service.report_file when set. SIGHUP (Linux) re-reads the configuration;
SIGTERM or Ctrl-C stops it.

Exit codes: 0 stopped, 1 could not start (e.g. the address is in use),
2 usage or config error.`,
		Example: `  sudo agentkeeper run                            # checks hourly, installs the agent when needed
  AGENTKEEPER_INSTALL_AUTO=false agentkeeper run  # only check and serve readiness
  agentkeeper run --interval 10m --listen 127.0.0.1:9900
  curl -s 127.0.0.1:9867/readyz                   # 200 when ready, the last report as the body`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runService(a.loader(cmd), &rf)
		},
	}
	f := cmd.Flags()
	f.StringVar(&rf.root, "root", "", "watch the tree at `DIR` instead of this machine (tests, images)")
	config.AddFlags(f, "service.listen", "service.interval")
	f.DurationVar(&a.minInterval, "min-interval", 0, "lowest service.interval accepted (tests only)")
	_ = f.MarkHidden("min-interval")
	return cmd
}

// runService runs the daemon, under the service manager when there is one
// (its system log, its stop requests), else in the foreground. The daemon
// loads the configuration through loader at start and at every cycle; an
// invalid one at start ends run with exit 2.
func (a *app) runService(loader config.Loader, rf *rootFlags) error {
	level := new(slog.LevelVar)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	p := &program{}
	svc, svcErr := service.New(p, serviceConfig(a.configFile, p))
	if svcErr == nil && underServiceManager() {
		if sl, err := svc.SystemLogger(nil); err == nil {
			log = slog.New(daemon.NewSystemHandler(sl, level))
		} else {
			log.Warn("system log unavailable: logging to stderr", "err", err)
		}
	}

	d := daemon.New(daemon.Options{
		Log: log,
		Load: func() (daemon.Config, error) {
			c, err := loader.Load()
			if err != nil {
				return daemon.Config{}, err
			}
			setLevel(level, c.LogLevel)
			return a.daemonConfig(c, rf, log)
		},
	})
	p.run = d.Run
	p.log = log

	if svcErr != nil {
		// No service manager (a container, an unknown init): foreground.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		return runExit(d.Run(ctx))
	}
	if handled, err := runUnderSCM(svc); handled {
		return runExit(err)
	}
	return runExit(svc.Run())
}

// runExit maps how the daemon ended to run's exit: a configuration or
// usage error at start is 2, anything else that kept it from running 1.
func runExit(err error) error {
	var ce *config.Error
	var ee *exitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ce):
		return &exitError{exitUsage, err}
	case errors.As(err, &ee) && ee.code == exitUsage:
		return &exitError{exitUsage, err}
	}
	return &exitError{exitNotReady, err}
}

// daemonConfig builds one loaded configuration for the daemon.
func (a *app) daemonConfig(c *config.Config, rf *rootFlags, log *slog.Logger) (daemon.Config, error) {
	opts, err := a.inspectOptions(c, rf, log)
	if err != nil {
		return daemon.Config{}, err
	}
	eo := ensureOptions(c, opts, func(msg string) { log.Info("ensure: " + msg) })
	return daemon.Config{
		Interval:    c.ServiceInterval,
		InstallAuto: c.InstallAuto,
		Listen:      c.ServiceListen,
		Textfile:    c.ServiceTextfile,
		ReportFile:  c.ServiceReport,
		Warnings:    c.Warnings,
		Fingerprint: fingerprint(c),
		Inspect:     func(ctx context.Context) *agent.Report { return agent.Inspect(ctx, opts) },
		Plan:        func(rep *agent.Report) ensure.Plan { return ensure.PlanFor(rep, eo) },
		Ensure: func(ctx context.Context, skip string) *ensure.Result {
			o := eo
			o.SkipVersion = skip
			return ensure.Run(ctx, o)
		},
	}, nil
}

// fingerprint is the configuration's content, to log a change once.
func fingerprint(c *config.Config) string {
	cc := *c
	cc.File = ""
	return fmt.Sprintf("%s %+v", c.File, cc)
}

func setLevel(l *slog.LevelVar, s string) {
	var lvl slog.Level
	if lvl.UnmarshalText([]byte(strings.ToUpper(s))) == nil {
		l.Set(lvl)
	}
}

// program adapts the daemon to kardianos/service: Start must not block,
// Stop must return quickly.
type program struct {
	run    func(context.Context) error
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Start runs the daemon in the background.
func (p *program) Start(service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go func() {
		defer close(p.done)
		p.err = p.run(ctx)
		if p.err != nil && ctx.Err() == nil {
			p.log.Error("service stopped", "err", p.err)
			if runtime.GOOS == "windows" && underServiceManager() {
				// The service manager only notices an exit: make it
				// one, so that the recovery actions restart us.
				os.Exit(exitNotReady)
			}
		}
	}()
	return nil
}

// Stop cancels the daemon and waits for it, at most stopTimeout.
func (p *program) Stop(service.Service) error {
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	select {
	case <-p.done:
		return p.err
	case <-time.After(stopTimeout):
		return errors.New("the service loop did not stop within " + stopTimeout.String())
	}
}

// wait is kardianos' RunWait (Unix): it returns on SIGTERM or SIGINT, or
// when the daemon ended by itself (it could not start).
func (p *program) wait() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	select {
	case <-sig:
	case <-p.done:
	}
}
