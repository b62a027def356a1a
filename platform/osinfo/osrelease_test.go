package osinfo

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

func TestParseOSReleaseSyntax(t *testing.T) {
	tests := []struct {
		desc    string
		in      string
		want    map[string]string
		wantErr string // substring; empty means no error
	}{
		{desc: "unquoted", in: "ID=debian\n", want: map[string]string{"ID": "debian"}},
		{desc: "double quotes", in: `NAME="Debian GNU/Linux"`, want: map[string]string{"NAME": "Debian GNU/Linux"}},
		{desc: "single quotes keep backslashes", in: `NAME='a\"b $x'`, want: map[string]string{"NAME": `a\"b $x`}},
		{desc: "escapes in double quotes", in: `NAME="a\"b\\c\$d\` + "`" + `e"`, want: map[string]string{"NAME": "a\"b\\c$d`e"}},
		{desc: "other backslash in double quotes is kept", in: `NAME="a\nb"`, want: map[string]string{"NAME": `a\nb`}},
		{desc: "backslash escapes unquoted", in: `NAME=a\ b\"c`, want: map[string]string{"NAME": `a b"c`}},
		{desc: "concatenated quoting", in: `NAME="Pop"'!_'OS`, want: map[string]string{"NAME": "Pop!_OS"}},
		{desc: "empty value", in: "VERSION_CODENAME=\nID=x", want: map[string]string{"VERSION_CODENAME": "", "ID": "x"}},
		{desc: "empty quoted value", in: `VERSION_CODENAME=""` + "\nID=x", want: map[string]string{"VERSION_CODENAME": "", "ID": "x"}},
		{desc: "comments and blank lines", in: "# a comment\n\n   \n  # indented comment\nID=arch\n", want: map[string]string{"ID": "arch"}},
		{desc: "commented-out assignment ignored", in: "#VERSION=\"1\"\nID=x\n", want: map[string]string{"ID": "x"}},
		{desc: "trailing comment after value", in: "ID=fedora # the distro\nNAME=\"F\"   # x\n", want: map[string]string{"ID": "fedora", "NAME": "F"}},
		{desc: "hash inside a value", in: "ANSI_COLOR=\"0;38;2;60;110;180\"\nX=a#b\n", want: map[string]string{"ANSI_COLOR": "0;38;2;60;110;180", "X": "a#b"}},
		{desc: "CRLF line endings", in: "ID=ubuntu\r\nVERSION_ID=\"22.04\"\r\n", want: map[string]string{"ID": "ubuntu", "VERSION_ID": "22.04"}},
		{desc: "no final newline", in: "ID=alpine", want: map[string]string{"ID": "alpine"}},
		{desc: "surrounding whitespace", in: "  ID=x  \n\tNAME=\"y\"\t\n", want: map[string]string{"ID": "x", "NAME": "y"}},
		{desc: "unquoted inner whitespace kept", in: "NAME=Gentoo Linux\n", want: map[string]string{"NAME": "Gentoo Linux"}},
		{desc: "last assignment wins", in: "ID=a\nID=b\n", want: map[string]string{"ID": "b"}},
		{desc: "export prefix", in: "export ID=x\n", want: map[string]string{"ID": "x"}},
		{desc: "UTF-8 BOM ignored", in: "\xEF\xBB\xBFID=x\n", want: map[string]string{"ID": "x"}},
		{desc: "UTF-8 value kept", in: "PRETTY_NAME=\"Débian ☃\"\n", want: map[string]string{"PRETTY_NAME": "Débian ☃"}},
		{desc: "Latin-1 value decoded", in: "PRETTY_NAME=\"D\xe9bian\"\nID=debian\n", want: map[string]string{"PRETTY_NAME": "Débian", "ID": "debian"}},
		{desc: "invalid lines skipped", in: "this is not an assignment\n=novalue\n1ID=x\nKEY WITH SPACE=x\nID =x\nID=ok\n", want: map[string]string{"ID": "ok"}},
		{desc: "unterminated double quote skips the line", in: "NAME=\"broken\nID=x\n", want: map[string]string{"ID": "x"}},
		{desc: "unterminated single quote skips the line", in: "NAME='broken\nID=x\n", want: map[string]string{"ID": "x"}},
		{desc: "lower-case key tolerated", in: "id=x\n", want: map[string]string{"id": "x"}},

		{desc: "empty", in: "", wantErr: "empty"},
		{desc: "only whitespace", in: " \n\n\t\n", wantErr: "empty"},
		{desc: "only comments", in: "# nothing\n# here\n", wantErr: "no KEY=VALUE"},
		{desc: "text without assignments", in: "Debian GNU/Linux 12\n", wantErr: "no KEY=VALUE"},
		{desc: "NUL byte", in: "ID=x\n\x00\x01\x02", wantErr: "NUL byte at offset 5"},
		{desc: "UTF-16LE with BOM", in: "\xFF\xFEI\x00D\x00=\x00x\x00\n\x00", wantErr: "UTF-16"},
		{desc: "UTF-16BE with BOM", in: "\xFE\xFF\x00I\x00D\x00=\x00x\x00\n", wantErr: "UTF-16"},
		{desc: "UTF-16LE without BOM", in: "I\x00D\x00=\x00x\x00\n\x00N\x00=\x00y\x00", wantErr: "UTF-16"},
		{desc: "mostly invalid UTF-8", in: "ID=x\n" + strings.Repeat("\xff\xfe\x80\x81", 20), wantErr: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := ParseOSRelease([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseOSRelease(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseOSRelease(%q): %v", tt.in, err)
			}
			if !maps.Equal(got, tt.want) {
				t.Errorf("ParseOSRelease(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// distro is one real os-release file under testdata/os-release.
type distro struct {
	desc, file        string
	id, versionID     string
	like              []string
	name              string
	extraKey, extraVa string // one more key to check, when set
}

// distros lists every file of testdata/os-release; TestDistributionsCoverTestdata
// makes sure none is left out.
var distros = []distro{
	{desc: "Ubuntu 16.04", file: "ubuntu-16.04", id: "ubuntu", versionID: "16.04", like: []string{"debian"}, name: "Ubuntu 16.04.7 LTS"},
	{desc: "Ubuntu 18.04", file: "ubuntu-18.04", id: "ubuntu", versionID: "18.04", like: []string{"debian"}, name: "Ubuntu 18.04.6 LTS"},
	{desc: "Ubuntu 20.04", file: "ubuntu-20.04", id: "ubuntu", versionID: "20.04", like: []string{"debian"}, name: "Ubuntu 20.04.6 LTS"},
	{desc: "Ubuntu 22.04", file: "ubuntu-22.04", id: "ubuntu", versionID: "22.04", like: []string{"debian"}, name: "Ubuntu 22.04.4 LTS", extraKey: "UBUNTU_CODENAME", extraVa: "jammy"},
	{desc: "Ubuntu 24.04", file: "ubuntu-24.04", id: "ubuntu", versionID: "24.04", like: []string{"debian"}, name: "Ubuntu 24.04.1 LTS"},
	{desc: "Debian 10", file: "debian-10", id: "debian", versionID: "10", name: "Debian GNU/Linux 10 (buster)"},
	{desc: "Debian 11", file: "debian-11", id: "debian", versionID: "11", name: "Debian GNU/Linux 11 (bullseye)"},
	{desc: "Debian 12", file: "debian-12", id: "debian", versionID: "12", name: "Debian GNU/Linux 12 (bookworm)", extraKey: "VERSION_CODENAME", extraVa: "bookworm"},
	{desc: "Debian sid has no VERSION_ID", file: "debian-sid", id: "debian", versionID: "", name: "Debian GNU/Linux trixie/sid"},
	{desc: "RHEL 7.9", file: "rhel-7.9", id: "rhel", versionID: "7.9", like: []string{"fedora"}, name: "Red Hat Enterprise Linux Server 7.9 (Maipo)", extraKey: "REDHAT_BUGZILLA_PRODUCT_VERSION", extraVa: "7.9"},
	{desc: "RHEL 8.9", file: "rhel-8.9", id: "rhel", versionID: "8.9", like: []string{"fedora"}, name: "Red Hat Enterprise Linux 8.9 (Ootpa)", extraKey: "PLATFORM_ID", extraVa: "platform:el8"},
	{desc: "RHEL 9.3", file: "rhel-9.3", id: "rhel", versionID: "9.3", like: []string{"fedora"}, name: "Red Hat Enterprise Linux 9.3 (Plow)"},
	{desc: "CentOS 7", file: "centos-7", id: "centos", versionID: "7", like: []string{"rhel", "fedora"}, name: "CentOS Linux 7 (Core)"},
	{desc: "CentOS Stream 9", file: "centos-stream-9", id: "centos", versionID: "9", like: []string{"rhel", "fedora"}, name: "CentOS Stream 9"},
	{desc: "Rocky Linux 9.3", file: "rocky-9.3", id: "rocky", versionID: "9.3", like: []string{"rhel", "centos", "fedora"}, name: "Rocky Linux 9.3 (Blue Onyx)"},
	{desc: "AlmaLinux 8.9", file: "almalinux-8.9", id: "almalinux", versionID: "8.9", like: []string{"rhel", "centos", "fedora"}, name: "AlmaLinux 8.9 (Midnight Oncilla)"},
	{desc: "Oracle Linux 8.9", file: "ol-8.9", id: "ol", versionID: "8.9", like: []string{"fedora"}, name: "Oracle Linux Server 8.9"},
	{desc: "Oracle Linux 7.9", file: "ol-7.9", id: "ol", versionID: "7.9", like: []string{"fedora"}, name: "Oracle Linux Server 7.9"},
	{desc: "SLES 12 SP5 has no ID_LIKE", file: "sles-12-sp5", id: "sles", versionID: "12.5", name: "SUSE Linux Enterprise Server 12 SP5"},
	{desc: "SLES 15 SP5", file: "sles-15-sp5", id: "sles", versionID: "15.5", like: []string{"suse"}, name: "SUSE Linux Enterprise Server 15 SP5"},
	{desc: "openSUSE Leap 15.5", file: "opensuse-leap-15.5", id: "opensuse-leap", versionID: "15.5", like: []string{"suse", "opensuse"}, name: "openSUSE Leap 15.5"},
	{desc: "openSUSE Tumbleweed (commented VERSION)", file: "opensuse-tumbleweed", id: "opensuse-tumbleweed", versionID: "20240110", like: []string{"opensuse", "suse"}, name: "openSUSE Tumbleweed", extraKey: "VERSION", extraVa: ""},
	{desc: "CBL-Mariner 2.0", file: "cbl-mariner-2.0", id: "mariner", versionID: "2.0", name: "CBL-Mariner/Linux"},
	{desc: "Azure Linux 3.0", file: "azurelinux-3.0", id: "azurelinux", versionID: "3.0", name: "Microsoft Azure Linux 3.0"},
	{desc: "Flatcar", file: "flatcar", id: "flatcar", versionID: "3815.2.0", like: []string{"coreos"}, name: "Flatcar Container Linux by Kinvolk 3815.2.0 (Oklo)"},
	{desc: "Fedora 39 (unquoted VERSION_ID)", file: "fedora-39", id: "fedora", versionID: "39", name: "Fedora Linux 39 (Cloud Edition)", extraKey: "VARIANT_ID", extraVa: "cloud"},
	{desc: "Amazon Linux 2", file: "amzn-2", id: "amzn", versionID: "2", like: []string{"centos", "rhel", "fedora"}, name: "Amazon Linux 2"},
	{desc: "Amazon Linux 2023", file: "amzn-2023", id: "amzn", versionID: "2023", like: []string{"fedora"}, name: "Amazon Linux 2023"},
	{desc: "Amazon Linux AMI 2018.03", file: "amzn-2018.03", id: "amzn", versionID: "2018.03", like: []string{"rhel", "fedora"}, name: "Amazon Linux AMI 2018.03"},
	{desc: "Linux Mint 21.3", file: "linuxmint-21.3", id: "linuxmint", versionID: "21.3", like: []string{"ubuntu", "debian"}, name: "Linux Mint 21.3"},
	{desc: "Pop!_OS 22.04", file: "pop-22.04", id: "pop", versionID: "22.04", like: []string{"ubuntu", "debian"}, name: "Pop!_OS 22.04 LTS"},
	{desc: "Kali rolling", file: "kali-2023.4", id: "kali", versionID: "2023.4", like: []string{"debian"}, name: "Kali GNU/Linux Rolling"},
	{desc: "Raspbian 11", file: "raspbian-11", id: "raspbian", versionID: "11", like: []string{"debian"}, name: "Raspbian GNU/Linux 11 (bullseye)"},
	{desc: "CloudLinux 7.9", file: "cloudlinux-7.9", id: "cloudlinux", versionID: "7.9", like: []string{"rhel", "fedora", "centos"}, name: "CloudLinux 7.9 (Boris Yegorov)"},
	{desc: "CloudLinux 8.9", file: "cloudlinux-8.9", id: "cloudlinux", versionID: "8.9", like: []string{"rhel", "fedora", "centos"}, name: "CloudLinux 8.9 (Vladimir Aksenov)"},
	{desc: "Scientific Linux 7.9", file: "scientific-7.9", id: "scientific", versionID: "7.9", like: []string{"rhel", "centos", "fedora"}, name: "Scientific Linux 7.9 (Nitrogen)"},
	{desc: "Alpine 3.19", file: "alpine-3.19", id: "alpine", versionID: "3.19.1", name: "Alpine Linux v3.19"},
	{desc: "Arch Linux (no VERSION_ID)", file: "arch", id: "arch", versionID: "", name: "Arch Linux", extraKey: "BUILD_ID", extraVa: "rolling"},
	{desc: "Gentoo (unquoted NAME)", file: "gentoo", id: "gentoo", versionID: "2.14", name: "Gentoo Linux", extraKey: "NAME", extraVa: "Gentoo"},
}

func readTestdata(t *testing.T, file string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "os-release", file))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDistributionsCoverTestdata(t *testing.T) {
	ents, err := os.ReadDir(filepath.Join("testdata", "os-release"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, d := range distros {
		listed[d.file] = true
	}
	for _, e := range ents {
		if !listed[e.Name()] {
			t.Errorf("testdata/os-release/%s is not in distros", e.Name())
		}
	}
	if len(ents) < 22 {
		t.Errorf("only %d distributions in testdata, want at least 22", len(ents))
	}
}

func TestParseOSReleaseDistributions(t *testing.T) {
	for _, d := range distros {
		t.Run(d.desc, func(t *testing.T) {
			kv, err := ParseOSRelease(readTestdata(t, d.file))
			if err != nil {
				t.Fatalf("ParseOSRelease: %v", err)
			}
			if kv["ID"] != d.id {
				t.Errorf("ID = %q, want %q", kv["ID"], d.id)
			}
			if kv["VERSION_ID"] != d.versionID {
				t.Errorf("VERSION_ID = %q, want %q", kv["VERSION_ID"], d.versionID)
			}
			if got := strings.Fields(kv["ID_LIKE"]); !slices.Equal(got, d.like) {
				t.Errorf("ID_LIKE = %q, want %q", got, d.like)
			}
			if d.extraKey != "" && kv[d.extraKey] != d.extraVa {
				t.Errorf("%s = %q, want %q", d.extraKey, kv[d.extraKey], d.extraVa)
			}
			for k, v := range kv {
				if strings.ContainsAny(v, "\"'\\") && k != "BUG_REPORT_URL" {
					t.Errorf("%s = %q still holds quoting", k, v)
				}
			}
		})
	}
}

func TestDetectDistributions(t *testing.T) {
	for _, d := range distros {
		t.Run(d.desc, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, "etc/os-release", readTestdata(t, d.file))
			got, err := Detect(fsroot.New(dir))
			if err != nil {
				t.Fatalf("Detect: %v", err)
			}
			want := Info{Family: FamilyLinux, ID: d.id, VersionID: d.versionID, Like: d.like, Name: d.name,
				Source: filepath.Join(dir, "etc", "os-release")}
			if !equalInfo(got, want) {
				t.Errorf("Detect = %+v\nwant     %+v", got, want)
			}
		})
	}
}

func equalInfo(a, b Info) bool {
	return a.Family == b.Family && a.ID == b.ID && a.VersionID == b.VersionID && slices.Equal(a.Like, b.Like) &&
		a.Name == b.Name && a.Build == b.Build && a.Edition == b.Edition && a.Server == b.Server && a.Source == b.Source
}

// writeFile writes data to rel (slash path) under dir, creating parents.
func writeFile(t *testing.T, dir, rel string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseOSReleaseValuesAreUTF8(t *testing.T) {
	in := []byte("NAME=\"Caf\xe9 Linux\"\nID=cafe\nX=\xff\xfe\n")
	kv, err := ParseOSRelease(in)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range kv {
		if !utf8.ValidString(v) {
			t.Errorf("%s = %q is not UTF-8", k, v)
		}
	}
	if kv["NAME"] != "Café Linux" || kv["X"] != "ÿþ" {
		t.Errorf("got %q", kv)
	}
}
