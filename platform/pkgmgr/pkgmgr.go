// Package pkgmgr installs or upgrades one package through the
// distribution's package manager (apt-get, dnf, yum, zypper, tdnf), either
// on the live machine or into an offline root such as a mounted image. Every
// command runs through run.Runner as argv, never through a shell.
package pkgmgr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/install"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// Manager drives one package manager. A Manager remembers whether it has
// refreshed repository metadata, so it is not safe for concurrent use.
type Manager interface {
	// Name is the installer's name: "apt-get", "dnf", "yum", "zypper" or "tdnf".
	Name() string
	// Plan returns the exact commands Install would run now, in order (for
	// --dry-run). A metadata refresh that Candidate already ran on this
	// Manager is not repeated, so it no longer appears in the plan.
	Plan(pkg string) []run.Cmd
	// Candidate refreshes metadata if needed and returns the newest version
	// the repositories offer; "" and an error wrapping ErrNotOffered when
	// they offer none.
	Candidate(ctx context.Context, pkg string) (string, error)
	// Install installs or upgrades pkg to the newest offered version,
	// non-interactively.
	Install(ctx context.Context, pkg string) error
}

// Options tune a Manager.
type Options struct {
	// LockTimeout is how long to wait for another package manager run to
	// release its lock; DefaultLockTimeout when zero.
	LockTimeout time.Duration
	// StopGrace is how long a command that changes packages (the install,
	// dpkg --configure -a) may still run after the context ends (a stop
	// request, SIGTERM): dpkg or rpm cut off mid-transaction leaves a
	// half-installed package, so it is let finish, and killed only after
	// StopGrace. DefaultStopGrace when zero. Commands that change nothing
	// (metadata refresh, queries) and lock waits end at once.
	StopGrace time.Duration
	// Log receives one line per command; nil discards.
	Log *slog.Logger
}

// DefaultLockTimeout is the lock wait used when Options.LockTimeout is zero.
const DefaultLockTimeout = 5 * time.Minute

// DefaultStopGrace is the StopGrace used when Options.StopGrace is zero. A
// service stopping during an install must wait at least this long (the
// systemd unit's TimeoutStopSec is longer).
const DefaultStopGrace = 10 * time.Minute

// ErrLocked is returned (wrapped) when another process still held the
// package manager's lock after the lock timeout. It is an install.ErrBusy.
var ErrLocked error = &kindError{"package manager is locked by another process", install.ErrBusy}

// ErrNotOffered is returned (wrapped) when no enabled repository offers the
// package (install.ErrNotOffered).
var ErrNotOffered = install.ErrNotOffered

// kindError is a sentinel error that is also errors.Is its kind.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

// ErrScriptlet is returned (wrapped, with the *CommandError) when the
// package was installed but one of its scriptlets (%post, ...) failed: the
// package manager counts that as done, yet the package may not be set up.
var ErrScriptlet = errors.New("package installed, but a scriptlet of it failed")

// tailLines is how many lines of output a CommandError keeps.
const tailLines = 15

// CommandError is a package manager command that failed.
type CommandError struct {
	Cmd      run.Cmd
	ExitCode int
	// Tail is the end of the command's combined output.
	Tail string
	// Err is set when the command could not be run at all (not found,
	// context ended); ExitCode is then -1.
	Err error
}

// Error implements error: "<cmd> exited N: <last lines of output>".
func (e *CommandError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Cmd, e.Err)
	}
	tail := strings.TrimSpace(e.Tail)
	if tail == "" {
		tail = "(no output)"
	}
	return fmt.Sprintf("%s exited %d: %s", e.Cmd, e.ExitCode, tail)
}

// Unwrap returns the run error, so errors.Is(err, context.Canceled) works.
func (e *CommandError) Unwrap() error { return e.Err }

// New returns the Manager for installer (agent.Installer* names). When root
// is not the host, commands act on the tree at root.Dir: apt-get runs
// chrooted, the others get their own root option.
func New(installer string, root fsroot.Root, r run.Runner, opts Options) (Manager, error) {
	if r == nil {
		return nil, errors.New("pkgmgr: nil runner")
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = DefaultStopGrace
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	b := base{root: root, r: r, opts: opts, offline: !root.IsHost()}
	switch installer {
	case "apt-get":
		return &apt{base: b}, nil
	case "dnf", "yum", "tdnf":
		return &rpmMgr{base: b, tool: installer}, nil
	case "zypper":
		return &zypper{base: b}, nil
	}
	return nil, fmt.Errorf("pkgmgr: unsupported installer %q (want apt-get, dnf, yum, zypper or tdnf)", installer)
}

// base holds what every Manager shares.
type base struct {
	root    fsroot.Root
	r       run.Runner
	opts    Options
	offline bool
	// refreshed is set once this Manager refreshed repository metadata.
	refreshed bool
	// repairs are the repairs the last Install made, for Installer.
	repairs []install.Step
}

func (b *base) core() *base { return b }

// repaired records a repair Install made (or tried: status fail).
func (b *base) repaired(id, status, format string, a ...any) {
	b.repairs = append(b.repairs, install.Step{ID: id, Status: status, Message: fmt.Sprintf(format, a...)})
}

// lockSecs is the lock timeout in whole seconds (at least 1).
func (b *base) lockSecs() int {
	s := int(b.opts.LockTimeout / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// exec runs c and returns its result; a command that could not be run
// becomes a *CommandError with Err set.
func (b *base) exec(ctx context.Context, c run.Cmd) (run.Result, error) {
	if err := ctx.Err(); err != nil {
		return run.Result{}, &CommandError{Cmd: c, ExitCode: -1, Err: err}
	}
	start := time.Now()
	b.opts.Log.Info("run", "cmd", c.String())
	res, err := b.r.Run(ctx, c)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%v)", cerr, err)
		}
		return res, &CommandError{Cmd: c, ExitCode: -1, Tail: res.Tail(tailLines), Err: err}
	}
	b.opts.Log.Debug("done", "cmd", c.String(), "exit", res.ExitCode, "took", time.Since(start).Round(time.Millisecond))
	return res, nil
}

