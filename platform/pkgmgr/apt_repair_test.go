//go:build !windows

package pkgmgr

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/run"
)

func TestParseMkdirExists(t *testing.T) {
	for _, tc := range []struct {
		desc, out string
		want      mkdirExists
		ok        bool
	}{
		{"waagent on Debian 12", waagentMkdirFailure, mkdirExists{Dir: "/var/lib/waagent", Pkg: "waagent"}, true},
		{"no mkdir message", strings.ReplaceAll(waagentMkdirFailure, "mkdir: cannot create directory '/var/lib/waagent': File exists\n", ""), mkdirExists{}, false},
		{"no dpkg configure error", "mkdir: cannot create directory '/var/lib/waagent': File exists\n", mkdirExists{}, false},
		{"outside /var/lib: left alone", strings.ReplaceAll(waagentMkdirFailure, "/var/lib/waagent", "/etc/waagent"), mkdirExists{}, false},
		{"/var/lib itself", strings.ReplaceAll(waagentMkdirFailure, "/var/lib/waagent", "/var/lib"), mkdirExists{}, false},
		{"deeper than /var/lib/X", strings.ReplaceAll(waagentMkdirFailure, "/var/lib/waagent", "/var/lib/waagent/x"), mkdirExists{}, false},
		{"not clean", strings.ReplaceAll(waagentMkdirFailure, "/var/lib/waagent", "/var/lib/../etc"), mkdirExists{}, false},
		{"relative", strings.ReplaceAll(waagentMkdirFailure, "/var/lib/waagent", "var/lib/waagent"), mkdirExists{}, false},
		{"two directories: not one known pattern", waagentMkdirFailure + "mkdir: cannot create directory '/var/lib/other': File exists\n", mkdirExists{}, false},
		{"two packages", waagentMkdirFailure + "dpkg: error processing package other (--configure):\n", mkdirExists{}, false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, ok := parseMkdirExists(tc.out)
			if ok != tc.ok || got != tc.want {
				t.Errorf("parseMkdirExists = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

// tree lists the files under dir as "path=content" (directories as "path/").
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if fi.IsDir() {
			out = append(out, rel+"/")
			return nil
		}
		b, err := os.ReadFile(p)
		out = append(out, rel+"="+string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// The remedy with a recorded apt-get and a dpkg --configure -a that does what
// waagent's postinst does (mkdir --mode 0700 /var/lib/waagent).
func TestRepairMkdirExists(t *testing.T) {
	for _, tc := range []struct {
		desc     string
		postinst func(dir string) // what the repaired configure does in the root
		wantKept bool
	}{
		{"merged back", func(dir string) { os.Mkdir(dir, 0o700) }, false},
		{"a name the package created again stays aside", func(dir string) {
			os.Mkdir(dir, 0o700)
			os.WriteFile(filepath.Join(dir, "ovf-env.xml"), []byte("new"), 0o600)
		}, true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "var/lib/waagent")
			writeTestFile(t, filepath.Join(dir, "ovf-env.xml"), "old")
			writeTestFile(t, filepath.Join(dir, "history/2026-11-30/goalstate.xml"), "gs")
			before := tree(t, dir)
			installs := 0
			f := &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
				switch {
				case contains(c.Argv, "--configure"):
					if _, err := os.Lstat(dir); err == nil {
						return run.Result{ExitCode: 1, Stdout: []byte(waagentMkdirFailure)}, nil
					}
					tc.postinst(dir)
				case contains(c.Argv, "install"):
					if installs++; installs == 1 {
						return run.Result{ExitCode: 100, Stdout: []byte(waagentMkdirFailure)}, nil
					}
				}
				return run.Result{}, nil
			}}
			if err := newMgr(t, "apt-get", root, f).Install(context.Background(), "waagent"); err != nil {
				t.Fatalf("Install: %v", err)
			}
			var ran []string
			for _, c := range f.Commands() {
				ran = append(ran, c.Argv[3])
			}
			if want := []string{"update", "install", "--force-confdef", "install"}; !reflect.DeepEqual(ran, want) {
				t.Errorf("ran %q, want %q (the remedy once, then the install again)", ran, want)
			}
			fi, err := os.Stat(dir)
			if err != nil || fi.Mode().Perm() != 0o700 {
				t.Fatalf("%s after the repair: %v, %v; want the package's 0700 directory", dir, fi, err)
			}
			asides, _ := filepath.Glob(filepath.Join(root, "var/lib/waagent.agentkeeper-*"))
			if !tc.wantKept {
				if got := tree(t, dir); !reflect.DeepEqual(got, before) {
					t.Errorf("after the repair %q, before %q", got, before)
				}
				if len(asides) != 0 {
					t.Errorf("aside folders left: %q", asides)
				}
				return
			}
			if len(asides) != 1 {
				t.Fatalf("aside folders %q, want the one holding the old ovf-env.xml", asides)
			}
			if got := tree(t, asides[0]); !reflect.DeepEqual(got, []string{"ovf-env.xml=old"}) {
				t.Errorf("aside holds %q", got)
			}
			if got := tree(t, dir); !reflect.DeepEqual(got, []string{"history/", "history/2026-11-30/", "history/2026-11-30/goalstate.xml=gs", "ovf-env.xml=new"}) {
				t.Errorf("after the repair %q", got)
			}
		})
	}
}

// A symbolic link at the directory's place is not followed or moved.
func TestRepairMkdirExistsSymlink(t *testing.T) {
	root := t.TempDir()
	writeTestFile(t, filepath.Join(root, "srv/data/keep"), "x")
	if err := os.MkdirAll(filepath.Join(root, "var/lib"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/srv/data", filepath.Join(root, "var/lib/waagent")); err != nil {
		t.Fatal(err)
	}
	f := &run.Fake{Respond: respondTo("install", run.Result{ExitCode: 100, Stdout: []byte(waagentMkdirFailure)})}
	err := newMgr(t, "apt-get", root, f).Install(context.Background(), "waagent")
	if err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("err = %v, want a refusal", err)
	}
	if target, err := os.Readlink(filepath.Join(root, "var/lib/waagent")); err != nil || target != "/srv/data" {
		t.Errorf("the link changed: %q, %v", target, err)
	}
	for _, c := range f.Commands() {
		if contains(c.Argv, "--configure") {
			t.Errorf("ran %s", c)
		}
	}
}
