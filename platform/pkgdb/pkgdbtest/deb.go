//go:build linux

package pkgdbtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/internal/debroot"
)

// DebianBaseRoot returns a fresh writable copy of the base root of
// e2e/debian/mkroot.sh (the tarball AGENTKEEPER_DEBIAN_BASE_TAR names) in a
// temporary folder: an overlay over its pristine unpacked copy
// (internal/debroot), gone when the test ends.
// A missing tarball or running as another user than root fails the test
// under AGENTKEEPER_E2E=1 (make unit) and skips it otherwise.
func DebianBaseRoot(t *testing.T) string {
	t.Helper()
	tarball := os.Getenv("AGENTKEEPER_DEBIAN_BASE_TAR")
	need := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("AGENTKEEPER_E2E") == "1" {
			t.Fatalf("AGENTKEEPER_E2E=1 but "+format, args...)
		}
		t.Skipf("skipped: "+format+" (set AGENTKEEPER_DEBIAN_BASE_TAR to the tarball of `bash e2e/debian/mkroot.sh path base`)", args...)
	}
	if tarball == "" {
		need("AGENTKEEPER_DEBIAN_BASE_TAR is not set")
	}
	if _, err := os.Stat(tarball); err != nil {
		need("AGENTKEEPER_DEBIAN_BASE_TAR=%s: %v (build it with `bash e2e/debian/mkroot.sh build base`)", tarball, err)
	}
	if os.Geteuid() != 0 {
		need("not running as root (unpacking the root and chroot need it)")
	}
	return debroot.CopyTar(t, tarball)
}

// BuildDeb builds a small architecture-independent .deb with dpkg-deb:
// one documentation file and the postinst given (a shell script body).
func BuildDeb(t *testing.T, name, version, postinst string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pkg")
	writeFile(t, filepath.Join(dir, "DEBIAN/control"), []byte("Package: "+name+"\nVersion: "+version+
		"\nArchitecture: all\nMaintainer: agentkeeper tests <tests@localhost>\nDescription: agentkeeper test build\n"), 0o644)
	writeFile(t, filepath.Join(dir, "DEBIAN/postinst"), []byte("#!/bin/sh\nset -e\n"+postinst+"\nexit 0\n"), 0o755)
	writeFile(t, filepath.Join(dir, "usr/share/doc", name, "README"), []byte("test build\n"), 0o644)
	out := filepath.Join(t.TempDir(), name+"_"+version+"_all.deb")
	MustRun(t, "dpkg-deb", "--root-owner-group", "--build", dir, out)
	return out
}

// InterruptDpkgInstall installs a test build of name into the Debian root
// with the root's own dpkg (chroot ROOT dpkg -i) and kills dpkg, with its
// whole process group, while the package's postinst runs: a real dpkg
// cut off mid-transaction, as a SIGKILL or a power loss leaves it (the
// journal in var/lib/dpkg/updates not folded into the status file yet).
// The postinst waits only while /run/agentkeeper-hold exists in the root,
// which is removed afterwards, so a later `dpkg --configure -a` finishes.
func InterruptDpkgInstall(t *testing.T, root, name, version string) {
	t.Helper()
	deb := BuildDeb(t, name, version,
		"if [ -e /run/agentkeeper-hold ]; then echo started > /run/agentkeeper-postinst; read line < /run/agentkeeper-hold.fifo; fi")
	b, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "tmp", filepath.Base(deb)), b, 0o644)
	writeFile(t, filepath.Join(root, "run/agentkeeper-hold"), nil, 0o644)
	fifo := filepath.Join(root, "run/agentkeeper-hold.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("chroot", root, "dpkg", "-i", "/tmp/"+filepath.Base(deb))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := filepath.Join(root, "run/agentkeeper-postinst")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
			t.Fatal("the postinst did not start within 2 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill dpkg: %v", err)
	}
	cmd.Wait()
	for _, p := range []string{"run/agentkeeper-hold", "run/agentkeeper-hold.fifo", "run/agentkeeper-postinst"} {
		os.Remove(filepath.Join(root, p))
	}
}
