package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"
	"github.com/klauspost/compress/zstd"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/osinfo"
	"github.com/agentkeeper/agentkeeper/platform/registry"
)

// initrd builds a zstd-compressed newc image holding names (each a small
// regular file).
func initrd(t *testing.T, names ...string) string {
	t.Helper()
	var b bytes.Buffer
	w := cpio.NewWriter(&b)
	for _, n := range names {
		if err := w.WriteHeader(&cpio.Header{Name: n, Mode: cpio.TypeReg | 0o644, Size: 1, Links: 1}); err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("x"))
	}
	w.Close()
	var z bytes.Buffer
	zw, _ := zstd.NewWriter(&z)
	zw.Write(b.Bytes())
	zw.Close()
	return z.String()
}

// bootRoot writes files (path → contents) into a fresh image root.
func bootRoot(t *testing.T, files map[string]string) *Target {
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
	return &Target{Root: fsroot.New(dir), OS: osinfo.Info{Family: FamilyLinux, ID: "debian"}, Report: &Report{}}
}

const kv = "6.1.0-50-amd64"

func TestBootHyperVProbe(t *testing.T) {
	mod := "usr/lib/modules/" + kv + "/kernel/drivers/"
	cfgM := "CONFIG_HYPERV=m\nCONFIG_HYPERV_STORAGE=m\nCONFIG_HYPERV_NET=m\n"
	base := func(extra map[string]string) map[string]string {
		m := map[string]string{"boot/vmlinuz-" + kv: "k", "boot/config-" + kv: cfgM}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, tc := range []struct {
		desc   string
		files  map[string]string
		status Status
		msg    []string
		fix    []string
	}{
		{desc: "no kernel: a container root", files: map[string]string{"etc/os-release": "ID=debian"}, status: StatusSkip, msg: []string{"no kernel", "container"}},
		{desc: "built in", files: map[string]string{"boot/vmlinuz-" + kv: "k", "boot/config-" + kv: "CONFIG_HYPERV=y\nCONFIG_HYPERV_STORAGE=y\nCONFIG_HYPERV_NET=y\n"},
			status: StatusPass, msg: []string{"built in", kv}},
		{desc: "modules in the initramfs", files: base(map[string]string{"boot/initrd.img-" + kv: initrd(t,
			mod+"hv/hv_vmbus.ko", mod+"scsi/hv_storvsc.ko.xz", mod+"net/hyperv/hv_netvsc.ko.zst")}),
			status: StatusPass, msg: []string{"hv_storvsc in /boot/initrd.img-" + kv + ": " + mod + "scsi/hv_storvsc.ko.xz"}},
		{desc: "initramfs-tools image without them", files: base(map[string]string{"boot/initrd.img-" + kv: initrd(t, "conf/initramfs.conf", mod+"hv/hv_vmbus.ko"),
			"usr/sbin/dracut": "x"}),
			status: StatusFail, msg: []string{"hv_storvsc, hv_netvsc missing from the initramfs", "zstd, 2 entries", "disk and NIC"},
			fix: []string{filepath.FromSlash("/etc/initramfs-tools/modules"), "chroot ", "update-initramfs -u -k " + kv}},
		{desc: "dracut image without them", files: base(map[string]string{"boot/initrd.img-" + kv: initrd(t, "usr/lib/dracut/build-parameter.txt"),
			"usr/sbin/update-initramfs": "x"}),
			status: StatusFail, msg: []string{"hv_vmbus, hv_storvsc, hv_netvsc missing"},
			fix: []string{`dracut -f --add-drivers "hv_vmbus hv_storvsc hv_netvsc" /boot/initrd.img-` + kv + " " + kv, "dracut.conf.d"}},
		{desc: "kernel built without the NIC driver", files: map[string]string{"boot/vmlinuz-" + kv: "k", "boot/config-" + kv: "CONFIG_HYPERV=y\nCONFIG_HYPERV_STORAGE=y\n# CONFIG_HYPERV_NET is not set\n"},
			status: StatusFail, msg: []string{"built without hv_netvsc (CONFIG_HYPERV_NET is not set)"}},
		{desc: "no initramfs", files: base(nil), status: StatusFail, msg: []string{"no initramfs"}, fix: []string{"update-initramfs"}},
		{desc: "RHEL without an initramfs: dracut names initramfs-<ver>.img", files: base(map[string]string{"usr/bin/dracut": "x", "etc/os-release": "ID=rhel"}),
			status: StatusFail, msg: []string{"no initramfs"}, fix: []string{`chroot `, `dracut -f --add-drivers "hv_vmbus hv_storvsc hv_netvsc" /boot/initramfs-` + kv + ".img " + kv}},
		{desc: "old SUSE with mkinitrd only", files: base(map[string]string{"sbin/mkinitrd": "x", "boot/initrd-" + kv: initrd(t, "run_all.sh")}),
			status: StatusFail, msg: []string{"missing from the initramfs", "/boot/initrd-" + kv},
			fix: []string{"INITRD_MODULES in ", `mkinitrd -k /boot/vmlinuz-` + kv + ` -i /boot/initrd-` + kv + ` -m "hv_vmbus hv_storvsc hv_netvsc"`}},
		{desc: "unreadable initramfs", files: base(map[string]string{"boot/initrd.img-" + kv: "garbage"}), status: StatusWarn, msg: []string{"not found in what could be read", "unknown data"}},
		{desc: "no config: looked for in the initramfs anyway", files: map[string]string{"boot/vmlinuz-" + kv: "k", "boot/initrd.img-" + kv: initrd(t,
			mod+"hv/hv_vmbus.ko", mod+"scsi/hv_storvsc.ko", mod+"net/hyperv/hv_netvsc.ko")},
			status: StatusPass, msg: []string{"hv_netvsc in /boot/initrd.img-"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			tg := bootRoot(t, tc.files)
			c := bootHyperVProbe(context.Background(), tg)
			if c.Status != tc.status {
				t.Fatalf("status %s, want %s: %s (fix %s)", c.Status, tc.status, c.Message, c.Fix)
			}
			for _, m := range tc.msg {
				if !strings.Contains(c.Message, m) {
					t.Errorf("message %q does not say %q", c.Message, m)
				}
			}
			for _, f := range tc.fix {
				if !strings.Contains(c.Fix, f) {
					t.Errorf("fix %q does not say %q", c.Fix, f)
				}
			}
		})
	}
}

func TestBootHyperVFixLive(t *testing.T) {
	tg := bootRoot(t, map[string]string{"boot/vmlinuz-" + kv: "k", "boot/initrd.img-" + kv: initrd(t, "conf/initramfs.conf")})
	tg.Live = true
	c := bootHyperVProbe(context.Background(), tg)
	if c.Status != StatusFail || !strings.Contains(c.Fix, "run: update-initramfs -u -k "+kv) || strings.Contains(c.Fix, "chroot") {
		t.Errorf("%+v", c)
	}
}

func TestBootFstabProbe(t *testing.T) {
	for _, tc := range []struct {
		desc, fstab string
		status      Status
		msg         string
	}{
		{"Debian's unconfigured fstab", "# UNCONFIGURED FSTAB FOR BASE SYSTEM\n", StatusPass, "no entries"},
		{"by UUID, as debian-installer writes it", "# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n# / was on /dev/sda1 during installation\nUUID=3b0f1e3c-5b5e-4b1f-9c7e-2f3a8d6c1a11 /               ext4    errors=remount-ro 0       1\n# swap was on /dev/sda5 during installation\nUUID=0f7d2a8e-0c55-4c1c-8a3e-7b2f9d8c6a44 none            swap    sw              0       0\n/dev/sr0        /media/cdrom0   udf,iso9660 user,noauto     0       0\n", StatusPass, "3 fstab entries"},
		{"root by /dev/sda1", "/dev/sda1 / ext4 defaults 0 1\n", StatusFail, "/dev/sda1 on /"},
		{"/boot/efi by /dev/vda1 even with nofail", "UUID=x / xfs defaults 0 0\n/dev/vda1 /boot/efi vfat umask=0077,nofail 0 2\n", StatusFail, "/dev/vda1 on /boot/efi"},
		{"data disk by /dev/xvdb without nofail", "LABEL=root / ext4 defaults 0 1\n/dev/xvdb1 /data ext4 defaults 0 2\n", StatusFail, "/dev/xvdb1 on /data"},
		{"data disk by /dev/sdc1 with nofail", "LABEL=root / ext4 defaults 0 1\n/dev/sdc1 /data ext4 defaults,nofail 0 2\n", StatusPass, "none that stops"},
		{"LVM and by-uuid are stable", "/dev/mapper/rhel-root / xfs defaults 0 0\n/dev/disk/by-uuid/abc /boot xfs defaults 0 0\n", StatusPass, "2 fstab entries"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := bootFstabProbe(context.Background(), bootRoot(t, map[string]string{"etc/fstab": tc.fstab}))
			if c.Status != tc.status || !strings.Contains(c.Message, tc.msg) {
				t.Errorf("%s: %s (fix %s); want %s ~%q", c.Status, c.Message, c.Fix, tc.status, tc.msg)
			}
			if c.Status == StatusFail && (!strings.Contains(c.Fix, "UUID=") || strings.Contains(c.Fix, "blkid -s")) {
				t.Errorf("image fix %q: want UUID= and no host blkid command", c.Fix)
			}
		})
	}
	if c := bootFstabProbe(context.Background(), bootRoot(t, nil)); c.Status != StatusPass {
		t.Errorf("no fstab: %+v", c)
	}
}

