package bootcfg

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

func testdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mkroot writes files (path inside the root → contents) under a temp dir.
func mkroot(t *testing.T, files map[string]string) fsroot.Root {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		host := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(host, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return fsroot.New(dir)
}

func TestParseGrubCfgDebian(t *testing.T) {
	m := ParseGrubCfg(testdata(t, "debian12.grub.cfg"))
	if m.Default != "0" {
		t.Errorf("Default = %q", m.Default)
	}
	var paths []string
	for _, e := range m.Entries {
		paths = append(paths, e.Path+"="+e.Linux)
	}
	want := "0=/boot/vmlinuz-6.1.0-50-amd64 1>0=/boot/vmlinuz-6.1.0-50-amd64 1>1=/boot/vmlinuz-6.1.0-50-amd64 1>2=/boot/vmlinuz-5.10.0-9-amd64 2="
	if got := strings.Join(paths, " "); got != want {
		t.Errorf("entries\n got %s\nwant %s", got, want)
	}
	e := m.Entries[0]
	if e.Title != "Debian GNU/Linux" || e.ID != "gnulinux-simple-3b0f1e3c-5b5e-4b1f-9c7e-2f3a8d6c1a11" ||
		e.Args != "root=UUID=3b0f1e3c-5b5e-4b1f-9c7e-2f3a8d6c1a11 ro console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0" ||
		strings.Join(e.Initrds, ",") != "/boot/initrd.img-6.1.0-50-amd64" {
		t.Errorf("entry 0: %+v", e)
	}
	for _, tc := range []struct{ def, linux string }{
		{"0", "/boot/vmlinuz-6.1.0-50-amd64"},
		{"1>2", "/boot/vmlinuz-5.10.0-9-amd64"},
		{"Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux 5.10.0-9-amd64", "/boot/vmlinuz-5.10.0-9-amd64"},
		{"gnulinux-advanced-3b0f1e3c-5b5e-4b1f-9c7e-2f3a8d6c1a11>gnulinux-5.10.0-9-amd64-advanced-3b0f1e3c-5b5e-4b1f-9c7e-2f3a8d6c1a11", "/boot/vmlinuz-5.10.0-9-amd64"},
		{"gnulinux-5.10.0-9-amd64-advanced-3b0f1e3c-5b5e-4b1f-9c7e-2f3a8d6c1a11", "/boot/vmlinuz-5.10.0-9-amd64"},
		{"1>1", "/boot/vmlinuz-6.1.0-50-amd64"},
	} {
		e, ok := m.Find(tc.def)
		if !ok || e.Linux != tc.linux {
			t.Errorf("Find(%q) = %v %+v, want %s", tc.def, ok, e, tc.linux)
		}
	}
	if _, ok := m.Find("7"); ok {
		t.Error("Find(7) found an entry")
	}
}

func TestDefaultKernel(t *testing.T) {
	deb := map[string]string{
		"boot/vmlinuz-6.1.0-50-amd64":    "k",
		"boot/vmlinuz-5.10.0-9-amd64":    "k",
		"boot/initrd.img-6.1.0-50-amd64": "i",
		"boot/initrd.img-5.10.0-9-amd64": "i",
	}
	with := func(base map[string]string, extra ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	saved := strings.Replace(string(testdata(t, "debian12.grub.cfg")), `set default="0"`, `set default="${saved_entry}"`, 1)
	for _, tc := range []struct {
		desc     string
		files    map[string]string
		version  string
		initrds  string
		fromGrub bool
		args     string
		how      string
	}{
		{desc: "no grub: the newest by version, not by name", files: deb, version: "6.1.0-50-amd64", initrds: "/boot/initrd.img-6.1.0-50-amd64", how: "newest"},
		{desc: "Debian grub.cfg entry 0", files: with(deb, "boot/grub/grub.cfg", string(testdata(t, "debian12.grub.cfg"))),
			version: "6.1.0-50-amd64", initrds: "/boot/initrd.img-6.1.0-50-amd64", fromGrub: true, args: "console=ttyS0,115200", how: "Debian GNU/Linux"},
		{desc: "GRUB_DEFAULT=saved with an older kernel saved", files: with(deb, "boot/grub/grub.cfg", saved,
			"boot/grub/grubenv", "# GRUB Environment Block\nsaved_entry=gnulinux-advanced-3b0f1e3c-5b5e-4b1f-9c7e-2f3a8d6c1a11>gnulinux-5.10.0-9-amd64-advanced-3b0f1e3c-5b5e-4b1f-9c7e-2f3a8d6c1a11\n####"),
			version: "5.10.0-9-amd64", initrds: "/boot/initrd.img-5.10.0-9-amd64", fromGrub: true, args: "ro quiet", how: "saved entry"},
		{desc: "saved entry that names nothing: the first entry", files: with(deb, "boot/grub/grub.cfg", saved,
			"boot/grub/grubenv", "saved_entry=gone\n"), version: "6.1.0-50-amd64", fromGrub: true, initrds: "/boot/initrd.img-6.1.0-50-amd64", how: "names no entry"},
		{desc: "grub entry names a kernel that is not there", files: with(map[string]string{"boot/vmlinuz-4.19.0-1-amd64": "k"},
			"boot/grub/grub.cfg", string(testdata(t, "debian12.grub.cfg"))), version: "4.19.0-1-amd64", how: "which is not there"},
		{desc: "RHEL 9: BLS entries, saved entry, separate /boot", files: map[string]string{
			"boot/grub2/grub.cfg": string(testdata(t, "rhel9.grub.cfg")),
			"boot/grub2/grubenv":  string(testdata(t, "rhel9.grubenv")),
			"boot/loader/entries/2f3e7e3f1f1c4a8f9a1f2d0d2c6a3b11-5.14.0-362.8.1.el9_3.x86_64.conf": string(testdata(t, "rhel9-new.conf")),
			"boot/loader/entries/2f3e7e3f1f1c4a8f9a1f2d0d2c6a3b11-5.14.0-70.13.1.el9_0.x86_64.conf": string(testdata(t, "rhel9-old.conf")),
			"boot/vmlinuz-5.14.0-362.8.1.el9_3.x86_64":                                              "k",
			"boot/vmlinuz-5.14.0-70.13.1.el9_0.x86_64":                                              "k",
			"boot/initramfs-5.14.0-70.13.1.el9_0.x86_64.img":                                        "i",
			"boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img":                                        "i",
		}, version: "5.14.0-70.13.1.el9_0.x86_64", initrds: "/boot/initramfs-5.14.0-70.13.1.el9_0.x86_64.img", fromGrub: true, args: "rd.lvm.lv=rhel/swap console=ttyS0,115200n8", how: "saved entry"},
		{desc: "RHEL 9 without a saved entry: the newest BLS entry", files: map[string]string{
			"boot/grub2/grub.cfg": string(testdata(t, "rhel9.grub.cfg")),
			"boot/loader/entries/a-5.14.0-362.8.1.el9_3.x86_64.conf": string(testdata(t, "rhel9-new.conf")),
			"boot/loader/entries/a-5.14.0-70.13.1.el9_0.x86_64.conf": string(testdata(t, "rhel9-old.conf")),
			"boot/vmlinuz-5.14.0-362.8.1.el9_3.x86_64":               "k",
			"boot/vmlinuz-5.14.0-70.13.1.el9_0.x86_64":               "k",
			"boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img":         "i",
		}, version: "5.14.0-362.8.1.el9_3.x86_64", initrds: "/boot/initramfs-5.14.0-362.8.1.el9_3.x86_64.img", fromGrub: true, how: "default entry"},
		{desc: "SUSE naming, rescue kernel ignored", files: map[string]string{
			"boot/vmlinuz-5.14.21-150500.55.39-default": "k", "boot/initrd-5.14.21-150500.55.39-default": "i",
			"boot/vmlinuz-0-rescue-abc": "k",
		}, version: "5.14.21-150500.55.39-default", initrds: "/boot/initrd-5.14.21-150500.55.39-default"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			k, err := DefaultKernel(mkroot(t, tc.files))
			if err != nil {
				t.Fatal(err)
			}
			if k.Version != tc.version || strings.Join(k.Initrds, ",") != tc.initrds || k.FromGrub != tc.fromGrub ||
				!strings.Contains(k.Args, tc.args) || !strings.Contains(k.How, tc.how) {
				t.Errorf("got %+v\nwant version %s initrds %s fromGrub %v args ~%q how ~%q", k, tc.version, tc.initrds, tc.fromGrub, tc.args, tc.how)
			}
			if strings.Contains(k.Args, "$") {
				t.Errorf("unexpanded variable in %q", k.Args)
			}
		})
	}
}

func TestDefaultKernelNone(t *testing.T) {
	for _, files := range []map[string]string{{"etc/os-release": "ID=debian"}, {"boot/grub/grub.cfg": ""}} {
		if _, err := DefaultKernel(mkroot(t, files)); err == nil || !strings.Contains(err.Error(), "no kernel image") {
			t.Errorf("%v: err = %v", files, err)
		}
	}
}

func TestVersionLess(t *testing.T) {
	ordered := []string{"4.19.0-1-amd64", "5.10.0-9-amd64", "5.10.0-10-amd64", "6.1.0-9-amd64", "6.1.0-13-amd64", "6.1.0-13-amd64a", "6.10.0-1"}
	for i := range ordered {
		for j := range ordered {
			if got := VersionLess(ordered[i], ordered[j]); got != (i < j) {
				t.Errorf("VersionLess(%s, %s) = %v", ordered[i], ordered[j], got)
			}
		}
	}
}

func TestKconfig(t *testing.T) {
	root := mkroot(t, map[string]string{
		"boot/config-6.1.0-50-amd64":                     "#\n# Automatically generated file; DO NOT EDIT.\nCONFIG_HYPERV=m\nCONFIG_HYPERV_STORAGE=y\n# CONFIG_HYPERV_NET is not set\nCONFIG_LOCALVERSION=\"\"\n",
		"usr/lib/modules/6.1.0-50-amd64/modules.builtin": "kernel/drivers/scsi/hv_storvsc.ko\nkernel/fs/ext4/ext4.ko\n",
	})
	c, p, err := KernelConfig(root, "6.1.0-50-amd64")
	if err != nil || p != "/boot/config-6.1.0-50-amd64" || c["CONFIG_HYPERV"] != "m" || c["CONFIG_HYPERV_STORAGE"] != "y" || c["CONFIG_HYPERV_NET"] != "n" || c["CONFIG_LOCALVERSION"] != "" {
		t.Errorf("KernelConfig = %v %q %v", c, p, err)
	}
	if _, _, err := KernelConfig(root, "9.9"); err == nil {
		t.Error("no error for a missing config")
	}
	b, p, err := BuiltinModules(root, "6.1.0-50-amd64")
	if err != nil || !b["hv_storvsc"] || !b["ext4"] || b["hv_vmbus"] || p != "/usr/lib/modules/6.1.0-50-amd64/modules.builtin" {
		t.Errorf("BuiltinModules = %v %q %v", b, p, err)
	}
}

func TestDefaultGrub(t *testing.T) {
	root := mkroot(t, map[string]string{
		"etc/default/grub": string(testdata(t, "ubuntu.default.grub")),
		"etc/default/grub.d/50-cloudimg-settings.cfg": string(testdata(t, "50-cloudimg-settings.cfg")),
		"etc/default/grub.d/60-extra.cfg":             `GRUB_CMDLINE_LINUX="$GRUB_CMDLINE_LINUX net.ifnames=0" # comment` + "\n",
	})
	d := ReadDefaultGrub(root)
	if got := d.Cmdline(); got != "net.ifnames=0 console=tty1 console=ttyS0" {
		t.Errorf("Cmdline = %q", got)
	}
	if len(d.Files) != 3 || d.Vars["GRUB_TIMEOUT"] != "0" {
		t.Errorf("%+v", d)
	}
	for _, tc := range []struct{ in, want string }{
		{`A="x y" B=1`, "x y"},
		{`A='$B "q"'`, `$B "q"`},
		{`A=plain#x`, "plain#x"},
		{`A="a\"b"`, `a"b`},
		{`export A=${B}c`, "1c"},
	} {
		v := map[string]string{"B": "1"}
		ParseShellVars([]byte(tc.in), v)
		if v["A"] != tc.want {
			t.Errorf("%s: A = %q, want %q", tc.in, v["A"], tc.want)
		}
	}
}

func TestHasArg(t *testing.T) {
	for _, tc := range []struct {
		cmdline string
		want    bool
	}{
		{"ro console=ttyS0", true},
		{"console=ttyS0,115200n8 quiet", true},
		{"console=ttyS01", false},
		{"earlyprintk=ttyS0", false},
		{"", false},
	} {
		if got := HasArg(tc.cmdline, "console=ttyS0"); got != tc.want {
			t.Errorf("HasArg(%q) = %v", tc.cmdline, got)
		}
	}
}
