//go:build !windows

package privdir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	fi, _ := os.Lstat(dir)
	if fi.Mode().Perm() != 0o700 || int(fi.Sys().(*syscall.Stat_t).Uid) != os.Geteuid() {
		t.Errorf("%s: mode %04o uid %d, want 0700 owned by %d", dir, fi.Mode().Perm(), fi.Sys().(*syscall.Stat_t).Uid, os.Geteuid())
	}
}

func TestEnsureRefusesUnix(t *testing.T) {
	for _, tc := range []struct {
		desc  string
		setup func(t *testing.T, dir string)
		want  string
	}{
		{"writable by others", func(t *testing.T, dir string) { os.Mkdir(dir, 0o700); os.Chmod(dir, 0o777) }, "writable by group or others"},
		{"writable by the group", func(t *testing.T, dir string) { os.Mkdir(dir, 0o700); os.Chmod(dir, 0o770) }, "writable by group or others"},
		{"a link to a private directory", func(t *testing.T, dir string) {
			real := filepath.Join(t.TempDir(), "real")
			os.Mkdir(real, 0o700)
			os.Symlink(real, dir)
		}, "symbolic link"},
		{"owned by another user", func(t *testing.T, dir string) {
			if os.Geteuid() != 0 {
				t.Skip("needs root to give the directory away (make test runs as root)")
			}
			os.Mkdir(dir, 0o700)
			os.Chown(dir, 65534, 65534)
		}, "owned by uid 65534"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "agentkeeper")
			tc.setup(t, dir)
			before, _ := os.Lstat(dir)
			err := Ensure(dir)
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Ensure: %v, want ErrUnsafe saying %q", err, tc.want)
			}
			if after, _ := os.Lstat(dir); after.Mode() != before.Mode() {
				t.Errorf("a refused directory was changed: %v -> %v", before.Mode(), after.Mode())
			}
		})
	}
}

// CreateNew does not follow a link planted at the name, even a dangling one.
func TestCreateNewRefusesLink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	p := filepath.Join(dir, "x.unverified")
	os.Symlink(target, p)
	if _, err := CreateNew(p); err == nil {
		t.Fatal("CreateNew through a dangling link succeeded")
	}
	if _, err := os.Lstat(target); err == nil {
		t.Error("the link's target was created")
	}
}
