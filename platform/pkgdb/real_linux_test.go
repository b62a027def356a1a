package pkgdb

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/pkgdb/pkgdbtest"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// TestDpkgThisMachine reads this machine's own dpkg database and checks
// each answer against dpkg-query.
func TestDpkgThisMachine(t *testing.T) {
	if _, err := exec.LookPath("dpkg-query"); err != nil {
		t.Fatalf("dpkg-query not found (%v): these tests run on Debian", err)
	}
	root := fsroot.New("/")
	for _, name := range []string{"dpkg", "bash", "coreutils", "libc6", "base-files"} {
		t.Run(name, func(t *testing.T) {
			res, err := run.Exec{}.Run(context.Background(), run.Cmd{Argv: []string{"dpkg-query", "-W", "-f", "${Version}\t${db:Status-Abbrev}", name}})
			if err != nil || res.ExitCode != 0 {
				t.Fatalf("dpkg-query %s: %v exit %d: %s", name, err, res.ExitCode, res.Tail(5))
			}
			wantVer, abbrev, _ := strings.Cut(string(res.Stdout), "\t")
			p, found, err := Dpkg(root, name)
			if err != nil || !found {
				t.Fatalf("Dpkg(%s) = found %v, %v", name, found, err)
			}
			if p.Version != wantVer {
				t.Errorf("Dpkg(%s).Version = %q, dpkg-query says %q", name, p.Version, wantVer)
			}
			// "ii " is installed as far as dpkg-query is concerned.
			if wantInst := strings.HasPrefix(abbrev, "ii"); p.Installed != wantInst {
				t.Errorf("Dpkg(%s).Installed = %v, dpkg-query status %q", name, p.Installed, abbrev)
			}
			if _, err := Upstream(p.Version); err != nil {
				t.Errorf("Upstream(%q): %v", p.Version, err)
			}
		})
	}
	if _, found, err := Dpkg(root, "agentkeeper-no-such-package"); err != nil || found {
		t.Errorf("absent package: found %v, err %v", found, err)
	}
}

// buildRPM builds a noarch RPM with no files at test time and returns its
// path.
// TestRPMRealDatabase builds real RPMs, installs them into a real RPM
// database under a temp root and reads it back with RPM.
func TestRPMRealDatabase(t *testing.T) {
	pkgdbtest.RequireRPM(t)
	tests := []struct {
		desc   string
		dbpath string // where the database lives inside the root
		link   bool   // var/lib/rpm is an absolute link to dbpath
		name   string
		epoch  string
		ver    string
		rel    string
		want   string
	}{
		{desc: "RHEL 9 WALinuxAgent", dbpath: "/var/lib/rpm", name: "WALinuxAgent", ver: "2.9.1.1", rel: "1.el9", want: "2.9.1.1-1.el9"},
		{desc: "WALinuxAgent with epoch", dbpath: "/var/lib/rpm", name: "WALinuxAgent", epoch: "1", ver: "2.9.1.1", rel: "1.el9", want: "1:2.9.1.1-1.el9"},
		{desc: "SUSE python-azure-agent in sysimage behind a link", dbpath: "/usr/lib/sysimage/rpm", link: true,
			name: "python-azure-agent", ver: "2.2.49.2", rel: "150100.3.20.1", want: "2.2.49.2-150100.3.20.1"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			pkg := pkgdbtest.BuildRPM(t, tc.name, tc.epoch, tc.ver, tc.rel)
			dir := t.TempDir()
			if tc.link {
				if err := os.MkdirAll(filepath.Join(dir, "var", "lib"), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(tc.dbpath, filepath.Join(dir, "var", "lib", "rpm")); err != nil {
					t.Fatal(err)
				}
			}
			pkgdbtest.InstallJustDB(t, dir, tc.dbpath, pkg)
			root := fsroot.New(dir)
			ctx := context.Background()
			p, found, err := RPM(ctx, run.Exec{}, root, tc.name)
			if err != nil || !found {
				t.Fatalf("RPM(%s) = found %v, %v", tc.name, found, err)
			}
			want := Package{Name: tc.name, Version: tc.want, Status: "installed", Installed: true}
			if p != want {
				t.Errorf("RPM(%s) = %+v, want %+v", tc.name, p, want)
			}
			up, err := Upstream(p.Version)
			if err != nil || up.String() != tc.ver {
				t.Errorf("Upstream(%q) = %v, %v; want %s", p.Version, up, err, tc.ver)
			}
			if p, found, err := RPM(ctx, run.Exec{}, root, "walinuxagent"); err != nil || found {
				t.Errorf("RPM(walinuxagent) = %+v found %v, %v; want not found, no error", p, found, err)
			}
		})
	}
}

// TestDpkgInterruptedReal kills a real dpkg in a Debian 12 root while it
// configures a package and compares what Dpkg and AuditDpkg read with the
// root's own `dpkg --audit` and `dpkg-query`.
func TestDpkgInterruptedReal(t *testing.T) {
	dir := pkgdbtest.DebianBaseRoot(t)
	pkgdbtest.InterruptDpkgInstall(t, dir, "waagent", "2.2.0-1agentkeeper")
	root := fsroot.New(dir)

	out, err := exec.Command("chroot", dir, "dpkg", "--audit").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "half configured") || !strings.Contains(string(out), " waagent ") {
		t.Fatalf("the root's dpkg --audit does not report waagent half configured (%v):\n%s", err, out)
	}
	q, err := exec.Command("chroot", dir, "dpkg-query", "-W", "-f", "${Version} ${Status}", "waagent").CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-query: %v\n%s", err, q)
	}
	p, found, err := Dpkg(root, "waagent")
	if err != nil || !found || p.Version+" "+p.Status != string(q) || p.Installed {
		t.Errorf("Dpkg = %+v, %v, %v; dpkg-query says %q", p, found, err, q)
	}
	a, err := AuditDpkg(root)
	if err != nil || a.Clean() || len(a.Pending) != 1 || a.Pending[0].Name != "waagent" {
		t.Errorf("AuditDpkg = %+v (%s), %v; want waagent pending", a, a, err)
	}
	t.Logf("AuditDpkg: %s", a)

	// dpkg --configure -a finishes it; then both agree it is clean.
	pkgdbtest.MustRun(t, "chroot", dir, "dpkg", "--configure", "-a")
	if a, err := AuditDpkg(root); err != nil || !a.Clean() {
		t.Errorf("after dpkg --configure -a: AuditDpkg = %+v (%s), %v; want clean", a, a, err)
	}
	if p, found, err := Dpkg(root, "waagent"); err != nil || !found || !p.Installed {
		t.Errorf("after dpkg --configure -a: Dpkg = %+v, %v, %v", p, found, err)
	}
}
