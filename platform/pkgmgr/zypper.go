package pkgmgr

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/pkgdb"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// zypper drives zypper on SUSE. Offline it gets --root <root>, so the
// image's repositories (etc/zypp/repos.d), its lock (run/zypp.pid) and its
// RPM database are used: libzypp finds the database in the root
// (usr/lib/sysimage/rpm or var/lib/rpm) and hands rpm --dbpath itself
// (checked with Debian 12's zypper 1.14 / libzypp 17.22). zypper waits for
// another zypper's lock up to ZYPP_LOCK_TIMEOUT seconds (libzypp) and then
// exits 7. rpm's transaction lock is another matter: rpm, run by libzypp
// without a terminal, fails at once ("can't create transaction lock"),
// zypper exits 8 with nothing installed, and the install is retried until
// the lock timeout. A failed %post makes zypper exit 107 with the package
// installed: ErrScriptlet. Repository keys are never imported
// automatically: a repository whose key is not trusted yet makes the
// refresh fail, as it should.
type zypper struct{ base }

// zypper exit codes (zypper(8) "EXIT CODES").
const (
	zypperExitLocked        = 7
	zypperExitCommit        = 8
	zypperExitScriptFailed  = 107
	zypperExitCapNotFound   = 104
	zypperExitReposSkipped  = 106
	zypperExitRebootNeeded  = 102
	zypperExitRestartNeeded = 103
)

func (z *zypper) Name() string { return "zypper" }

func (z *zypper) cmd(args ...string) run.Cmd {
	argv := []string{"zypper", "--non-interactive"}
	if z.offline {
		argv = append(argv, "--root", z.root.Dir)
	}
	return run.Cmd{Argv: append(argv, args...),
		Env: []string{"LC_ALL=C", "ZYPP_LOCK_TIMEOUT=" + strconv.Itoa(z.lockSecs())}}
}

func (z *zypper) refreshCmd() run.Cmd { return z.cmd("refresh") }

// installCmd installs pkg; zypper's install also updates an installed
// package to the newest offered version.
func (z *zypper) installCmd(pkg string) run.Cmd {
	return z.cmd("install", "--auto-agree-with-licenses", pkg)
}

func (z *zypper) Plan(pkg string) []run.Cmd {
	var p []run.Cmd
	if !z.refreshed {
		p = append(p, z.refreshCmd())
	}
	return append(p, z.installCmd(pkg))
}

// check turns a zypper exit code into an error. okCodes are accepted in
// addition to 0.
func (z *zypper) check(c run.Cmd, res run.Result, pkg string, okCodes ...int) error {
	if res.ExitCode == 0 {
		return nil
	}
	for _, ok := range okCodes {
		if res.ExitCode == ok {
			z.opts.Log.Warn("zypper finished with a notice", "cmd", c.String(), "exit", res.ExitCode, "output", res.Tail(3))
			return nil
		}
	}
	switch res.ExitCode {
	case zypperExitLocked:
		return locked(fail(c, res))
	case zypperExitCapNotFound:
		return both(notOffered(pkg), fail(c, res))
	case zypperExitScriptFailed:
		return both(fmt.Errorf("%s: %w", pkg, ErrScriptlet), fail(c, res))
	}
	return fail(c, res)
}

func (z *zypper) refresh(ctx context.Context, pkg string) error {
	if z.refreshed {
		return nil
	}
	c := z.refreshCmd()
	res, err := z.exec(ctx, c)
	if err != nil {
		return err
	}
	// 106: a repository could not be refreshed and was skipped; the others
	// still count.
	if err := z.check(c, res, pkg, zypperExitReposSkipped); err != nil {
		return err
	}
	z.refreshed = true
	return nil
}

// Candidate refreshes once, then reads the exact-name search in XML.
func (z *zypper) Candidate(ctx context.Context, pkg string) (string, error) {
	if err := checkPkg(pkg); err != nil {
		return "", err
	}
	if err := z.refresh(ctx, pkg); err != nil {
		return "", err
	}
	c := z.cmd("--xmlout", "search", "--details", "--match-exact", "--type", "package", pkg)
	res, err := z.exec(ctx, c)
	if err != nil {
		return "", err
	}
	if res.ExitCode == zypperExitCapNotFound {
		return "", notOffered(pkg)
	}
	if err := z.check(c, res, pkg); err != nil {
		return "", err
	}
	v, err := parseZypperSearch(res.Stdout, pkg)
	if err != nil {
		return "", both(err, fail(c, res))
	}
	if v == "" {
		return "", notOffered(pkg)
	}
	return v, nil
}

// Install refreshes once, then installs (or updates) pkg. Exit 102 and 103
// (reboot or restart of the package manager advised) count as success.
func (z *zypper) Install(ctx context.Context, pkg string) error {
	if err := checkPkg(pkg); err != nil {
		return err
	}
	if err := z.refresh(ctx, pkg); err != nil {
		return err
	}
	c := z.installCmd(pkg)
	res, err := z.retryLocked(ctx, c, func(res run.Result) bool {
		return res.ExitCode == zypperExitCommit && containsAny(output(res), rpmLockMessages...)
	}, z.execTx)
	if err != nil {
		return err
	}
	return z.check(c, res, pkg, zypperExitRebootNeeded, zypperExitRestartNeeded)
}

// errZypperXML is returned (wrapped) when zypper's XML output cannot be read.
var errZypperXML = errors.New("unreadable zypper XML output")

// parseZypperSearch reads `zypper --xmlout search --details` output and
// returns the newest edition of package pkg offered by a repository;
// installed entries that no repository provides ("(System Packages)") do
// not count. "" when none.
func parseZypperSearch(data []byte, pkg string) (string, error) {
	editions, err := parseZypperEditions(data, pkg)
	if err != nil {
		return "", err
	}
	return pkgdb.NewestEVR(editions), nil
}

// parseZypperEditions returns every edition of package pkg that a
// repository offers in `zypper --xmlout search --details` output, in the
// order listed.
func parseZypperEditions(data []byte, pkg string) ([]string, error) {
	d := xml.NewDecoder(strings.NewReader(string(data)))
	d.Strict = false
	var editions []string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, errors.Join(errZypperXML, err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "solvable" {
			continue
		}
		attr := map[string]string{}
		for _, a := range se.Attr {
			attr[a.Name.Local] = a.Value
		}
		if attr["name"] != pkg || (attr["kind"] != "" && attr["kind"] != "package") ||
			attr["repository"] == "(System Packages)" || !validVersion(attr["edition"]) {
			continue
		}
		editions = append(editions, attr["edition"])
	}
	return editions, nil
}
