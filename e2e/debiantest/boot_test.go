//go:build linux

package debiantest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// rootKernel is waagent + Debian's kernel with initramfs-tools, dracut-core,
// xz-utils and zstd (mkroot.sh).
const rootKernel = "kernel"

// hv are the drivers boot.hyperv looks for.
var hv = []string{"hv_vmbus", "hv_storvsc", "hv_netvsc"}

// TestBootReadinessDebianKernel runs boot.hyperv (and the other boot
// checks) against real initramfs images of Debian's kernel built in the
// root by the real update-initramfs and dracut, one after the other in
// the same root: MODULES=most passes; MODULES=list without the drivers
// fails naming them, for zstd, gzip and xz; the fix the check prints, run
// as printed, makes it pass; dracut host-only fails and its printed
// --add-drivers fix makes it pass.
func TestBootReadinessDebianKernel(t *testing.T) {
	root := unpack(t, rootKernel)
	kver := kernelVersion(t, root)

	t.Run("MODULES=most (Debian's default, zstd)", func(t *testing.T) {
		res := runCheck(t, root)
		c := wantCheck(t, res, "boot.hyperv", "pass")
		for _, m := range hv {
			if !strings.Contains(c.Message, m+" in /boot/initrd.img-"+kver+": usr/lib/modules/"+kver+"/kernel/drivers/") {
				t.Errorf("boot.hyperv message does not say where %s is: %s", m, c.Message)
			}
		}
		wantCheck(t, res, "boot.fstab", "pass") // "# UNCONFIGURED FSTAB FOR BASE SYSTEM"
		// Debian's /etc/default/grub, no grub.cfg yet.
		if c := wantCheck(t, res, "boot.console", "warn"); !strings.Contains(c.Message, "console=ttyS0 is not in GRUB_CMDLINE_LINUX of /etc/default/grub") {
			t.Errorf("boot.console: %s", c.Message)
		}
		d := wantCheck(t, res, "network.dhcp", "warn") // nothing configures the network
		if !strings.Contains(d.Message, "nothing configures the network") {
			t.Errorf("network.dhcp: %s", d.Message)
		}
	})

	conf := filepath.Join(root, "etc/initramfs-tools/initramfs.conf")
	modules := filepath.Join(root, "etc/initramfs-tools/modules")
	for _, comp := range []string{"zstd", "gzip", "xz"} {
		t.Run("MODULES=list "+comp, func(t *testing.T) {
			setShellConf(t, conf, "MODULES", "list")
			setShellConf(t, conf, "COMPRESS", comp)
			writeFile(t, modules, "# none\n")
			inRoot(t, root, "update-initramfs", "-u", "-k", "all")
			res := runCheck(t, root)
			if res.code != 1 || boolIs(res.rep.Ready, true) {
				t.Errorf("exit %d, ready %s: want 1, false", res.code, showBool(res.rep.Ready))
			}
			c := wantCheck(t, res, "boot.hyperv", "fail")
			if !strings.Contains(c.Message, "hv_vmbus, hv_storvsc, hv_netvsc missing from the initramfs") ||
				!strings.Contains(c.Message, "/boot/initrd.img-"+kver+" ("+comp+", ") {
				t.Errorf("boot.hyperv message: %s", c.Message)
			}
			want := "add hv_vmbus hv_storvsc hv_netvsc to " + modules + " (one a line), then run: chroot " + root + " update-initramfs -u -k " + kver
			if c.Fix != want {
				t.Fatalf("boot.hyperv fix\n got %s\nwant %s", c.Fix, want)
			}
			// Do what the fix says, exactly.
			writeFile(t, modules, strings.Join(hv, "\n")+"\n")
			runFix(t, root, c.Fix, false)
			res = runCheck(t, root)
			wantCheck(t, res, "boot.hyperv", "pass")
		})
	}

	t.Run("dracut host-only, then its --add-drivers fix", func(t *testing.T) {
		// Host-only as RHEL's dracut.conf.d sets it; a minbase root has no
		// poweroff/reboot/halt for dracut's shutdown module: left out.
		writeFile(t, filepath.Join(root, "etc/dracut.conf.d/10-hostonly.conf"), "hostonly=\"yes\"\nomit_dracutmodules+=\" shutdown \"\n")
		initrd := "/boot/initrd.img-" + kver
		inRootMounted(t, root, "dracut", "-f", "-q", "--kver", kver, initrd)
		res := runCheck(t, root)
		c := wantCheck(t, res, "boot.hyperv", "fail")
		// Host-only keeps the drivers of the machine that built it: this
		// one's NIC is not Hyper-V's.
		if !strings.Contains(c.Message, "hv_netvsc") || !strings.Contains(c.Message, "missing from the initramfs") {
			t.Errorf("boot.hyperv message: %s", c.Message)
		}
		if !strings.Contains(c.Fix, "run: chroot "+root+" dracut -f --add-drivers \"") || !strings.Contains(c.Fix, "\" "+initrd+" "+kver+";") {
			t.Fatalf("boot.hyperv fix is not dracut's: %s", c.Fix)
		}
		runFix(t, root, c.Fix, true)
		res = runCheck(t, root)
		wantCheck(t, res, "boot.hyperv", "pass")
	})

	t.Run("update-grub's grub.cfg, then the console fix", func(t *testing.T) {
		inRootMounted(t, root, "update-grub")
		res := runCheck(t, root)
		h := wantCheck(t, res, "boot.hyperv", "pass")
		if !strings.Contains(h.Message, "kernel "+kver+" (the default entry of /boot/grub/grub.cfg: \"Debian GNU/Linux\")") {
			t.Errorf("boot.hyperv does not name the default GRUB entry: %s", h.Message)
		}
		c := wantCheck(t, res, "boot.console", "warn")
		want := "add console=ttyS0,115200n8 to GRUB_CMDLINE_LINUX in " + root + "/etc/default/grub, then run: chroot " + root + " update-grub (with /dev, /proc and /sys bind-mounted into " + root + ": grub-mkconfig probes the root device)"
		if !strings.Contains(c.Message, "is not on the command line of the default entry of /boot/grub/grub.cfg") || c.Fix != want {
			t.Fatalf("boot.console: %s\n got fix %s\nwant fix %s", c.Message, c.Fix, want)
		}
		setShellConf(t, filepath.Join(root, "etc/default/grub"), "GRUB_CMDLINE_LINUX", `"console=ttyS0,115200n8"`)
		c = wantCheck(t, runCheck(t, root), "boot.console", "warn")
		if !strings.Contains(c.Message, "grub.cfg was not regenerated") {
			t.Errorf("boot.console after editing /etc/default/grub only: %s", c.Message)
		}
		runFix(t, root, strings.SplitN(c.Fix, " (with", 2)[0], true)
		c = wantCheck(t, runCheck(t, root), "boot.console", "pass")
		if !strings.Contains(c.Message, "console=ttyS0 is on the command line of the default entry of /boot/grub/grub.cfg") {
			t.Errorf("boot.console: %s", c.Message)
		}
	})

	t.Run("fstab and network files as Debian writes them", func(t *testing.T) {
		writeFile(t, filepath.Join(root, "etc/fstab"), "# /etc/fstab: static file system information.\n#\n# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n/dev/sda1 /               ext4    errors=remount-ro 0       1\n/dev/sda5 none            swap    sw              0       0\n/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0\n")
		writeFile(t, filepath.Join(root, "etc/network/interfaces"), "source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet static\n\taddress 192.168.1.20/24\n\tgateway 192.168.1.1\n")
		res := runCheck(t, root)
		f := wantCheck(t, res, "boot.fstab", "fail")
		if !strings.Contains(f.Message, "/dev/sda1 on /, /dev/sda5 on none") {
			t.Errorf("boot.fstab: %s", f.Message)
		}
		n := wantCheck(t, res, "network.dhcp", "fail")
		if !strings.Contains(n.Message, "eth0 has a static address 192.168.1.20/24 (ifupdown, "+root+"/etc/network/interfaces)") {
			t.Errorf("network.dhcp: %s", n.Message)
		}
		writeFile(t, filepath.Join(root, "etc/fstab"), "UUID=3b0f1e3c-5b5e-4b1f-9c7e-2f3a8d6c1a11 / ext4 errors=remount-ro 0 1\n")
		writeFile(t, filepath.Join(root, "etc/network/interfaces"), "auto lo\niface lo inet loopback\n\nallow-hotplug eth0\niface eth0 inet dhcp\n")
		res = runCheck(t, root)
		wantCheck(t, res, "boot.fstab", "pass")
		wantCheck(t, res, "network.dhcp", "pass")
	})
}

