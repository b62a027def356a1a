package pkgmgr

import (
	"bufio"
	"context"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/run"
)

// Reverter is implemented by every Manager here: the versions the
// repositories offer, and installing one of them exactly (a downgrade), so
// that an update that left the agent worse can be rolled back.
type Reverter interface {
	// Offered returns every version of pkg the enabled repositories offer
	// (not versions known only from the package database), as the
	// package manager spells them.
	Offered(ctx context.Context, pkg string) ([]string, error)
	// InstallVersion installs pkg at exactly version, downgrading it.
	InstallVersion(ctx context.Context, pkg, version string) error
}

var (
	_ Reverter = (*apt)(nil)
	_ Reverter = (*rpmMgr)(nil)
	_ Reverter = (*zypper)(nil)
)

// checkVersion refuses a version a package manager could take for an
// option or a second argument.
func checkVersion(v string) error {
	if !validVersion(v) {
		return notOffered("version " + v)
	}
	return nil
}

// Offered implements Reverter: the version table of apt-cache policy.
func (a *apt) Offered(ctx context.Context, pkg string) ([]string, error) {
	if err := checkPkg(pkg); err != nil {
		return nil, err
	}
	if err := a.refresh(ctx); err != nil {
		return nil, err
	}
	c := a.cmd("apt-cache", "policy", pkg)
	res, err := a.exec(ctx, c)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, fail(c, res)
	}
	return parseAptPolicyVersions(string(res.Stdout), pkg), nil
}

// InstallVersion implements Reverter: apt-get install --allow-downgrades
// pkg=version, with Install's repairs.
func (a *apt) InstallVersion(ctx context.Context, pkg, version string) error {
	if err := checkPkg(pkg); err != nil {
		return err
	}
	if err := checkVersion(version); err != nil {
		return err
	}
	if err := a.refresh(ctx); err != nil {
		return err
	}
	return a.installWith(ctx, a.installCmd(pkg+"="+version, "--allow-downgrades"))
}

// parseAptPolicyVersions reads the "Version table:" of pkg's block in
// `apt-cache policy <pkg>` output and returns the versions that some
// repository offers: a version whose only source is /var/lib/dpkg/status is
// installed, not offered. Version lines are indented less than their
// source lines (" *** 2.7.3.0-4.1 500" / "        500 http://... Packages").
func parseAptPolicyVersions(out, pkg string) []string {
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var (
		inPkg, inTable bool
		cur            string
		offered        []string
		seen           = map[string]bool{}
	)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			name, ok := strings.CutSuffix(line, ":")
			if n, _, found := strings.Cut(name, ":"); found {
				name = n
			}
			inPkg, inTable, cur = ok && name == pkg, false, ""
			continue
		}
		if !inPkg {
			continue
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "Version table:" {
			inTable = true
			continue
		}
		if !inTable {
			continue
		}
		f := strings.Fields(trimmed)
		indent := len(line) - len(strings.TrimLeft(line, " \t"))
		switch {
		case f[0] == "***" && len(f) == 3:
			cur = f[1]
		case indent <= 5 && len(f) == 2:
			cur = f[0]
		case len(f) >= 2 && cur != "" && !strings.HasSuffix(trimmed, "/var/lib/dpkg/status"):
			if validVersion(cur) && !seen[cur] {
				seen[cur] = true
				offered = append(offered, cur)
			}
		}
	}
	return offered
}

// Offered implements Reverter: the "available" part of the list.
func (m *rpmMgr) Offered(ctx context.Context, pkg string) ([]string, error) {
	if err := checkPkg(pkg); err != nil {
		return nil, err
	}
	c := m.listCmd(pkg)
	res, err := m.runLocked(ctx, c, false)
	if err != nil {
		return nil, err
	}
	avail, inst := parseRPMList(output(res), pkg)
	if res.ExitCode != 0 {
		if containsAny(output(res), rpmNoMatch...) && len(avail)+len(inst) == 0 {
			return nil, nil
		}
		return nil, fail(c, res)
	}
	return avail, nil
}

// InstallVersion implements Reverter: `dnf|yum downgrade pkg-version`
// (tdnf: install pkg-version), epoch included as dnf spells it
// ("pkg-1:2.2-1").
func (m *rpmMgr) InstallVersion(ctx context.Context, pkg, version string) error {
	if err := checkPkg(pkg); err != nil {
		return err
	}
	if err := checkVersion(version); err != nil {
		return err
	}
	verb := "downgrade"
	if m.tool == "tdnf" {
		verb = "install"
	}
	c := m.cmd("-y", verb, pkg+"-"+version)
	res, err := m.runLocked(ctx, c, true)
	if err != nil {
		return err
	}
	if res.ExitCode == 0 && m.tool != "tdnf" && containsAny(string(res.Stderr), rpmScriptletMessages...) {
		return both(ErrScriptlet, fail(c, res))
	}
	if res.ExitCode != 0 {
		return fail(c, res)
	}
	return nil
}

// Offered implements Reverter: every edition zypper's search lists from a
// repository.
func (z *zypper) Offered(ctx context.Context, pkg string) ([]string, error) {
	if err := checkPkg(pkg); err != nil {
		return nil, err
	}
	if err := z.refresh(ctx, pkg); err != nil {
		return nil, err
	}
	c := z.cmd("--xmlout", "search", "--details", "--match-exact", "--type", "package", pkg)
	res, err := z.exec(ctx, c)
	if err != nil {
		return nil, err
	}
	if res.ExitCode == zypperExitCapNotFound {
		return nil, nil
	}
	if err := z.check(c, res, pkg); err != nil {
		return nil, err
	}
	return parseZypperEditions(res.Stdout, pkg)
}

// InstallVersion implements Reverter: zypper install --oldpackage
// pkg=version.
func (z *zypper) InstallVersion(ctx context.Context, pkg, version string) error {
	if err := checkPkg(pkg); err != nil {
		return err
	}
	if err := checkVersion(version); err != nil {
		return err
	}
	if err := z.refresh(ctx, pkg); err != nil {
		return err
	}
	c := z.cmd("install", "--auto-agree-with-licenses", "--oldpackage", pkg+"="+version)
	res, err := z.retryLocked(ctx, c, func(res run.Result) bool {
		return res.ExitCode == zypperExitCommit && containsAny(output(res), rpmLockMessages...)
	}, z.execTx)
	if err != nil {
		return err
	}
	return z.check(c, res, pkg, zypperExitRebootNeeded, zypperExitRestartNeeded)
}
