package fsroot

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// mkfiles creates files (slash paths relative to dir, content as given);
// a path ending in "/" is a directory.
func mkfiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, content := range files {
		host := filepath.Join(dir, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(host, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(host, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewAndIsHost(t *testing.T) {
	sep := string(filepath.Separator)
	tmp := t.TempDir()
	tests := []struct {
		desc    string
		root    Root
		wantDir string
		want    bool
	}{
		{desc: "empty means the host root", root: New(""), wantDir: sep, want: true},
		{desc: "separator is the host root", root: New(sep), wantDir: sep, want: true},
		{desc: "uncleaned separator is the host root", root: New(sep + "." + sep), wantDir: sep, want: true},
		{desc: "a temp dir is not the host", root: New(tmp), wantDir: tmp, want: false},
		{desc: "a temp dir with trailing separator is cleaned", root: New(tmp + sep), wantDir: tmp, want: false},
		{desc: "zero Root is not the host", root: Root{}, wantDir: "", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if tc.root.Dir != tc.wantDir {
				t.Errorf("Dir = %q, want %q", tc.root.Dir, tc.wantDir)
			}
			if got := tc.root.IsHost(); got != tc.want {
				t.Errorf("IsHost() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestJoin(t *testing.T) {
	root := New(t.TempDir())
	tests := []struct {
		desc string
		p    string
		want string // slash path under the root
	}{
		{desc: "absolute path", p: "/etc/os-release", want: "etc/os-release"},
		{desc: "relative path", p: "etc/os-release", want: "etc/os-release"},
		{desc: "dot-dot climbs no higher than the root", p: "../../etc/passwd", want: "etc/passwd"},
		{desc: "absolute dot-dot climbs no higher than the root", p: "/../../../etc/passwd", want: "etc/passwd"},
		{desc: "dot-dot inside the tree", p: "/etc/x/../passwd", want: "etc/passwd"},
		{desc: "repeated slashes and dots", p: "//etc/./default//grub", want: "etc/default/grub"},
		{desc: "the root itself", p: "/", want: ""},
		{desc: "empty is the root", p: "", want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got := root.Join(tc.p)
			want := filepath.Join(root.Dir, filepath.FromSlash(tc.want))
			if got != want {
				t.Errorf("Join(%q) = %q, want %q", tc.p, got, want)
			}
			if got != root.Dir && !strings.HasPrefix(got, root.Dir+string(filepath.Separator)) {
				t.Errorf("Join(%q) = %q escapes the root %q", tc.p, got, root.Dir)
			}
		})
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	mkfiles(t, dir, map[string]string{
		"etc/os-release":         "ID=debian\n",
		"usr/lib/os-release":     "ID=root-usr-lib\n",
		"etc/empty":              "",
		"etc/ten":                "0123456789",
		"etc/waagent.conf.d/":    "",
		"var/lib/waagent/x.json": `{"a":1}`,
	})
	sparse := filepath.Join(dir, "var", "log", "huge.log")
	if err := os.MkdirAll(filepath.Dir(sparse), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(50 << 20); err != nil { // 50 MB, sparse: nothing is written
		t.Fatal(err)
	}
	f.Close()
	root := New(dir)

	tests := []struct {
		desc    string
		p       string
		max     int64
		want    string
		wantIs  error  // errors.Is target, or nil
		wantMsg string // substring of the error
	}{
		{desc: "plain file", p: "/etc/os-release", max: MaxSmallFile, want: "ID=debian\n"},
		{desc: "relative path", p: "usr/lib/os-release", max: MaxSmallFile, want: "ID=root-usr-lib\n"},
		{desc: "dot-dot clamps at the root", p: "../../../../usr/lib/os-release", max: MaxSmallFile, want: "ID=root-usr-lib\n"},
		{desc: "empty file", p: "/etc/empty", max: MaxSmallFile, want: ""},
		{desc: "exactly at the cap", p: "/etc/ten", max: 10, want: "0123456789"},
		{desc: "one byte over the cap", p: "/etc/ten", max: 9, wantIs: ErrTooLarge, wantMsg: "limit 9"},
		{desc: "50 MB sparse file refused by size", p: "/var/log/huge.log", max: MaxSmallFile, wantIs: ErrTooLarge, wantMsg: "huge.log"},
		{desc: "missing file", p: "/etc/nothing", max: MaxSmallFile, wantIs: fs.ErrNotExist, wantMsg: "nothing"},
		{desc: "below a missing directory", p: "/opt/none/file", max: MaxSmallFile, wantIs: fs.ErrNotExist},
		{desc: "below a regular file", p: "/etc/os-release/x", max: MaxSmallFile, wantMsg: "os-release"},
		{desc: "a directory", p: "/etc/waagent.conf.d", max: MaxSmallFile, wantMsg: "not a regular file"},
		{desc: "the root itself", p: "/", max: MaxSmallFile, wantMsg: "not a regular file"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := root.ReadFile(tc.p, tc.max)
			if tc.wantIs == nil && tc.wantMsg == "" {
				if err != nil {
					t.Fatalf("ReadFile(%q): %v", tc.p, err)
				}
				if string(got) != tc.want {
					t.Errorf("ReadFile(%q) = %q, want %q", tc.p, got, tc.want)
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
			if got != nil {
				t.Errorf("ReadFile(%q) returned data with an error", tc.p)
			}
		})
	}
}

func TestExistsStatReadDir(t *testing.T) {
	dir := t.TempDir()
	mkfiles(t, dir, map[string]string{
		"etc/os-release":              "ID=debian\n",
		"var/lib/waagent/b.xml":       "b",
		"var/lib/waagent/a.xml":       "a",
		"var/lib/waagent/Incarnation": "1",
		"var/empty/":                  "",
	})
	root := New(dir)

	exists := []struct {
		desc string
		p    string
		want bool
	}{
		{desc: "file", p: "/etc/os-release", want: true},
		{desc: "directory", p: "/var/lib/waagent", want: true},
		{desc: "root", p: "/", want: true},
		{desc: "dot-dot clamps at the root", p: "/../../etc/os-release", want: true},
		{desc: "missing", p: "/etc/waagent.conf", want: false},
		{desc: "below a file", p: "/etc/os-release/x", want: false},
	}
	for _, tc := range exists {
		t.Run("Exists/"+tc.desc, func(t *testing.T) {
			if got := root.Exists(tc.p); got != tc.want {
				t.Errorf("Exists(%q) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}

	t.Run("Stat", func(t *testing.T) {
		fi, err := root.Stat("/var/lib/waagent")
		if err != nil || !fi.IsDir() {
			t.Fatalf("Stat(/var/lib/waagent) = %v, %v; want a directory", fi, err)
		}
		if _, err := root.Stat("/nope"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Stat(/nope) error = %v, want not-exist", err)
		}
	})

	readDir := []struct {
		desc    string
		p       string
		want    []string
		wantErr bool
	}{
		{desc: "sorted entries", p: "/var/lib/waagent", want: []string{"Incarnation", "a.xml", "b.xml"}},
		{desc: "empty directory", p: "/var/empty", want: []string{}},
		{desc: "dot-dot clamps at the root", p: "../../var/lib/waagent/..", want: []string{"waagent"}},
		{desc: "missing directory", p: "/var/nothing", wantErr: true},
		{desc: "a file", p: "/etc/os-release", wantErr: true},
	}
	for _, tc := range readDir {
		t.Run("ReadDir/"+tc.desc, func(t *testing.T) {
			ents, err := root.ReadDir(tc.p)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("ReadDir(%q) = %d entries, want an error", tc.p, len(ents))
				}
				if !strings.Contains(err.Error(), root.Join(tc.p)) {
					t.Errorf("ReadDir(%q) error %q does not name %s", tc.p, err, root.Join(tc.p))
				}
				return
			}
			if err != nil {
				t.Fatalf("ReadDir(%q): %v", tc.p, err)
			}
			got := []string{}
			for _, e := range ents {
				got = append(got, e.Name())
			}
			if !sort.StringsAreSorted(got) || strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("ReadDir(%q) = %v, want %v", tc.p, got, tc.want)
			}
		})
	}
}

func TestOpenRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	mkfiles(t, dir, map[string]string{"etc/": ""})
	f, fi, err := New(dir).Open("/etc")
	if err == nil {
		f.Close()
		t.Fatalf("Open(/etc) = %v, want an error", fi)
	}
	if !strings.Contains(err.Error(), "not a regular file (a directory)") {
		t.Errorf("Open(/etc) error %q does not say it is a directory", err)
	}
}

func BenchmarkReadFile(b *testing.B) {
	dir := b.TempDir()
	content := strings.Repeat("Extensions.Enabled=y\n", 200)
	mkfiles(b, dir, map[string]string{"etc/waagent.conf": content})
	root := New(dir)
	b.ReportAllocs()
	for b.Loop() {
		data, err := root.ReadFile("/etc/waagent.conf", MaxSmallFile)
		if err != nil || !bytes.Equal(data, []byte(content)) {
			b.Fatalf("ReadFile: %d bytes, %v", len(data), err)
		}
	}
}
