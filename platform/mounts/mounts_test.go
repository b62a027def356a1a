package mounts

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// realMountinfo is taken from /proc/self/mountinfo of a container (the root
// is /dev/vda, /dev/pts is mounted twice; one path renamed).
const realMountinfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334460k,nr_inodes=3083615,mode=755
26 24 0:24 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
28 27 0:25 / /opt/tools/python ro,nosuid,nodev,relatime - tmpfs tools_unavailable ro,size=4k,mode=755
29 26 0:26 / /dev/pts rw,relatime - devpts devpts rw,mode=600,ptmxmode=000
`

func TestParseMountinfo(t *testing.T) {
	tests := []struct {
		desc    string
		in      string
		want    []Mount
		wantErr string
	}{
		{
			desc: "proc(5) example with an optional field",
			in:   "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue\n",
			want: []Mount{{Target: "/mnt2", Source: "/dev/root", FSType: "ext3",
				Options: []string{"rw", "noatime"}, SuperOptions: []string{"rw", "errors=continue"}}},
		},
		{
			desc: "several optional fields and no trailing newline",
			in:   "40 27 8:2 / /var rw,nosuid,nodev,noexec shared:7 master:3 propagate_from:2 - xfs /dev/sda2 rw,attr2",
			want: []Mount{{Target: "/var", Source: "/dev/sda2", FSType: "xfs",
				Options: []string{"rw", "nosuid", "nodev", "noexec"}, SuperOptions: []string{"rw", "attr2"}}},
		},
		{
			desc: "octal escapes in mount point and source",
			in:   `50 27 0:40 / /mnt/my\040disk\011tab\134x rw - fuse.sshfs user@host:/a\040b rw` + "\n",
			want: []Mount{{Target: "/mnt/my disk\ttab\\x", Source: "user@host:/a b", FSType: "fuse.sshfs",
				Options: []string{"rw"}, SuperOptions: []string{"rw"}}},
		},
		{
			desc: "a backslash that is not an escape stays",
			in:   `51 27 0:41 / /mnt/a\9b\400 rw - tmpfs tmpfs rw` + "\n",
			want: []Mount{{Target: `/mnt/a\9b\400`, Source: "tmpfs", FSType: "tmpfs",
				Options: []string{"rw"}, SuperOptions: []string{"rw"}}},
		},
		{
			desc: "real table keeps order and both /dev/pts mounts",
			in:   realMountinfo,
			want: []Mount{
				{Target: "/proc", Source: "proc", FSType: "proc", Options: []string{"rw", "relatime"}, SuperOptions: []string{"rw"}},
				{Target: "/dev", Source: "devtmpfs", FSType: "devtmpfs", Options: []string{"rw", "relatime"},
					SuperOptions: []string{"rw", "size=12334460k", "nr_inodes=3083615", "mode=755"}},
				{Target: "/dev/pts", Source: "devpts", FSType: "devpts", Options: []string{"rw", "relatime"},
					SuperOptions: []string{"rw", "mode=600", "ptmxmode=000"}},
				{Target: "/", Source: "/dev/vda", FSType: "ext4", Options: []string{"rw", "relatime"},
					SuperOptions: []string{"rw", "discard", "resv_strict", "resuid=65534", "resgid=65534"}},
				{Target: "/opt/tools/python", Source: "tools_unavailable", FSType: "tmpfs",
					Options: []string{"ro", "nosuid", "nodev", "relatime"}, SuperOptions: []string{"ro", "size=4k", "mode=755"}},
				{Target: "/dev/pts", Source: "devpts", FSType: "devpts", Options: []string{"rw", "relatime"},
					SuperOptions: []string{"rw", "mode=600", "ptmxmode=000"}},
			},
		},
		{
			desc:    "bad line is reported, good lines kept",
			in:      "1 2 3\n27 1 254:0 / / rw - ext4 /dev/vda rw\n",
			want:    []Mount{{Target: "/", Source: "/dev/vda", FSType: "ext4", Options: []string{"rw"}, SuperOptions: []string{"rw"}}},
			wantErr: "mountinfo line 1",
		},
		{
			desc:    "missing separator",
			in:      "27 1 254:0 / / rw shared:1 ext4 /dev/vda rw\n",
			wantErr: `no "-" separator`,
		},
		{
			desc:    "relative mount point",
			in:      "27 1 254:0 / var rw - ext4 /dev/vda rw\n",
			wantErr: "not absolute",
		},
		{desc: "empty input", in: ""},
		{desc: "blank lines only", in: "\n\n  \n"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ParseMountinfo([]byte(tc.in))
			checkErr(t, err, tc.wantErr)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestParseFstab(t *testing.T) {
	tests := []struct {
		desc    string
		in      string
		want    []Mount
		wantErr string
	}{
		{
			desc: "Debian-style fstab with comments, UUIDs and swap",
			in: `# /etc/fstab: static file system information.
