package lockprobe_test

import (
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/lockprobe"
	"github.com/agentkeeper/agentkeeper/platform/lockprobe/lockprobetest"
)

func lockFile(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "SafeFreezeLockFile")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestHeldByOtherProcess(t *testing.T) {
	tests := []struct {
		desc    string
		kind    lockprobetest.Kind
		wantPID bool // the kernel names the holder
	}{
		{desc: "exclusive lockf-style lock", kind: lockprobetest.Write, wantPID: true},
		{desc: "shared lock conflicts with an exclusive probe", kind: lockprobetest.Read, wantPID: true},
		{desc: "OFD lock: held, holder unknown", kind: lockprobetest.OFDWrite, wantPID: false},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			p := lockFile(t)
			h := lockprobetest.Hold(t, p, tt.kind)

			held, pid, err := lockprobe.Held(p)
			if err != nil {
				t.Fatalf("Held: %v", err)
			}
			if !held {
				t.Fatalf("Held = false while pid %d holds a %s lock", h.PID, tt.kind)
			}
			want := 0
			if tt.wantPID {
				want = h.PID
			}
			if pid != want {
				t.Errorf("pid = %d, want %d", pid, want)
			}

			// Probing twice must not disturb the holder's lock.
			if held, _, _ := lockprobe.Held(p); !held {
				t.Errorf("second probe: Held = false")
			}

			h.Release()
			held, pid, err = lockprobe.Held(p)
			if err != nil || held || pid != 0 {
				t.Errorf("after the holder exited: Held = %v, %d, %v; want false, 0, nil", held, pid, err)
			}
		})
	}
}

// TestHeldThroughSymlink: the file may be reached through a link (a
// resolved path inside an image); the lock is on the file itself.
func TestHeldThroughSymlink(t *testing.T) {
	p := lockFile(t)
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(p, link); err != nil {
		t.Fatal(err)
	}
	h := lockprobetest.Hold(t, p, lockprobetest.Write)
	held, pid, err := lockprobe.Held(link)
	if err != nil || !held || pid != h.PID {
		t.Errorf("Held(link) = %v, %d, %v; want true, %d, nil", held, pid, err, h.PID)
	}
}

func TestHeldNoHolder(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc    string
		path    string
		wantErr string // substring; "" = no error
	}{
		{desc: "regular file, no lock", path: lockFile(t)},
		{desc: "missing file", path: filepath.Join(dir, "missing")},
		{desc: "missing parent", path: filepath.Join(dir, "nope", "SafeFreezeLockFile")},
		{desc: "parent is a file", path: filepath.Join(lockFile(t), "x")},
		{desc: "directory", path: dir, wantErr: "not a regular file"},
		{desc: "fifo does not hang", path: fifo, wantErr: "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			held, pid, err := lockprobe.Held(tt.path)
			if held || pid != 0 {
				t.Errorf("Held = %v, %d; want false, 0", held, pid)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.path)):
				t.Errorf("err = %v, want one naming %s and saying %q", err, tt.path, tt.wantErr)
			}
		})
	}
}

// TestHeldUnreadable: a lock file the probe may not open is an error naming
// it. Root opens any file, so as root (make test) the test runs itself again
// in a child process as nobody.
func TestHeldUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		runAsNobody(t, "TestHeldUnreadable")
		return
	}
	p := lockFile(t)
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	if _, _, err := lockprobe.Held(p); err == nil || !strings.Contains(err.Error(), p) || !errors.Is(err, os.ErrPermission) {
		t.Errorf("err = %v, want a permission error naming %s", err, p)
	}
}

// runAsNobody runs the test called name again, in a copy of this test
// binary started as the user nobody, and fails unless it ran and passed.
func runAsNobody(t *testing.T, name string) {
	t.Helper()
	uid, gid := uint32(65534), uint32(65534)
	if u, err := user.Lookup("nobody"); err == nil {
		if n, err := strconv.ParseUint(u.Uid, 10, 32); err == nil {
			uid = uint32(n)
		}
		if n, err := strconv.ParseUint(u.Gid, 10, 32); err == nil {
			gid = uint32(n)
		}
	}
	// t.TempDir and its parent are 0700: open them up so that nobody can
	// run the copy, and give it a temporary folder of its own.
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, int(uid), int(gid)); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "test.bin")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^"+name+"$", "-test.v", "-test.count=1")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + tmp, "HOME=" + tmp}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		t.Errorf("%s as uid %d: %v\n%s", name, uid, err, out)
	}
}
