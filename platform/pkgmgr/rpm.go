package pkgmgr

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/pkgdb"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// rpmMgr drives dnf, yum and tdnf (Red Hat family, Azure Linux / CBL-Mariner).
//
// Install runs `install` and then `upgrade` for dnf and yum: install puts
// a missing package in place, upgrade moves an installed one to the newest
// offered version, and each is a successful no-op ("Nothing to do") in the
// other case, so the pair is right whatever the machine holds. tdnf's
// install already upgrades an installed package (vmware/tdnf#22), so tdnf
// runs install alone.
//
// Offline, the tool runs on the host with --installroot=<root>: it then
// reads the repository configuration from the root (dnf takes
// etc/dnf/dnf.conf and etc/yum.repos.d from the root when they exist there)
// and $releasever from the root's system-release package, which is why no
// --releasever is passed: os-release VERSION_ID is not $releasever on RHEL
// minor releases, Amazon Linux 2023 or Azure Linux. yum reads its
// configuration from the host unless told, so it also gets
// -c <root>/etc/yum.conf. The RPM database, though, is wherever the host's
// rpm macro %_dbpath says (Debian's and Ubuntu's rpm: ~/.rpmdb, so dnf on
// such a build host would write a second, empty database into the image's
// /root/.rpmdb and leave the image's own untouched). So offline runs get
// HOME set to a private directory whose .rpmmacros sets %_dbpath to the
// image's database directory (checked with Debian 12's dnf 4.14).
//
// Metadata: all three refresh expired repository metadata by themselves, so
// there is no separate refresh step.
//
// Locks: dnf and yum run with exit_on_lock, because without it they wait
// for another dnf or yum forever ("Waiting for process with pid N to
// finish."); with it they exit 200 ("RPMDB already locked by N") and are
// retried until the lock timeout. rpm's own transaction lock
// (<dbpath>/.rpm.lock) is waited for by rpm only when its standard input is
// a terminal, which ours never is: the tool fails at once with "can't
// create transaction lock", before anything is changed, and is retried the
// same way. After the timeout ErrLocked is returned.
//
// Scriptlets: when a package's %post (or another non-fatal scriptlet)
// fails, dnf and yum still exit 0 and print "Error in POSTIN scriptlet in
// rpm package X" on stderr; Install then returns ErrScriptlet, because the
// package is installed but not set up as its maintainers meant.
type rpmMgr struct {
	base
	tool string
}

// rpmEnv keeps messages in English for the checks below.
var rpmEnv = []string{"LC_ALL=C"}

// yumLockMessages are what yum prints when another yum holds its lock.
var yumLockMessages = []string{
	"Another app is currently holding the yum lock",
	"Existing lock /var/run/yum.pid",
}

// rpmNoMatch are the "no such package" messages of dnf, yum and tdnf.
var rpmNoMatch = []string{"No matching Packages", "No matching packages", "No match for argument"}

// dnfLockMessages are what dnf prints, with exit_on_lock, when another
// dnf holds one of its locks ("RPMDB already locked by 4242").
var dnfLockMessages = []string{"already locked by"}

// rpmLockMessages are what rpm prints (through dnf, yum, tdnf or zypper)
// when another process holds the RPM database's transaction lock.
var rpmLockMessages = []string{"can't create transaction lock on"}

// rpmScriptletMessages are what dnf and yum print (exit 0) when a
// scriptlet failed but the package was installed.
var rpmScriptletMessages = []string{" scriptlet in rpm package ", "scriptlet failed, exit status"}

// lockRetryEvery is how often a command that met a held lock is retried.
var lockRetryEvery = 5 * time.Second

func (m *rpmMgr) Name() string { return m.tool }

// cmd builds `<tool> [global options] <args...>`.
func (m *rpmMgr) cmd(args ...string) run.Cmd {
	argv := []string{m.tool}
	if m.tool == "yum" || m.tool == "dnf" {
		argv = append(argv, "--setopt=exit_on_lock=True")
	}
	if m.offline {
		argv = append(argv, "--installroot="+m.root.Dir)
		if m.tool == "yum" {
			argv = append(argv, "-c", m.root.Join("/etc/yum.conf"))
		}
	}
	return run.Cmd{Argv: append(argv, args...), Env: rpmEnv}
}

func (m *rpmMgr) Plan(pkg string) []run.Cmd {
	p := []run.Cmd{m.cmd("-y", "install", pkg)}
	if m.tool != "tdnf" {
		p = append(p, m.cmd("-y", "upgrade", pkg))
	}
	return p
}

// listCmd lists the installed and offered versions of pkg.
func (m *rpmMgr) listCmd(pkg string) run.Cmd {
	if m.tool == "tdnf" {
		return m.cmd("list", pkg)
	}
	return m.cmd("-q", "list", "--showduplicates", pkg)
}

// Candidate returns the newest version in the "available" part of the
// list; when nothing is listed there but the package is installed, the
// installed version (dnf and yum leave the installed version out of the
// available list, so an up-to-date package looks like that).
func (m *rpmMgr) Candidate(ctx context.Context, pkg string) (string, error) {
	if err := checkPkg(pkg); err != nil {
		return "", err
	}
	c := m.listCmd(pkg)
	res, err := m.runLocked(ctx, c, false)
	if err != nil {
		return "", err
	}
	avail, inst := parseRPMList(output(res), pkg)
	if res.ExitCode != 0 {
		if containsAny(output(res), rpmNoMatch...) && len(avail)+len(inst) == 0 {
			return "", notOffered(pkg)
		}
		return "", fail(c, res)
	}
	if v := pkgdb.NewestEVR(avail); v != "" {
		return v, nil
	}
	if v := pkgdb.NewestEVR(inst); v != "" {
		return v, nil
	}
	return "", notOffered(pkg)
}

