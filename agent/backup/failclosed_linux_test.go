package backup_test

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/agent/backup"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/lockprobe/lockprobetest"
)

// The backup gate fails closed: traces that are there but cannot be read
// are evidence. These tests build them from real files, FIFOs, sockets,
// links and permissions, and read them with the real fsroot and lockprobe.

const (
	statusRel = "var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9.0/status"
	lockRel   = "etc/azure/MicrosoftRecoverySvcsSafeFreezeLock/SafeFreezeLockFile"
)

// realDetect runs Detect on a real root with the real probes and clock.
func realDetect(root string) backup.Result {
	return backup.Detect(backup.Options{Root: fsroot.New(root), Family: "linux", Now: time.Now})
}

// wantRunning checks that res is running with evidence of kind whose
// What contains what.
func wantRunning(t *testing.T, res backup.Result, kind, what string) {
	t.Helper()
	if !res.Running {
		t.Fatalf("Running = false, want true (evidence of kind %s: %q); result %+v", kind, what, res)
	}
	for _, e := range res.Evidence {
		if e.Kind == kind && strings.Contains(e.What, what) {
			return
		}
	}
	t.Errorf("no evidence of kind %s saying %q: %+v", kind, what, res.Evidence)
}

func wantIdle(t *testing.T, res backup.Result) {
	t.Helper()
	if res.Running || len(res.Evidence) != 0 {
		t.Errorf("Running = %v, evidence %+v; want no backup", res.Running, res.Evidence)
	}
}