func TestBootConsoleProbe(t *testing.T) {
	grubCfg := func(args string) string {
		return "set default=\"0\"\nmenuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-x' {\n\tlinux\t/boot/vmlinuz-" + kv + " root=UUID=x ro " + args + "\n\tinitrd\t/boot/initrd.img-" + kv + "\n}\n"
	}
	for _, tc := range []struct {
		desc   string
		files  map[string]string
		status Status
		msg    string
		fix    string
	}{
		{"no grub, no kernel", nil, StatusSkip, "cannot be told", ""},
		{"on the default entry", map[string]string{"boot/vmlinuz-" + kv: "k", "boot/grub/grub.cfg": grubCfg("console=tty0 console=ttyS0,115200n8")}, StatusPass, "Debian GNU/Linux", ""},
		{"missing", map[string]string{"boot/vmlinuz-" + kv: "k", "boot/grub/grub.cfg": grubCfg("quiet"), "usr/sbin/update-grub": "x"}, StatusWarn, "not on the command line", "chroot "},
		{"in /etc/default/grub but grub.cfg not regenerated", map[string]string{"boot/vmlinuz-" + kv: "k", "boot/grub/grub.cfg": grubCfg("quiet"),
			"etc/default/grub": "GRUB_CMDLINE_LINUX=\"console=ttyS0,115200\"\n"}, StatusWarn, "not regenerated", "grub-mkconfig -o /boot/grub/grub.cfg"},
		{"only /etc/default/grub", map[string]string{"etc/default/grub": "GRUB_CMDLINE_LINUX_DEFAULT=\"quiet\"\n"}, StatusWarn, "not in GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX"},
		{"RHEL: grubby", map[string]string{"etc/default/grub": "GRUB_CMDLINE_LINUX=\"rhgb quiet\"\n", "usr/sbin/grubby": "x"}, StatusWarn, "not in", "grubby --update-kernel=ALL --args=console=ttyS0,115200n8"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := bootConsoleProbe(context.Background(), bootRoot(t, tc.files))
			if c.Status != tc.status || !strings.Contains(c.Message, tc.msg) || !strings.Contains(c.Fix, tc.fix) {
				t.Errorf("%s: %s (fix %s); want %s ~%q fix ~%q", c.Status, c.Message, c.Fix, tc.status, tc.msg, tc.fix)
			}
		})
	}
}