func (m *rpmMgr) Install(ctx context.Context, pkg string) error {
	if err := checkPkg(pkg); err != nil {
		return err
	}
	for i, c := range m.Plan(pkg) {
		res, err := m.runLocked(ctx, c, true)
		if err != nil {
			return err
		}
		if res.ExitCode == 0 {
			if m.tool != "tdnf" && containsAny(string(res.Stderr), rpmScriptletMessages...) {
				return both(fmt.Errorf("%s: %w", pkg, ErrScriptlet), fail(c, res))
			}
			continue
		}
		if i == 0 && containsAny(output(res), rpmNoMatch...) {
			return both(notOffered(pkg), fail(c, res))
		}
		return fail(c, res)
	}
	return nil
}

// runLocked runs c; a lock held by another process (yum's or dnf's own,
// or rpm's transaction lock) is retried until the lock timeout, then
// reported as ErrLocked. tx marks a command that changes packages: it runs
// to its end even after a stop request (execTx).
func (m *rpmMgr) runLocked(ctx context.Context, c run.Cmd, tx bool) (run.Result, error) {
	once := m.exec
	if tx {
		once = m.execTx
	}
	return m.retryLocked(ctx, c, m.isLocked, func(ctx context.Context, c run.Cmd) (run.Result, error) {
		return m.withDBPath(ctx, c, once)
	})
}

// isLocked reports whether res is a failure because of a held lock.
func (m *rpmMgr) isLocked(res run.Result) bool {
	if res.ExitCode == 0 {
		return false
	}
	out := output(res)
	switch m.tool {
	case "yum":
		if containsAny(out, yumLockMessages...) {
			return true
		}
	case "dnf":
		if containsAny(out, dnfLockMessages...) {
			return true
		}
	}
	return containsAny(out, rpmLockMessages...)
}

// withDBPath runs c offline with HOME set to a private directory whose
// .rpmmacros points %_dbpath at the image's RPM database (see rpmMgr).
func (m *rpmMgr) withDBPath(ctx context.Context, c run.Cmd, exec func(context.Context, run.Cmd) (run.Result, error)) (run.Result, error) {
	if !m.offline {
		return exec(ctx, c)
	}
	dbpath, err := pkgdb.RPMDBDir(m.root)
	if err != nil {
		return run.Result{}, &CommandError{Cmd: c, ExitCode: -1,
			Err: fmt.Errorf("refusing to run %s on an image without an RPM database (it would create one where the host's rpm keeps it): %w", m.tool, err)}
	}
	if strings.ContainsFunc(dbpath, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '%' }) {
		return run.Result{}, &CommandError{Cmd: c, ExitCode: -1, Err: fmt.Errorf("RPM database directory %q cannot be passed to rpm as a macro", dbpath)}
	}
	home, err := os.MkdirTemp("", "agentkeeper-rpmmacros-")
	if err != nil {
		return run.Result{}, &CommandError{Cmd: c, ExitCode: -1, Err: err}
	}
	defer os.RemoveAll(home)
	if err := os.WriteFile(filepath.Join(home, ".rpmmacros"), []byte("%_dbpath "+dbpath+"\n"), 0o600); err != nil {
		return run.Result{}, &CommandError{Cmd: c, ExitCode: -1, Err: err}
	}
	c.Env = append(append([]string(nil), c.Env...), "HOME="+home)
	return exec(ctx, c)
}

// parseRPMList reads `dnf|yum list --showduplicates <pkg>` or `tdnf list
// <pkg>` output and returns the versions offered by repositories and the
// installed ones. Rows are "<name>.<arch> <[epoch:]version-release> <repo>";
// yum and dnf 4 wrap a long name onto a line of its own. A row is installed
// when it follows an "Installed Packages" header or its repository starts
// with "@" (@System, @anaconda, @commandline); other lines are ignored.
func parseRPMList(out, pkg string) (avail, inst []string) {
	section := ""
	pending := ""
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if pending != "" {
			f = append([]string{pending}, f...)
			pending = ""
		}
		low := strings.ToLower(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(low, "installed packages"):
			section = "installed"
			continue
		case strings.HasPrefix(low, "available packages"), strings.HasPrefix(low, "available upgrades"):
			section = "available"
			continue
		}
		if len(f) == 1 && isNameArch(f[0], pkg) {
			pending = f[0]
			continue
		}
		if len(f) != 3 || !isNameArch(f[0], pkg) || !validVersion(f[1]) {
			continue
		}
		if section == "installed" || strings.HasPrefix(f[2], "@") {
			inst = append(inst, f[1])
		} else {
			avail = append(avail, f[1])
		}
	}
	return avail, inst
}

// isNameArch reports whether s is "<pkg>.<arch>".
func isNameArch(s, pkg string) bool {
	arch, ok := strings.CutPrefix(s, pkg+".")
	return ok && arch != "" && !strings.Contains(arch, ".")
}

// validVersion accepts what a package manager prints as a version.
func validVersion(v string) bool {
	if v == "" || strings.HasPrefix(v, "-") {
		return false
	}
	for _, c := range v {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.ContainsRune(".+-_:~^", c)) {
			return false
		}
	}
	return v[0] >= '0' && v[0] <= '9'
}
