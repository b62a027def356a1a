//go:build !windows

package ensure

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/agentkeeper/agentkeeper/agent/agenttest"
)

func TestEnsureLockDirIsMadePrivate(t *testing.T) {
	f := newFixture(t, agenttest.BashStanza)
	dir := filepath.Join(t.TempDir(), "run", "agentkeeper")
	f.opts.LockFile = filepath.Join(dir, "agentkeeper.lock")
	if res := Run(context.Background(), f.opts); res.ExitCode != ExitReady {
		t.Fatalf("exit %d: %s", res.ExitCode, res.Message)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 || int(fi.Sys().(*syscall.Stat_t).Uid) != os.Geteuid() {
		t.Errorf("%s: mode %04o uid %d, want 0700 and %d", dir, fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Uid, os.Geteuid())
	}
	if fi, err := os.Lstat(f.opts.LockFile); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("lock file: %v %v", fi, err)
	}
}

// A lock another local user could hold or plant is refused (exit 1, never
// installing), and nothing is created through a planted link.
func TestEnsureLockRefusesPlanted(t *testing.T) {
	tests := []struct {
		desc  string
		setup func(t *testing.T, dir, lock string)
		want  string
	}{
		{"directory writable by others", func(t *testing.T, dir, lock string) {
			if err := os.Chmod(dir, 0o777); err != nil {
				t.Fatal(err)
			}
		}, "writable by group or others"},
		{"directory is a link", func(t *testing.T, dir, lock string) {
			real := dir + ".real"
			if err := os.Rename(dir, real); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(real, dir); err != nil {
				t.Fatal(err)
			}
		}, "symbolic link"},
		{"lock file is a link", func(t *testing.T, dir, lock string) {
			if err := os.Symlink(filepath.Join(filepath.Dir(dir), "victim"), lock); err != nil {
				t.Fatal(err)
			}
		}, "lock cannot be trusted"},
		{"lock file is a link to an existing file", func(t *testing.T, dir, lock string) {
			other := filepath.Join(filepath.Dir(dir), "someone-elses-file")
			if err := os.WriteFile(other, []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(other, lock); err != nil {
				t.Fatal(err)
			}
		}, "lock cannot be trusted"},
		{"lock file is a FIFO", func(t *testing.T, dir, lock string) {
			if err := syscall.Mkfifo(lock, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "not a regular file"},
		{"directory owned by another user", func(t *testing.T, dir, lock string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give the directory away (make test runs as root)")
			}
			if err := os.Chown(dir, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, "owned by uid 65534"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			f := newFixture(t, agenttest.BashStanza)
			dir := filepath.Join(t.TempDir(), "agentkeeper")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			f.opts.LockFile = filepath.Join(dir, "agentkeeper.lock")
			tc.setup(t, dir, f.opts.LockFile)
			res := Run(context.Background(), f.opts)
			if res.ExitCode != ExitNotReady || res.Outcome != "failed" || f.mgr.installs.Load() != 0 {
				t.Errorf("exit %d outcome %s installs %d, want 1 failed 0: %s", res.ExitCode, res.Outcome, f.mgr.installs.Load(), res.Message)
			}
			if s, _ := findStep(res.Preconditions, "lock"); s.Status != StepFail || !strings.Contains(s.Message, tc.want) {
				t.Errorf("lock step %+v, want fail saying %q", s, tc.want)
			}
			if _, err := os.Lstat(filepath.Join(filepath.Dir(dir), "victim")); err == nil {
				t.Error("a file was created through the planted link")
			}
		})
	}
}
