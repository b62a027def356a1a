//go:build !windows

package fsroot

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// linkRoot builds an image-like tree whose links point in every way a real
// image's do: relative, absolute (meant for the image, not the host),
// climbing with "..", looping and dangling.
func linkRoot(t *testing.T) Root {
	t.Helper()
	dir := t.TempDir()
	mkfiles(t, dir, map[string]string{
		// Differs from any host's os-release: reading it proves the root's is read.
		"usr/lib/os-release":        "ID=agentkeeper-test-root\n",
		"etc/waagent.conf":          "Extensions.Enabled=y\n",
		"real/etc/hostname":         "image\n",
		"var/lib/waagent/":          "",
		"var/lib/waagent/GoalState": "1",
		"usr/sbin/waagent":          "#!/usr/bin/python3\n",
	})
	links := map[string]string{
		"etc/os-release":        "../usr/lib/os-release", // as on Debian
		"etc/os-release-abs":    "/usr/lib/os-release",   // absolute: the image's, not the host's
		"etc/escape-rel":        "../../../../../../../../etc/passwd",
		"etc/escape-abs-dotdot": "/../../../etc/passwd",
		"etc/escape-missing":    "missing/../../../../../../../../../../etc/passwd",
		"etc/escape-dir":        "../../../../../../../../etc",
		"etc/loop-a":            "loop-b",
		"etc/loop-b":            "loop-a",
		"etc/self":              "self",
		"etc/broken":            "does-not-exist",
		"etc/broken-abs":        "/opt/does/not/exist",
		"etc/dir-link":          "/var/lib/waagent",
		"etc/chain-1":           "chain-2",
		"etc/chain-2":           "/etc/chain-3",
		"etc/chain-3":           "../usr/lib/os-release",
		"bin":                   "usr/bin", // usrmerge style, target missing
		"sbin":                  "usr/sbin",
		"hostetc":               "real/etc",
		"etc/trailing-slash":    "/var/lib/waagent/",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return New(dir)
}

func TestResolveStaysInsideRoot(t *testing.T) {
	root := linkRoot(t)
	tests := []struct {
		desc    string
		p       string
		want    string // slash path under the root
		wantErr error
	}{
		{desc: "relative link", p: "/etc/os-release", want: "usr/lib/os-release"},
		{desc: "absolute link starts again at the root", p: "/etc/os-release-abs", want: "usr/lib/os-release"},
		{desc: "chain of relative and absolute links", p: "/etc/chain-1", want: "usr/lib/os-release"},
		{desc: "dot-dot in a link clamps at the root", p: "/etc/escape-rel", want: "etc/passwd"},
		{desc: "absolute dot-dot in a link clamps at the root", p: "/etc/escape-abs-dotdot", want: "etc/passwd"},
		{desc: "dot-dot after a missing component stays inside", p: "/etc/escape-missing", want: "etc/missing/etc/passwd"},
		{desc: "link to a directory in the middle", p: "/etc/dir-link/GoalState", want: "var/lib/waagent/GoalState"},
		{desc: "dot-dot after a directory link goes to the target's parent", p: "/etc/dir-link/../waagent/GoalState", want: "var/lib/waagent/GoalState"},
		{desc: "climbing link to a directory", p: "/etc/escape-dir/passwd", want: "etc/passwd"},
		{desc: "usrmerge link to a missing target", p: "/sbin/waagent", want: "usr/sbin/waagent"},
		{desc: "missing link target is returned, not an error", p: "/bin/sh", want: "usr/bin/sh"},
		{desc: "broken link resolves to its missing target", p: "/etc/broken", want: "etc/does-not-exist"},
		{desc: "link with trailing slash", p: "/etc/trailing-slash", want: "var/lib/waagent"},
		{desc: "loop", p: "/etc/loop-a", wantErr: ErrLinkLoop},
		{desc: "self loop", p: "/etc/self", wantErr: ErrLinkLoop},
		{desc: "loop in the middle", p: "/etc/loop-b/x", wantErr: ErrLinkLoop},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := root.Resolve(tc.p)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Resolve(%q) = %q, %v; want %v", tc.p, got, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tc.p, err)
			}
			if want := filepath.Join(root.Dir, filepath.FromSlash(tc.want)); got != want {
				t.Errorf("Resolve(%q) = %q, want %q", tc.p, got, want)
			}
			if got != root.Dir && !strings.HasPrefix(got, root.Dir+"/") {
				t.Errorf("Resolve(%q) = %q escapes the root %q", tc.p, got, root.Dir)
			}
		})
	}
}