// cloudInitNetplan is netplan as cloud-init writes it on Azure.
const cloudInitNetplan = `# This file is generated from information provided by the datasource.  Changes
# to it will not persist across an instance reboot.  To disable cloud-init's
# network configuration capabilities, write a file
# /etc/cloud/cloud.cfg.d/99-disable-network-config.cfg with the following:
# network: {config: disabled}
network:
    ethernets:
        eth0:
            dhcp4: true
            match:
                macaddress: 00:22:48:1e:2b:3c
            set-name: eth0
    version: 2
`

func TestNetworkDHCPProbeLinux(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		files  map[string]string
		status Status
		msg    string
		fix    string
	}{
		{"nothing", nil, StatusWarn, "nothing configures the network; Azure needs DHCP on the primary interface", "dhcp"},
		{"nothing, NetworkManager installed", map[string]string{"usr/sbin/NetworkManager": "x"}, StatusPass, "NetworkManager", ""},
		{"netplan eth0 dhcp", map[string]string{"etc/netplan/50-cloud-init.yaml": "network:\n  version: 2\n  ethernets:\n    eth0:\n      dhcp4: true\n"}, StatusPass, "eth0 gets its address by DHCP (netplan", ""},
		{"ifupdown static", map[string]string{"etc/network/interfaces": "auto lo\niface lo inet loopback\n\nallow-hotplug ens192\niface ens192 inet static\n\taddress 10.20.30.40/24\n\tgateway 10.20.30.1\n"},
			StatusFail, "ens192 has a static address 10.20.30.40/24 (ifupdown", "iface ens192 inet dhcp"},
		{"ifcfg static eth0 beside a DHCP ens224", map[string]string{"etc/sysconfig/network-scripts/ifcfg-eth0": "DEVICE=eth0\nBOOTPROTO=none\nIPADDR=192.168.1.50\nPREFIX=24\n",
			"etc/sysconfig/network-scripts/ifcfg-ens224": "DEVICE=ens224\nBOOTPROTO=dhcp\n"}, StatusFail, "eth0 has a static address 192.168.1.50/24", "BOOTPROTO=dhcp"},
		{"cloud-init's netplan bound to a MAC, cloud-init installed", map[string]string{"etc/netplan/50-cloud-init.yaml": cloudInitNetplan, "usr/bin/cloud-init": "#!/usr/bin/python3"},
			StatusPass, "cloud-init wrote it", ""},
		{"cloud-init's netplan bound to a MAC, cloud-init removed", map[string]string{"etc/netplan/50-cloud-init.yaml": cloudInitNetplan},
			StatusWarn, "only for the NIC with MAC address 00:22:48:1e:2b:3c", "match: macaddress"},
		{"RHEL ifcfg bound to a MAC by HWADDR", map[string]string{"etc/sysconfig/network-scripts/ifcfg-eth0": "TYPE=Ethernet\nBOOTPROTO=dhcp\nNAME=eth0\nDEVICE=eth0\nONBOOT=yes\nHWADDR=00:50:56:8A:1B:2C\n"},
			StatusWarn, "only for the NIC with MAC address 00:50:56:8a:1b:2c", "HWADDR="},
		{"DHCP on a VMware name only", map[string]string{"etc/network/interfaces": "allow-hotplug ens192\niface ens192 inet dhcp\n"}, StatusWarn, "no configuration applies to eth0", "eth0"},
		{"networkd match-all DHCP with MAC bindings", map[string]string{"etc/systemd/network/99-dhcp-en.network": "[Match]\nName=e*\n\n[Network]\nDHCP=yes\n",
			"etc/systemd/system/multi-user.target.wants/systemd-networkd.service": "[Unit]\n",
			"etc/udev/rules.d/70-persistent-net.rules":                            `SUBSYSTEM=="net", ACTION=="add", DRIVERS=="?*", ATTR{address}=="00:50:56:8a:1b:2c", ATTR{type}=="1", KERNEL=="eth*", NAME="eth0"` + "\n"},
			StatusWarn, "e* gets its address by DHCP (systemd-networkd", "70-persistent-net.rules"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := networkDHCPProbe(context.Background(), bootRoot(t, tc.files))
			if c.Status != tc.status || !strings.Contains(c.Message, tc.msg) || !strings.Contains(c.Fix, tc.fix) {
				t.Errorf("%s: %s (fix %s); want %s ~%q fix ~%q", c.Status, c.Message, c.Fix, tc.status, tc.msg, tc.fix)
			}
		})
	}
}