// kernelVersion returns the version of the one kernel in root's /boot.
func kernelVersion(t *testing.T, root string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
	if len(m) != 1 {
		t.Fatalf("want one kernel in %s/boot, found %v", root, m)
	}
	return strings.TrimPrefix(filepath.Base(m[0]), "vmlinuz-")
}

// setShellConf sets KEY=VALUE in a shell-style configuration file.
func setShellConf(t *testing.T, file, key, value string) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^#?\s*` + key + `=.*$`)
	line := key + "=" + value
	if re.Match(b) {
		b = re.ReplaceAll(b, []byte(line))
	} else {
		b = append(b, []byte("\n"+line+"\n")...)
	}
	writeFile(t, file, string(b))
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// inRoot runs argv inside root with chroot and a clean environment.
func inRoot(t *testing.T, root string, argv ...string) {
	t.Helper()
	run(t, append([]string{"env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LC_ALL=C.UTF-8", "chroot", root}, argv...))
}

// inRootMounted runs argv inside root with /proc, /sys, /dev and /run
// mounted (privately: ../debian/chroot-mounted.sh), as dracut --hostonly needs.
func inRootMounted(t *testing.T, root string, argv ...string) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "debian", "chroot-mounted.sh"))
	if err != nil {
		t.Fatal(err)
	}
	run(t, append([]string{"bash", script, root}, argv...))
}

func run(t *testing.T, argv []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, tail(out, 30))
	}
	t.Logf("%s in %s", strings.Join(argv, " "), time.Since(start).Round(100*time.Millisecond))
}

// runFix runs the command of a fix text ("... run: chroot ROOT CMD ARGS;
// ...") exactly as printed: the words after "chroot ROOT", with double
// quotes grouping, run inside the root (mounted: for dracut --hostonly).
func runFix(t *testing.T, root, fix string, mounted bool) {
	t.Helper()
	prefix := "run: chroot " + root + " "
	i := strings.Index(fix, prefix)
	if i < 0 {
		t.Fatalf("fix names no command in the root: %s", fix)
	}
	cmd := fix[i+len(prefix):]
	if j := strings.IndexByte(cmd, ';'); j >= 0 {
		cmd = cmd[:j]
	}
	argv := splitQuoted(cmd)
	if mounted {
		inRootMounted(t, root, argv...)
	} else {
		inRoot(t, root, argv...)
	}
}

// splitQuoted splits words, "double quotes" grouping.
func splitQuoted(s string) []string {
	var out []string
	var cur strings.Builder
	in, quoted := false, false
	for _, r := range s {
		switch {
		case r == '"':
			quoted = !quoted
			in = true
		case r == ' ' && !quoted:
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}