func TestReadFileThroughLinks(t *testing.T) {
	root := linkRoot(t)
	host, _ := os.ReadFile("/usr/lib/os-release")
	tests := []struct {
		desc    string
		p       string
		want    string
		wantIs  error
		wantMsg string
	}{
		{desc: "relative link reads the root's file", p: "/etc/os-release", want: "ID=agentkeeper-test-root\n"},
		{desc: "absolute link reads the root's file, not the host's", p: "/etc/os-release-abs", want: "ID=agentkeeper-test-root\n"},
		{desc: "chain of links", p: "/etc/chain-1", want: "ID=agentkeeper-test-root\n"},
		{desc: "directory link in the middle", p: "/etc/dir-link/GoalState", want: "1"},
		{desc: "relative link to a directory", p: "/hostetc/hostname", want: "image\n"},
		{desc: "climbing link does not read the host's /etc/passwd", p: "/etc/escape-rel", wantIs: fs.ErrNotExist},
		{desc: "climbing absolute link does not read the host's /etc/passwd", p: "/etc/escape-abs-dotdot", wantIs: fs.ErrNotExist},
		{desc: "dot-dot after a missing component does not read the host's /etc/passwd", p: "/etc/escape-missing", wantIs: fs.ErrNotExist},
		{desc: "climbing directory link does not read the host's /etc/passwd", p: "/etc/escape-dir/passwd", wantIs: fs.ErrNotExist},
		{desc: "broken link", p: "/etc/broken", wantIs: fs.ErrNotExist, wantMsg: "etc/broken"},
		{desc: "broken absolute link", p: "/etc/broken-abs", wantIs: fs.ErrNotExist},
		{desc: "link loop", p: "/etc/loop-a", wantIs: ErrLinkLoop, wantMsg: "/etc/loop-a"},
		{desc: "link to a directory", p: "/etc/dir-link", wantMsg: "not a regular file (a directory)"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := root.ReadFile(tc.p, MaxSmallFile)
			if tc.wantIs == nil && tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("ReadFile(%q): %v", tc.p, err)
				}
				if string(got) != tc.want {
					t.Errorf("ReadFile(%q) = %q, want %q", tc.p, got, tc.want)
				}
				if len(host) > 0 && bytes.Equal(got, host) {
					t.Errorf("ReadFile(%q) read the host's /usr/lib/os-release", tc.p)
				}
				return
			}
			if err == nil {
				t.Fatalf("ReadFile(%q) = %q, want an error", tc.p, got)
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("ReadFile(%q) error %q is not %v", tc.p, err, tc.wantIs)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("ReadFile(%q) error %q does not contain %q", tc.p, err, tc.wantMsg)
			}
		})
	}
}

func TestExistsAndReadDirThroughLinks(t *testing.T) {
	root := linkRoot(t)
	exists := []struct {
		desc string
		p    string
		want bool
	}{
		{desc: "relative link", p: "/etc/os-release", want: true},
		{desc: "absolute link", p: "/etc/os-release-abs", want: true},
		{desc: "broken link", p: "/etc/broken", want: false},
		{desc: "loop", p: "/etc/loop-a", want: false},
		{desc: "climbing link to the host's /etc/passwd", p: "/etc/escape-rel", want: false},
		{desc: "dot-dot after a missing component", p: "/etc/escape-missing", want: false},
	}
	for _, tc := range exists {
		t.Run("Exists/"+tc.desc, func(t *testing.T) {
			if got := root.Exists(tc.p); got != tc.want {
				t.Errorf("Exists(%q) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
	t.Run("ReadDir/through an absolute link", func(t *testing.T) {
		ents, err := root.ReadDir("/etc/dir-link")
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 1 || ents[0].Name() != "GoalState" {
			t.Errorf("ReadDir(/etc/dir-link) = %v, want [GoalState]", ents)
		}
	})
	t.Run("ReadDir/climbing link lists the root's etc, not the host's", func(t *testing.T) {
		if _, err := root.ReadDir("/etc/escape-dir"); err != nil {
			t.Fatal(err)
		}
		ents, _ := root.ReadDir("/etc/escape-dir")
		for _, e := range ents {
			if e.Name() == "passwd" {
				t.Errorf("ReadDir(/etc/escape-dir) lists the host's /etc")
			}
		}
	})
	t.Run("ReadDir/loop", func(t *testing.T) {
		if _, err := root.ReadDir("/etc/loop-a"); !errors.Is(err, ErrLinkLoop) {
			t.Errorf("ReadDir(/etc/loop-a) error = %v, want %v", err, ErrLinkLoop)
		}
	})
}