func TestWindowsBootProbes(t *testing.T) {
	win := func(f registry.Fake) *Target {
		return &Target{Live: true, OS: osinfo.Info{Family: FamilyWindows}, Registry: f, Report: &Report{}}
	}
	for _, tc := range []struct {
		desc   string
		probe  func(context.Context, *Target) Check
		reg    registry.Fake
		status Status
		msg    string
	}{
		{"SanPolicy OnlineAll", bootSanPolicyProbe, registry.Fake{regPartmgr: {"SanPolicy": uint64(1)}}, StatusPass, "OnlineAll"},
		{"SanPolicy OfflineShared", bootSanPolicyProbe, registry.Fake{regPartmgr: {"SanPolicy": uint64(2)}}, StatusWarn, "2 (OfflineShared)"},
		{"SanPolicy unset", bootSanPolicyProbe, registry.Fake{regPartmgr: {}}, StatusWarn, "no SanPolicy"},
		{"storvsc boot", bootStorvscProbe, registry.Fake{regStorvsc: {"Start": uint64(0)}}, StatusPass, "Start = 0"},
		{"storvsc manual", bootStorvscProbe, registry.Fake{regStorvsc: {"Start": uint64(3)}}, StatusFail, "starts manual (Start = 3)"},
		{"storvsc missing", bootStorvscProbe, registry.Fake{}, StatusFail, "not installed"},
		{"RDP on", networkRDPProbe, registry.Fake{regTerminal: {"fDenyTSConnections": uint64(0)}}, StatusPass, "enabled"},
		{"RDP off", networkRDPProbe, registry.Fake{regTerminal: {"fDenyTSConnections": uint64(1)}}, StatusWarn, "disabled"},
		{"RDP on, policy off", networkRDPProbe, registry.Fake{regTerminal: {"fDenyTSConnections": uint64(0)}, regTerminalGPO: {"fDenyTSConnections": uint64(1)}}, StatusWarn, "Group Policy disables"},
		{"DHCP automatic", networkDHCPProbe, registry.Fake{regDhcp: {"Start": uint64(2)}}, StatusPass, "automatically"},
		{"DHCP disabled", networkDHCPProbe, registry.Fake{regDhcp: {"Start": uint64(4)}}, StatusFail, "starts disabled (Start = 4)"},
		{"DHCP missing", networkDHCPProbe, registry.Fake{}, StatusFail, "not installed"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := tc.probe(context.Background(), win(tc.reg))
			if c.Status != tc.status || !strings.Contains(c.Message, tc.msg) {
				t.Errorf("%s: %s (fix %s); want %s ~%q", c.Status, c.Message, c.Fix, tc.status, tc.msg)
			}
			if c.Status != StatusPass && !strings.Contains(c.Fix, "reg add") && !strings.Contains(c.Fix, "Group Policy") && tc.status != StatusFail {
				t.Errorf("fix %q names no command", c.Fix)
			}
		})
	}
	img := &Target{Live: false, OS: osinfo.Info{Family: FamilyWindows}, Registry: registry.Fake{}}
	if c := networkDHCPProbe(context.Background(), img); c.Status != StatusSkip {
		t.Errorf("offline Windows image: %+v", c)
	}
}