#
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
UUID=0a1b2c3d-0000-4000-8000-000000000001 /               ext4    errors=remount-ro 0       1
UUID=0a1b2c3d-0000-4000-8000-000000000002 /var/lib	xfs	defaults,noexec,nosuid 0 2

UUID=0a1b2c3d-0000-4000-8000-000000000003 none            swap    sw              0       0
   # indented comment
`,
			want: []Mount{
				{Source: "UUID=0a1b2c3d-0000-4000-8000-000000000001", Target: "/", FSType: "ext4", Options: []string{"errors=remount-ro"}},
				{Source: "UUID=0a1b2c3d-0000-4000-8000-000000000002", Target: "/var/lib", FSType: "xfs", Options: []string{"defaults", "noexec", "nosuid"}},
				{Source: "UUID=0a1b2c3d-0000-4000-8000-000000000003", Target: "none", FSType: "swap", Options: []string{"sw"}},
			},
		},
		{
			desc: "missing trailing fields",
			in:   "/dev/sdb1 /data\n/dev/sdc1 /srv ext4\n",
			want: []Mount{
				{Source: "/dev/sdb1", Target: "/data"},
				{Source: "/dev/sdc1", Target: "/srv", FSType: "ext4"},
			},
		},
		{
			desc: "escaped space in mount point",
			in:   `LABEL=My\040Disk /mnt/my\040disk vfat rw,noexec 0 0`,
			want: []Mount{{Source: "LABEL=My Disk", Target: "/mnt/my disk", FSType: "vfat", Options: []string{"rw", "noexec"}}},
		},
		{
			desc:    "line with one field is reported",
			in:      "/dev/sdb1\n/dev/sdc1 /srv ext4 ro\n",
			want:    []Mount{{Source: "/dev/sdc1", Target: "/srv", FSType: "ext4", Options: []string{"ro"}}},
			wantErr: "fstab line 1: no mount point",
		},
		{desc: "Debian base system placeholder", in: "# UNCONFIGURED FSTAB FOR BASE SYSTEM\n"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ParseFstab([]byte(tc.in))
			checkErr(t, err, tc.wantErr)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func TestFor(t *testing.T) {
	ms := []Mount{
		{Target: "/", Source: "root"},
		{Target: "none", Source: "swap"},
		{Target: "/var", Source: "var"},
		{Target: "/var/lib/", Source: "varlib-trailing-slash"},
		{Target: "/data", Source: "data-first"},
		{Target: "/data", Source: "data-second"},
	}
	tests := []struct {
		desc   string
		ms     []Mount
		path   string
		want   string
		wantOK bool
	}{
		{desc: "root holds an unrelated path", ms: ms, path: "/etc/waagent.conf", want: "root", wantOK: true},
		{desc: "exact target", ms: ms, path: "/var", want: "var", wantOK: true},
		{desc: "below a target", ms: ms, path: "/var/log/x", want: "var", wantOK: true},
		{desc: "prefix that is not a component", ms: ms, path: "/variable", want: "root", wantOK: true},
		{desc: "longest wins, target cleaned", ms: ms, path: "/var/lib/waagent", want: "varlib-trailing-slash", wantOK: true},
		{desc: "path cleaned", ms: ms, path: "/var/lib/../log//", want: "var", wantOK: true},
		{desc: "relative path taken from root", ms: ms, path: "var/lib", want: "varlib-trailing-slash", wantOK: true},
		{desc: "later mount on same target wins", ms: ms, path: "/data/x", want: "data-second", wantOK: true},
		{desc: "non-absolute target never matches", ms: []Mount{{Target: "none"}}, path: "/none", wantOK: false},
		{desc: "no root mount", ms: []Mount{{Target: "/var", Source: "var"}}, path: "/etc", wantOK: false},
		{desc: "empty table", path: "/", wantOK: false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, ok := For(tc.ms, tc.path)
			if ok != tc.wantOK || got.Source != tc.want {
				t.Errorf("For(%q) = %q, %v; want %q, %v", tc.path, got.Source, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestHasOption(t *testing.T) {
	m := Mount{Options: []string{"rw", "nosuid", "noexec"}, SuperOptions: []string{"ro", "size=4k"}}
	tests := []struct {
		desc string
		opt  string
		want bool
	}{
		{desc: "per-mount option", opt: "noexec", want: true},
		{desc: "superblock option", opt: "ro", want: true},
		{desc: "absent", opt: "nodev", want: false},
		{desc: "no prefix matching", opt: "noexe", want: false},
		{desc: "key of a key=value is not the option", opt: "size", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := m.HasOption(tc.opt); got != tc.want {
				t.Errorf("HasOption(%q) = %v, want %v", tc.opt, got, tc.want)
			}
		})
	}
}

func TestFstab(t *testing.T) {
	tests := []struct {
		desc    string
		files   map[string]string
		links   map[string]string
		want    []Mount
		wantErr string
	}{
		{desc: "missing fstab", want: nil},
		{
			desc:  "fstab read under the root",
			files: map[string]string{"etc/fstab": "/dev/sda1 / ext4 defaults 0 1\n/dev/sda2 /var ext4 noexec 0 2\n"},
			want: []Mount{
				{Source: "/dev/sda1", Target: "/", FSType: "ext4", Options: []string{"defaults"}},
				{Source: "/dev/sda2", Target: "/var", FSType: "ext4", Options: []string{"noexec"}},
			},
		},
		{
			desc:  "absolute symlink resolved inside the root",
			files: map[string]string{"etc/fstab.real": "/dev/sda1 / ext4 ro\n"},
			links: map[string]string{"etc/fstab": "/etc/fstab.real"},
			want:  []Mount{{Source: "/dev/sda1", Target: "/", FSType: "ext4", Options: []string{"ro"}}},
		},
		{
			desc:    "bad line is reported with the file",
			files:   map[string]string{"etc/fstab": "junk\n"},
			wantErr: "fstab: fstab line 1", // after the host path of etc/fstab
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			for p, c := range tc.files {
				write(t, filepath.Join(dir, p), c)
			}
			for p, target := range tc.links {
				if err := os.Symlink(target, filepath.Join(dir, p)); err != nil {
					t.Skipf("symlinks unavailable: %v", err)
				}
				// Wine reports success but makes no link.
				if _, err := os.Readlink(filepath.Join(dir, p)); err != nil {
					t.Skipf("symlinks do not work here: %v", err)
				}
			}
			got, err := Fstab(fsroot.New(dir))
			checkErr(t, err, tc.wantErr)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %#v\nwant %#v", got, tc.want)
			}
		})
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add([]byte(realMountinfo))
	f.Add([]byte(`36 35 98:0 /mnt1 /mnt\0402 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`))
	f.Add([]byte("1 2 3 4 5 6 -\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, _ := ParseMountinfo(data)
		for _, m := range ms {
			if !strings.HasPrefix(m.Target, "/") {
				t.Fatalf("target %q not absolute", m.Target)
			}
			if _, ok := For(ms, m.Target); !ok {
				t.Fatalf("For(%q) found nothing, though it is a target", m.Target)
			}
		}
	})
}

// FuzzParseFstab: every line with a mount point gives exactly one mount,
// and a mount written back as an fstab line (escaping what must be
// escaped) parses to the same mount: no field is lost, split or decoded
// twice.
func FuzzParseFstab(f *testing.F) {
	f.Add([]byte("UUID=x / ext4 errors=remount-ro 0 1\n# c\n\nnone swap swap sw 0 0\n"))
	f.Add([]byte(`LABEL=a\040b /mnt/a\134b vfat`))
	f.Add([]byte("/dev/sda1 /mnt/\043x ext4 a\054b,\040 0 0\n\t#x /y\n/dev/x\v/y\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, _ := ParseFstab(data)
		want := 0
		for _, line := range lines(data) {
			s := strings.TrimSpace(string(line))
			if !strings.HasPrefix(s, "#") && len(strings.Fields(s)) >= 2 {
				want++
			}
		}
		if len(ms) != want {
			t.Fatalf("%d mounts from %d lines with a mount point", len(ms), want)
		}
		for _, m := range ms {
			line := fstabLine(m)
			again, err := ParseFstab([]byte(line))
			if err != nil || len(again) != 1 || !reflect.DeepEqual(again[0], m) {
				t.Fatalf("%#v written as %q parses to %#v (%v)", m, line, again, err)
			}
			if strings.HasPrefix(m.Target, "/") {
				if got, ok := For(ms, m.Target); !ok || path.Clean(got.Target) != path.Clean(m.Target) {
					t.Fatalf("For(%q) = %q, %v: want the mount on it", m.Target, got.Target, ok)
				}
			}
		}
	})
}

// fstabLine writes m as fstab(5) does, octal-escaping blanks, backslashes,
// "#" (a line starting with it is a comment) and, in options, commas.
func fstabLine(m Mount) string {
	esc := func(s, also string) string {
		var b strings.Builder
		for len(s) > 0 {
			r, n := utf8.DecodeRuneInString(s)
			if unicode.IsSpace(r) || r == '\\' || r == '#' || strings.ContainsRune(also, r) {
				for _, c := range []byte(s[:n]) {
					fmt.Fprintf(&b, "\\%03o", c)
				}
			} else {
				b.WriteString(s[:n]) // as is, even when not UTF-8
			}
			s = s[n:]
		}
		return b.String()
	}
	f := []string{esc(m.Source, ""), esc(m.Target, "")}
	if m.FSType != "" || m.Options != nil {
		f = append(f, esc(m.FSType, ""))
	}
	if m.Options != nil {
		var opts []string
		for _, o := range m.Options {
			opts = append(opts, esc(o, ","))
		}
		f = append(f, strings.Join(opts, ","))
	}
	return strings.Join(f, " ") + "\n"
}
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Errorf("error = %v, want it to contain %q", err, want)
	}
}

func write(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