func mkdirAll(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(p, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, data string) {
	t.Helper()
	mkdirAll(t, filepath.Dir(p))
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// nowStatus is a transitioning status file written now.
func nowStatus(st string) string {
	return fmt.Sprintf(`[{"version":1.0,"timestampUTC":%q,"status":{"name":"VMSnapshot","operation":"Enable","status":%q,"code":0,"formattedMessage":{"lang":"en-US","message":"taking snapshot"}}}]`,
		time.Now().UTC().Format("2006-01-02T15:04:05Z"), st)
}

// oddFile makes an odd kind of file at p: dir, fifo, socket, loop (a
// symbolic link to itself), dirlink (a link to a folder), dangling.
func oddFile(t *testing.T, p, kind string) {
	t.Helper()
	mkdirAll(t, filepath.Dir(p))
	var err error
	switch kind {
	case "dir":
		err = os.Mkdir(p, 0o755)
	case "fifo":
		err = syscall.Mkfifo(p, 0o644)
	case "socket":
		// A socket's path is limited to 108 bytes: bind it in a short
		// folder and move it into place.
		short, merr := os.MkdirTemp("", "s")
		if merr != nil {
			t.Fatal(merr)
		}
		t.Cleanup(func() { os.RemoveAll(short) })
		l, lerr := net.Listen("unix", filepath.Join(short, "s"))
		if lerr != nil {
			t.Fatal(lerr)
		}
		t.Cleanup(func() { l.Close() })
		err = os.Rename(filepath.Join(short, "s"), p)
	case "loop":
		err = os.Symlink(filepath.Base(p), p)
	case "dirlink":
		err = os.Symlink("/etc", p)
	case "dangling":
		err = os.Symlink("/nowhere/at/all", p)
	default:
		t.Fatalf("unknown odd file %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestLockPathNotRegularDefers: a SafeFreeze lock path that is there but
// is not a regular file cannot be probed, so Detect says a backup may be
// running; it must not hang on a FIFO either.
func TestLockPathNotRegularDefers(t *testing.T) {
	for _, kind := range []string{"dir", "fifo", "socket", "loop", "dirlink"} {
		t.Run(kind, func(t *testing.T) {
			root := t.TempDir()
			oddFile(t, filepath.Join(root, lockRel), kind)
			done := make(chan backup.Result, 1)
			go func() { done <- realDetect(root) }()
			select {
			case res := <-done:
				wantRunning(t, res, backup.KindLock, "SafeFreeze lock")
			case <-time.After(30 * time.Second):
				t.Fatal("Detect hangs on a lock path that is " + kind)
			}
		})
	}
	// Nothing there is no backup: a dangling link (the extension would
	// create its target), a file where the lock's folder should be.
	t.Run("dangling link", func(t *testing.T) {
		root := t.TempDir()
		oddFile(t, filepath.Join(root, lockRel), "dangling")
		wantIdle(t, realDetect(root))
	})
	t.Run("folder on the way is a file", func(t *testing.T) {
		root := t.TempDir()
		writeFile(t, filepath.Join(root, "etc/azure"), "")
		wantIdle(t, realDetect(root))
	})
}

// TestRealLockThroughLinkInRoot: a real other process holds the lock; the
// lock path is an absolute link that resolves inside the root.
func TestRealLockThroughLinkInRoot(t *testing.T) {
	root := t.TempDir()
	target := filepath.Join(root, "var/lock/SafeFreezeLockFile")
	writeFile(t, target, "")
	mkdirAll(t, filepath.Dir(filepath.Join(root, lockRel)))
	if err := os.Symlink("/var/lock/SafeFreezeLockFile", filepath.Join(root, lockRel)); err != nil {
		t.Fatal(err)
	}
	wantIdle(t, realDetect(root))
	h := lockprobetest.Hold(t, target, lockprobetest.Write)
	wantRunning(t, realDetect(root), backup.KindLock, fmt.Sprint("pid ", h.PID))
	h.Release()
	wantIdle(t, realDetect(root))
}

// TestWaagentFolderUnlistableDefers: /var/lib/waagent (or a status folder)
// that is there but cannot be listed may hide a fresh status file.
func TestWaagentFolderUnlistableDefers(t *testing.T) {
	for _, tt := range []struct{ desc, rel, kind string }{
		{"waagent is a FIFO", "var/lib/waagent", "fifo"},
		{"waagent is a socket", "var/lib/waagent", "socket"},
		{"waagent is a link loop", "var/lib/waagent", "loop"},
		{"status folder is a FIFO", statusRel, "fifo"},
		{"status folder is a link loop", statusRel, "loop"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			root := t.TempDir()
			oddFile(t, filepath.Join(root, tt.rel), tt.kind)
			wantRunning(t, realDetect(root), backup.KindStatus, "cannot list")
		})
	}
	t.Run("waagent is a regular file", func(t *testing.T) {
		root := t.TempDir()
		writeFile(t, filepath.Join(root, "var/lib/waagent"), "junk")
		wantRunning(t, realDetect(root), backup.KindStatus, "cannot list")
	})
	for _, tt := range []struct{ desc, file string }{
		{"no waagent folder", ""},
		{"var/lib is a file", "var/lib"},
		{"extension folder with no status folder yet", statusRel + "/../HandlerManifest.json"},
		{"a file named like an extension version", "var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-9.9.zip"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			root := t.TempDir()
			if tt.file != "" {
				writeFile(t, filepath.Join(root, filepath.Clean(tt.file)), "x")
			}
			wantIdle(t, realDetect(root))
		})
	}
}

// TestOddNewestStatusFile: the newest status "file" is a FIFO, a folder or
// a link loop; an older fresh transitioning file is still seen, and the odd
// one is evidence too.
func TestOddNewestStatusFile(t *testing.T) {
	for _, kind := range []string{"fifo", "dir", "loop", "socket"} {
		t.Run(kind, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, statusRel)
			writeFile(t, filepath.Join(dir, "3.status"), nowStatus("success"))
			oddFile(t, filepath.Join(dir, "4.status"), kind)
			done := make(chan backup.Result, 1)
			go func() { done <- realDetect(root) }()
			select {
			case res := <-done:
				wantRunning(t, res, backup.KindStatus, "unreadable fresh status")
			case <-time.After(30 * time.Second):
				t.Fatal("Detect hangs on a newest status file that is " + kind)
			}
		})
	}
}

// TestHalfWrittenStatusFile writes every proper prefix of a real status
// file as the newest file (as the extension does while it writes), over
// an older success: each is evidence, and the complete file decides.
func TestHalfWrittenStatusFile(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, statusRel)
	writeFile(t, filepath.Join(dir, "7.status"), nowStatus("success"))
	full := nowStatus("success")
	newest := filepath.Join(dir, "8.status")
	tried := 0
	for n := 0; n < len(full); n++ {
		writeFile(t, newest, full[:n])
		tried++
		res := realDetect(root)
		if !res.Running || len(res.Evidence) != 1 || !strings.Contains(res.Evidence[0].What, "unreadable fresh status") {
			t.Fatalf("newest status cut at %d of %d bytes (%q): %+v; want one piece of evidence \"unreadable fresh status\"", n, len(full), full[:n], res)
		}
	}
	writeFile(t, newest, full)
	wantIdle(t, realDetect(root))
	writeFile(t, newest, nowStatus("transitioning"))
	wantRunning(t, realDetect(root), backup.KindStatus, "reports transitioning")
	t.Logf("%d half-written status files tried", tried)
}

// detectHelperEnv names the root a helper process runs Detect on.
const detectHelperEnv = "AGENTKEEPER_BACKUP_DETECT_ROOT"

