//go:build linux

package debroot

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/internal/testenv"
)

// baseTar is the base root's tarball, or the test is skipped (failed
// under AGENTKEEPER_E2E) when it or root privileges are missing.
func baseTar(t *testing.T) string {
	t.Helper()
	tarball := os.Getenv("AGENTKEEPER_DEBIAN_BASE_TAR")
	switch {
	case tarball == "":
		testenv.Need(t, "AGENTKEEPER_DEBIAN_BASE_TAR is not set (the tarball of `bash e2e/debian/mkroot.sh path base`)")
	case os.Geteuid() != 0:
		testenv.Need(t, "not running as root (mounting an overlay needs it)")
	}
	if _, err := os.Stat(tarball); err != nil {
		testenv.Need(t, "AGENTKEEPER_DEBIAN_BASE_TAR: %v (build it with `bash e2e/debian/mkroot.sh build base`)", err)
	}
	return tarball
}

// mountsAt returns the mountinfo lines (fstype and options) of mounts at dir.
func mountsAt(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && fields[4] == dir {
			_, after, _ := strings.Cut(s.Text(), " - ")
			got = append(got, after)
		}
	}
	return got
}

func lowerOf(t *testing.T, dir string) string {
	t.Helper()
	m := mountsAt(t, dir)
	if len(m) != 1 || !strings.HasPrefix(m[0], "overlay ") {
		t.Fatalf("mounts at %s: %q, want one overlay", dir, m)
	}
	_, opts, _ := strings.Cut(m[0], "lowerdir=")
	lower, _, _ := strings.Cut(opts, ",")
	return lower
}

// TestCopyTarIsPrivateAndWritable: two copies of the real base root are
// overlays over the same pristine root; what one writes or deletes the other
// and the pristine root never see, and the end of the test unmounts them.
func TestCopyTarIsPrivateAndWritable(t *testing.T) {
	tarball := baseTar(t)
	t.Setenv("AGENTKEEPER_NO_OVERLAY", "") // these tests are about overlays
	var a, b string
	t.Run("copies", func(t *testing.T) {
		a, b = CopyTar(t, tarball), CopyTar(t, tarball)
		lower := lowerOf(t, a)
		if lowerOf(t, b) != lower {
			t.Errorf("the copies have different lower layers")
		}
		for _, p := range []string{"etc/os-release", "var/lib/dpkg/status", "usr/bin/dpkg"} {
			if _, err := os.Stat(filepath.Join(a, p)); err != nil {
				t.Errorf("copy of base: %v", err)
			}
		}
		if err := os.WriteFile(filepath.Join(a, "etc/hostname"), []byte("written-by-test\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(a, "etc/os-release")); err != nil {
			t.Fatal(err)
		}
		// A directory of the lower layer renames as on a plain file system.
		if err := os.Rename(filepath.Join(a, "etc/apt"), filepath.Join(a, "etc/apt.aside")); err != nil {
			t.Errorf("rename a directory of the lower layer: %v", err)
		}
		for _, dir := range []string{b, lower} {
			if got, _ := os.ReadFile(filepath.Join(dir, "etc/hostname")); string(got) == "written-by-test\n" {
				t.Errorf("%s sees what the other copy wrote", dir)
			}
			for _, p := range []string{"etc/os-release", "etc/apt"} {
				if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
					t.Errorf("%s: %v: the other copy's change leaked", dir, err)
				}
			}
		}
		// dpkg inside the copy (chroot) works on the overlay.
		if out, err := exec.Command("chroot", b, "dpkg", "--audit").CombinedOutput(); err != nil {
			t.Errorf("chroot %s dpkg --audit: %v\n%s", b, err, out)
		}
	})
	for _, dir := range []string{a, b} {
		if m := mountsAt(t, dir); len(m) != 0 {
			t.Errorf("still mounted at %s after the test: %q", dir, m)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("%s still there after the test: %v", dir, err)
		}
	}
}

// TestCopyTarFallsBackToUnpack: where no overlay is mounted
// (AGENTKEEPER_NO_OVERLAY), the copy is the tarball unpacked, and the log says
// why.
func TestCopyTarFallsBackToUnpack(t *testing.T) {
	tarball := baseTar(t)
	t.Setenv("AGENTKEEPER_NO_OVERLAY", "1")
	log := &logRecorder{TB: t}
	dir := CopyTar(log, tarball)
	if m := mountsAt(t, dir); len(m) != 0 {
		t.Errorf("mounted at %s: %q, want a plain unpack", dir, m)
	}
	if _, err := os.Stat(filepath.Join(dir, "var/lib/dpkg/status")); err != nil {
		t.Errorf("unpacked copy: %v", err)
	}
	if !strings.Contains(log.text.String(), "cannot mount an overlay") {
		t.Errorf("log does not say the overlay was not mounted:\n%s", log.text.String())
	}
}

// TestStaleOverlaysAreDropped: an overlay whose owner is gone (a killed run)
// is unmounted, and its upper layer deleted, by the next overlay.
func TestStaleOverlaysAreDropped(t *testing.T) {
	tarball := baseTar(t)
	t.Setenv("AGENTKEEPER_NO_OVERLAY", "")
	name, cache, ok := cacheOf(tarball)
	if !ok {
		t.Fatalf("%s is not in a mkroot.sh cache", tarball)
	}
	script, err := Script()
	if err != nil {
		t.Fatal(err)
	}
	owner := exec.Command("sleep", "600")
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "stale")
	env := append(os.Environ(), "AGENTKEEPER_CACHE="+cache, "MKROOT_OWNER="+strconv.Itoa(owner.Process.Pid))
	if out, err := mkroot(env, script, "overlay", name, dest); err != nil {
		owner.Process.Kill()
		t.Fatalf("overlay: %v\n%s", err, out)
	}
	t.Cleanup(func() { mkroot(env, script, "drop", dest) })
	m := mountsAt(t, dest)
	if len(m) != 1 {
		t.Fatalf("mounts at %s: %q, want the overlay", dest, m)
	}
	_, up, _ := strings.Cut(m[0], "upperdir=")
	up, _, _ = strings.Cut(up, ",")
	owner.Process.Kill()
	owner.Wait()

	CopyTar(t, tarball)
	if m := mountsAt(t, dest); len(m) != 0 {
		t.Errorf("the overlay of a dead owner is still mounted at %s: %q", dest, m)
	}
	if _, err := os.Stat(up); !os.IsNotExist(err) {
		t.Errorf("its upper layer %s is still there: %v", up, err)
	}
}

// logRecorder keeps what is logged.
type logRecorder struct {
	testing.TB
	text strings.Builder
}

func (r *logRecorder) Log(args ...any) {
	r.text.WriteString(fmt.Sprintln(args...))
	r.TB.Log(args...)
}

func (r *logRecorder) Logf(format string, args ...any) {
	r.text.WriteString(fmt.Sprintf(format, args...) + "\n")
	r.TB.Logf(format, args...)
}
