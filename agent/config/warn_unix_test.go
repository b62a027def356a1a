//go:build !windows

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFileWarnings: a config file that someone other than root (or the
// user running agentkeeper) could change is warned about, naming what is
// too open; a private one is not.
func TestFileWarnings(t *testing.T) {
	tests := []struct {
		desc  string
		setup func(t *testing.T, dir, file string)
		want  string // substring of the warning, "" for none
	}{
		{desc: "private file", setup: func(*testing.T, string, string) {}},
		{desc: "world-writable file", setup: func(t *testing.T, dir, file string) { chmod(t, file, 0o666) },
			want: "it is writable by every user (mode 0666)"},
		{desc: "group-writable file of another group", setup: func(t *testing.T, dir, file string) {
			chmod(t, file, 0o664)
			chown(t, file, os.Geteuid(), 4242)
		}, want: "it is writable by group 4242"},
		{desc: "group-writable file of root's group", setup: func(t *testing.T, dir, file string) {
			chmod(t, file, 0o664)
			chown(t, file, os.Geteuid(), 0)
		}},
		{desc: "file of another user", setup: func(t *testing.T, dir, file string) { chown(t, file, 4242, 0) },
			want: "it is owned by uid 4242"},
		{desc: "world-writable directory", setup: func(t *testing.T, dir, file string) { chmod(t, dir, 0o777) },
			want: "its directory " + "DIR" + " is writable by every user (mode 0777)"},
		{desc: "sticky world-writable directory, entry of root", setup: func(t *testing.T, dir, file string) {
			chmod(t, dir, 0o777|os.ModeSticky)
		}},
		{desc: "directory of another user under a sticky one", setup: func(t *testing.T, dir, file string) {
			sub := filepath.Join(dir, "sub")
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			chmod(t, dir, 0o777|os.ModeSticky)
			chown(t, sub, 4242, 4242)
			if err := os.Rename(file, filepath.Join(sub, "config.yaml")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(sub, "config.yaml"), file); err != nil {
				t.Fatal(err)
			}
		}, want: "its directory DIR/sub is owned by uid 4242"},
		{desc: "link into a world-writable directory", setup: func(t *testing.T, dir, file string) {
			open := t.TempDir()
			chmod(t, open, 0o777)
			if err := os.Rename(file, filepath.Join(open, "real.yaml")); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(open, "real.yaml"), file); err != nil {
				t.Fatal(err)
			}
		}, want: "is writable by every user (mode 0777)"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			clearEnv(t)
			dir := t.TempDir()
			file := filepath.Join(dir, "config.yaml")
			if err := os.WriteFile(file, []byte("log:\n  level: info\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, dir, file)
			c, err := Loader{File: file}.Load()
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(c.Warnings, "\n")
			want := strings.ReplaceAll(tc.want, "DIR", dir)
			switch {
			case want == "" && got != "":
				t.Errorf("warnings %q, want none", got)
			case want != "" && !strings.Contains(got, want):
				t.Errorf("warnings %q, want one saying %q", got, want)
			case want != "" && !strings.Contains(got, "chmod go-w"):
				t.Errorf("warning %q does not say how to fix it", got)
			}
		})
	}
}

func chmod(t *testing.T, p string, m os.FileMode) {
	t.Helper()
	if err := os.Chmod(p, m); err != nil {
		t.Fatal(err)
	}
}

// chown needs root; make test runs as root, and a developer's run fails
// rather than skips so that the case is never silently lost.
func chown(t *testing.T, p string, uid, gid int) {
	t.Helper()
	if err := os.Lchown(p, uid, gid); err != nil {
		t.Fatalf("chown %s (this case needs root): %v", p, err)
	}
}
