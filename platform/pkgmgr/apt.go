package pkgmgr

import (
	"bufio"
	"context"
	"strconv"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/install"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// apt drives apt-get on Debian and Ubuntu. Offline, every command runs as
// `chroot <root> ...`, so the image's own apt sources, keys and maintainer
// scripts are used. No policy-rc.d is needed in the image: invoke-rc.d in a
// chroot without a running init prints "No init system and policy-rc.d
// missing! Defaulting to block." and does not start the service, while the
// package's postinst still enables the unit (checked with Debian 12's
// waagent, see real_linux_test.go).
type apt struct{ base }

// aptEnv keeps apt and debconf from asking questions and its messages in
// English, which the lock and "dpkg was interrupted" checks read.
// NEEDRESTART_MODE=a makes Ubuntu's needrestart restart services without
// asking; it is ignored where needrestart is missing.
var aptEnv = []string{"DEBIAN_FRONTEND=noninteractive", "DEBCONF_NONINTERACTIVE_SEEN=true",
	"NEEDRESTART_MODE=a", "LC_ALL=C"}

// Messages apt and dpkg print when another process holds their lock.
var aptLockMessages = []string{
	"Could not get lock",
	"Unable to acquire the dpkg frontend lock",
	"Unable to lock the administration directory",
	"Unable to lock directory",
	"dpkg frontend lock was locked by another process",
	"dpkg status database is locked by another process",
	"dpkg database lock was locked by another process",
}

// dpkgLockMessages are what dpkg itself (1.21, Debian 12) prints, exit 2,
// when another process holds its frontend or database lock. dpkg does not
// wait; run for itself (dpkg --configure -a) it is retried until the lock
// timeout, as nothing has changed yet.
var dpkgLockMessages = []string{
	"dpkg frontend lock was locked by another process",
	"dpkg database lock was locked by another process",
	"dpkg status database is locked by another process",
}

// aptRetryLocks are the locks apt-get does not wait for itself:
// DPkg::Lock::Timeout covers dpkg's frontend lock only, while another
// process holding apt's lists lock (apt-get update) or archives lock (the
// download) makes apt-get fail at once ("E: Could not get lock
// /var/lib/apt/lists/lock. It is held by process N"), before it changes
// anything. Such a command is retried until the lock timeout.
var aptRetryLocks = []string{"Could not get lock /var/lib/apt/lists/lock", "Could not get lock /var/cache/apt/archives/lock"}

// aptInterrupted is printed (exit 100) when an earlier dpkg run was cut
// short; `dpkg --configure -a` repairs it.
const aptInterrupted = "dpkg was interrupted"

func (a *apt) Name() string { return "apt-get" }

// cmd builds an argv, chrooted when offline.
func (a *apt) cmd(argv ...string) run.Cmd {
	if a.offline {
		argv = append([]string{"chroot", a.root.Dir}, argv...)
	}
	return run.Cmd{Argv: argv, Env: aptEnv}
}

func (a *apt) lockOpt() string { return "DPkg::Lock::Timeout=" + strconv.Itoa(a.lockSecs()) }

func (a *apt) updateCmd() run.Cmd {
	return a.cmd("apt-get", "update", "-q", "-o", a.lockOpt())
}

// installCmd installs pkg, or upgrades it to the candidate when installed.
// --force-confdef/--force-confold keep a locally changed waagent.conf
// without asking.
func (a *apt) installCmd(pkg string, extra ...string) run.Cmd {
	argv := append([]string{"apt-get", "install", "-y", "-q", "--no-install-recommends"}, extra...)
	return a.cmd(append(argv, "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
		"-o", a.lockOpt(), pkg)...)
}

func (a *apt) configureCmd() run.Cmd {
	return a.cmd("dpkg", "--force-confdef", "--force-confold", "--configure", "-a")
}

func (a *apt) Plan(pkg string) []run.Cmd {
	var p []run.Cmd
	if !a.refreshed {
		p = append(p, a.updateCmd())
	}
	return append(p, a.installCmd(pkg))
}

// refresh runs apt-get update once per Manager.
func (a *apt) refresh(ctx context.Context) error {
	if a.refreshed {
		return nil
	}
	if err := a.runChecked(ctx, a.updateCmd()); err != nil {
		return err
	}
	a.refreshed = true
	return nil
}

// retryable reports whether res failed on one of aptRetryLocks.
func (a *apt) retryable(res run.Result) bool {
	return res.ExitCode != 0 && containsAny(output(res), aptRetryLocks...)
}

// run runs c, retrying it while it meets a held lists or archives lock
// (and, for dpkg itself, dpkg's locks). Everything but apt-get update
// changes packages and runs to its end even after a stop request (execTx).
func (a *apt) run(ctx context.Context, c run.Cmd) (run.Result, error) {
	once, retryable := a.execTx, a.retryable
	argv := c.Argv
	if a.offline && len(argv) > 2 && argv[0] == "chroot" {
		argv = argv[2:]
	}
	switch {
	case len(argv) > 1 && argv[0] == "apt-get" && argv[1] == "update":
		once = a.exec
	case len(argv) > 0 && argv[0] == "dpkg":
		retryable = func(res run.Result) bool {
			return a.retryable(res) || (res.ExitCode != 0 && containsAny(output(res), dpkgLockMessages...))
		}
	}
	return a.retryLocked(ctx, c, retryable, once)
}

// runChecked runs c and turns a non-zero exit into a *CommandError
// (wrapped in ErrLocked for lock messages).
func (a *apt) runChecked(ctx context.Context, c run.Cmd) error {
	res, err := a.run(ctx, c)
	if err != nil {
		return err
	}
	if res.ExitCode == 0 {
		return nil
	}
	if containsAny(output(res), aptLockMessages...) {
		return locked(fail(c, res))
	}
	return fail(c, res)
}

func (a *apt) Candidate(ctx context.Context, pkg string) (string, error) {
	if err := checkPkg(pkg); err != nil {
		return "", err
	}
	if err := a.refresh(ctx); err != nil {
		return "", err
	}
	c := a.cmd("apt-cache", "policy", pkg)
	res, err := a.exec(ctx, c)
	if err != nil {
		return "", err
	}
	if res.ExitCode != 0 {
		return "", fail(c, res)
	}
	v, ok := parseAptPolicy(string(res.Stdout), pkg)
	if !ok {
		return "", notOffered(pkg)
	}
	return v, nil
}

// Install runs apt-get update (unless done already) and apt-get install.
// apt itself waits up to the lock timeout for the dpkg lock; its lists and
// archives locks are waited for by retrying (aptRetryLocks). A postinst
// that failed to mkdir a directory left behind is repaired once
// (apt_repair.go) and the install run again. When dpkg
// reports an interrupted earlier run, `dpkg --configure -a` runs once and
// the install is retried once.
func (a *apt) Install(ctx context.Context, pkg string) error {
	if err := checkPkg(pkg); err != nil {
		return err
	}
	if err := a.refresh(ctx); err != nil {
		return err
	}
	return a.installWith(ctx, a.installCmd(pkg))
}

// installWith runs the install command c with the repairs Install
// describes.
func (a *apt) installWith(ctx context.Context, c run.Cmd) error {
	mkdirRepaired := false
	for attempt := 0; ; attempt++ {
		res, err := a.run(ctx, c)
		if err != nil {
			return err
		}
		if res.ExitCode == 0 {
			return nil
		}
		out := output(res)
		switch {
		case containsAny(out, aptLockMessages...):
			return locked(fail(c, res))
		case !mkdirRepaired && attempt < 2 && a.mkdirExists(out) != nil:
			mkdirRepaired = true
			did, err := a.repairMkdirExists(ctx, *a.mkdirExists(out))
			if err != nil {
				a.repaired("repair", install.StepFail, "%v", err)
				return err
			}
			a.opts.Log.Warn("repaired: " + did)
			a.repaired("repair", install.StepPass, "%s, then retried the install", did)
			continue
		case attempt == 0 && strings.Contains(out, aptInterrupted):
			a.opts.Log.Warn("dpkg was interrupted earlier: running dpkg --configure -a, then retrying once")
			if err := a.runChecked(ctx, a.configureCmd()); err != nil {
				a.repaired("repair", install.StepFail, "dpkg was interrupted earlier: %v", err)
				return err
			}
			a.repaired("repair", install.StepPass, "dpkg was interrupted earlier: ran %s, then retried the install", a.configureCmd())
			continue
		}
		return fail(c, res)
	}
}

// mkdirExists returns the failed postinst mkdir in out (see
// apt_repair.go), or nil.
func (a *apt) mkdirExists(out string) *mkdirExists {
	if f, ok := parseMkdirExists(out); ok {
		return &f
	}
	return nil
}

// parseAptPolicy reads `apt-cache policy <pkg>` output and returns the
// "Candidate:" version of pkg's block; ok is false when there is no block
// for pkg or the candidate is "(none)".
func parseAptPolicy(out, pkg string) (string, bool) {
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	inPkg := false
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if line == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			// A block header: "waagent:" or "waagent:amd64:".
			name, ok := strings.CutSuffix(line, ":")
			if n, _, found := strings.Cut(name, ":"); found {
				name = n
			}
			inPkg = ok && name == pkg
			continue
		}
		if !inPkg {
			continue
		}
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || k != "Candidate" {
			continue
		}
		v = strings.TrimSpace(v)
		// A version has no spaces or control characters (a stray \r included).
		if v == "" || v == "(none)" || strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0 {
			return "", false
		}
		return v, true
	}
	return "", false
}