// runIfDetectHelper, in a helper process, runs Detect on the root named
// by detectHelperEnv, prints the Result as JSON and exits.
func runIfDetectHelper() {
	root, ok := os.LookupEnv(detectHelperEnv)
	if !ok {
		return
	}
	json.NewEncoder(os.Stdout).Encode(realDetect(root))
	os.Exit(0)
}

// detectAsNobody runs Detect on root as a user without privileges: as
// root, in a copy of the test binary run as uid/gid 65534 (permission
// bits do not stop root); otherwise in this process.
func detectAsNobody(t *testing.T, root string) backup.Result {
	t.Helper()
	if os.Geteuid() != 0 {
		return realDetect(root)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The go build cache's folders are private to root: copy the binary.
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(filepath.Dir(root), "backup.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), detectHelperEnv+"="+root)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("detect helper as uid 65534: %v", err)
	}
	var res backup.Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("detect helper said %q: %v", out, err)
	}
	return res
}

// nobodyTree returns a root inside a folder everybody can enter.
func nobodyTree(t *testing.T) string {
	t.Helper()
	top, err := os.MkdirTemp("", "backup-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	if err := os.Chmod(top, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(top, "root")
	mkdirAll(t, root)
	return root
}

// TestUnreadableAsUnprivilegedUser: permissions keep Detect from reading a
// trace; each case is evidence. As root the reads run in a child process
// with uid 65534, so the permission bits really apply.
func TestUnreadableAsUnprivilegedUser(t *testing.T) {
	tests := []struct {
		desc  string
		setup func(t *testing.T, root string)
		kind  string // "" = no backup
		what  string
	}{
		{
			desc: "control: everything readable, last run succeeded",
			setup: func(t *testing.T, root string) {
				writeFile(t, filepath.Join(root, statusRel, "1.status"), nowStatus("success"))
				writeFile(t, filepath.Join(root, lockRel), "")
			},
		},
		{
			desc: "control: readable fresh transitioning",
			setup: func(t *testing.T, root string) {
				writeFile(t, filepath.Join(root, statusRel, "1.status"), nowStatus("transitioning"))
			},
			kind: backup.KindStatus, what: "reports transitioning",
		},
		{
			desc: "/var/lib/waagent can be entered but not listed",
			setup: func(t *testing.T, root string) {
				writeFile(t, filepath.Join(root, statusRel, "1.status"), nowStatus("success"))
				chmod(t, filepath.Join(root, "var/lib/waagent"), 0o311)
			},
			kind: backup.KindStatus, what: "cannot list the agent's folder",
		},
		{
			desc: "/var/lib/waagent closed entirely",
			setup: func(t *testing.T, root string) {
				writeFile(t, filepath.Join(root, statusRel, "1.status"), nowStatus("success"))
				chmod(t, filepath.Join(root, "var/lib/waagent"), 0o700)
			},
			kind: backup.KindStatus, what: "cannot list",
		},
		{
			desc: "status folder cannot be listed",
			setup: func(t *testing.T, root string) {
				writeFile(t, filepath.Join(root, statusRel, "1.status"), nowStatus("success"))
				chmod(t, filepath.Join(root, statusRel), 0o311)
			},
			kind: backup.KindStatus, what: "cannot list the extension's status folder",
		},
		{
			desc: "newest status file unreadable, older one says success",
			setup: func(t *testing.T, root string) {
				writeFile(t, filepath.Join(root, statusRel, "1.status"), nowStatus("success"))
				writeFile(t, filepath.Join(root, statusRel, "2.status"), nowStatus("transitioning"))
				chmod(t, filepath.Join(root, statusRel, "2.status"), 0o000)
			},
			kind: backup.KindStatus, what: "unreadable fresh status",
		},
		{
			desc: "lock folder closed: the lock cannot be examined",
			setup: func(t *testing.T, root string) {
				writeFile(t, filepath.Join(root, lockRel), "")
				chmod(t, filepath.Dir(filepath.Join(root, lockRel)), 0o700)
			},
			kind: backup.KindLock, what: "cannot examine the SafeFreeze lock file",
		},
		{
			desc: "lock file unreadable: the lock cannot be probed",
			setup: func(t *testing.T, root string) {
				writeFile(t, filepath.Join(root, lockRel), "")
				chmod(t, filepath.Join(root, lockRel), 0o000)
			},
			kind: backup.KindLock, what: "cannot tell whether the SafeFreeze lock is held",
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			root := nobodyTree(t)
			tt.setup(t, root)
			res := detectAsNobody(t, root)
			if tt.kind == "" {
				wantIdle(t, res)
				if len(res.Notes) != 0 {
					t.Errorf("notes %q, want none", res.Notes)
				}
				return
			}
			wantRunning(t, res, tt.kind, tt.what)
		})
	}
}

func chmod(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}