// execTx runs c, a command that changes installed packages, like exec,
// except that it is never cut off by the end of ctx: once started it gets
// StopGrace more to finish (see Options.StopGrace). It is not started when
// ctx has ended already.
func (b *base) execTx(ctx context.Context, c run.Cmd) (run.Result, error) {
	if err := ctx.Err(); err != nil {
		return run.Result{}, &CommandError{Cmd: c, ExitCode: -1, Err: err}
	}
	tctx, kill := context.WithCancel(context.WithoutCancel(ctx))
	defer kill()
	finished := make(chan struct{})
	defer close(finished)
	go func() {
		select {
		case <-finished:
			return
		case <-ctx.Done():
		}
		b.opts.Log.Warn("stop requested while the package manager is changing packages: letting it finish",
			"cmd", c.String(), "at_most", b.opts.StopGrace)
		t := time.NewTimer(b.opts.StopGrace)
		defer t.Stop()
		select {
		case <-finished:
		case <-t.C:
			b.opts.Log.Error("the package manager did not finish within the stop grace: stopping it", "cmd", c.String(), "grace", b.opts.StopGrace)
			kill()
		}
	}()
	res, err := b.exec(tctx, c)
	if err == nil && ctx.Err() != nil {
		b.opts.Log.Info("the package manager finished after the stop request", "cmd", c.String(), "exit", res.ExitCode)
	}
	return res, err
}

// retryLocked runs c through runOnce until it no longer fails because of a
// lock (isLocked), retrying every lockRetryEvery; when the lock is still
// held at the lock timeout, the last result comes back with an error that
// wraps ErrLocked. Only commands that fail before changing anything when
// they meet a lock may be retried this way.
func (b *base) retryLocked(ctx context.Context, c run.Cmd, isLocked func(run.Result) bool,
	runOnce func(context.Context, run.Cmd) (run.Result, error)) (run.Result, error) {
	deadline := time.Now().Add(b.opts.LockTimeout)
	for {
		res, err := runOnce(ctx, c)
		if err != nil || !isLocked(res) {
			return res, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return res, locked(fail(c, res))
		}
		wait := min(lockRetryEvery, left)
		b.opts.Log.Info("the package manager is locked by another process; waiting", "cmd", c.Argv[0], "retry_in", wait, "gives_up_in", left.Round(time.Second))
		if err := run.Sleep(ctx, wait); err != nil {
			return res, &CommandError{Cmd: c, ExitCode: -1, Tail: res.Tail(tailLines), Err: err}
		}
	}
}

// fail builds the *CommandError for a command that exited non-zero.
func fail(c run.Cmd, res run.Result) *CommandError {
	return &CommandError{Cmd: c, ExitCode: res.ExitCode, Tail: res.Tail(tailLines)}
}

// output is a command's combined output as one string, for matching
// messages.
func output(res run.Result) string { return string(res.Stdout) + "\n" + string(res.Stderr) }

// containsAny reports whether s contains one of subs.
func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// locked wraps a lock failure so that both ErrLocked and the
// *CommandError can be found with errors.Is / errors.As.
func locked(e *CommandError) error { return both(ErrLocked, e) }

// both wraps two errors so that errors.Is and errors.As find either.
func both(a, b error) error { return fmt.Errorf("%w: %w", a, b) }

// notOffered wraps ErrNotOffered with the package name.
func notOffered(pkg string) error { return fmt.Errorf("%s: %w", pkg, ErrNotOffered) }

// checkPkg refuses names that a package manager could take for an option
// or that hold characters no distribution allows in package names.
func checkPkg(pkg string) error {
	if pkg == "" || strings.HasPrefix(pkg, "-") {
		return fmt.Errorf("pkgmgr: invalid package name %q", pkg)
	}
	for _, c := range pkg {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune(".+-_:~", c):
		default:
			return fmt.Errorf("pkgmgr: invalid package name %q", pkg)
		}
	}
	return nil
}
