package netcfg

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// root lays testdata files out under a temp root: image path → testdata
// name (or "=contents").
func root(t *testing.T, files map[string]string) fsroot.Root {
	t.Helper()
	dir := t.TempDir()
	for p, src := range files {
		var b []byte
		if c, ok := strings.CutPrefix(src, "="); ok {
			b = []byte(c)
		} else {
			var err error
			if b, err = os.ReadFile(filepath.Join("testdata", src)); err != nil {
				t.Fatal(err)
			}
		}
		host := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(host, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return fsroot.New(dir)
}

func show(ifs []Iface) string {
	var s []string
	for _, i := range ifs {
		s = append(s, fmt.Sprintf("%s:%s:%s:%s:%s", i.System, i.Name, i.Method, strings.Join(i.Addresses, ","), i.File))
	}
	return strings.Join(s, " | ")
}

func TestRead(t *testing.T) {
	for _, tc := range []struct {
		desc  string
		files map[string]string
		want  string
	}{
		{desc: "nothing", files: map[string]string{"etc/os-release": "=ID=debian"}, want: ""},
		{desc: "Ubuntu cloud-init netplan", files: map[string]string{"etc/netplan/50-cloud-init.yaml": "netplan-cloud-init.yaml"},
			want: "netplan:eth0:dhcp::/etc/netplan/50-cloud-init.yaml"},
		{desc: "Ubuntu installer static netplan", files: map[string]string{"etc/netplan/00-installer-config.yaml": "netplan-subiquity-static.yaml"},
			want: "netplan:ens160:static:192.168.10.25/24:/etc/netplan/00-installer-config.yaml"},
		{desc: "netplan: a later file turns DHCP on for the same device", files: map[string]string{
			"etc/netplan/00-installer-config.yaml": "netplan-subiquity-static.yaml",
			"etc/netplan/90-dhcp.yaml":             "=network:\n  ethernets:\n    ens160:\n      dhcp4: yes\n"},
			want: "netplan:ens160:dhcp:192.168.10.25/24:/etc/netplan/90-dhcp.yaml"},
		{desc: "Debian installer ifupdown DHCP, with interfaces.d", files: map[string]string{
			"etc/network/interfaces":        "interfaces-debian-dhcp",
			"etc/network/interfaces.d/eth1": "=auto eth1\niface eth1 inet static\n    address 10.9.9.9\n    netmask 255.255.255.0\n"},
			want: "ifupdown:ens192:dhcp::/etc/network/interfaces | ifupdown:eth1:static:10.9.9.9:/etc/network/interfaces.d/eth1"},
		{desc: "Debian installer ifupdown static", files: map[string]string{"etc/network/interfaces": "interfaces-debian-static"},
			want: "ifupdown:ens192:static:10.20.30.40/24:/etc/network/interfaces"},
		{desc: "RHEL 9 NetworkManager keyfiles", files: map[string]string{
			"etc/NetworkManager/system-connections/ens192.nmconnection": "rhel9-static.nmconnection",
			"etc/NetworkManager/system-connections/ens224.nmconnection": "rhel9-dhcp.nmconnection",
			"usr/sbin/NetworkManager":                                   "=elf"},
			want: "NetworkManager:ens192:static:192.168.122.10/24:/etc/NetworkManager/system-connections/ens192.nmconnection | NetworkManager:ens192:dhcp::/etc/NetworkManager/system-connections/ens224.nmconnection"},
		{desc: "RHEL 7 ifcfg", files: map[string]string{
			"etc/sysconfig/network-scripts/ifcfg-eth0":   "ifcfg-rhel7-dhcp",
			"etc/sysconfig/network-scripts/ifcfg-ens192": "ifcfg-rhel7-static",
			"etc/sysconfig/network-scripts/ifcfg-lo":     "=DEVICE=lo\nIPADDR=127.0.0.1\n"},
			want: "ifcfg:ens192:static:192.168.1.50/24:/etc/sysconfig/network-scripts/ifcfg-ens192 | ifcfg:eth0:dhcp::/etc/sysconfig/network-scripts/ifcfg-eth0"},
		{desc: "SUSE ifcfg", files: map[string]string{
			"etc/sysconfig/network/ifcfg-eth0": "ifcfg-suse-dhcp",
			"etc/sysconfig/network/ifcfg-eth1": "ifcfg-suse-static"},
			want: "ifcfg:eth0:dhcp::/etc/sysconfig/network/ifcfg-eth0 | ifcfg:eth1:static:10.0.0.5/24:/etc/sysconfig/network/ifcfg-eth1"},
		{desc: "systemd-networkd: /etc overrides /usr/lib, container files ignored", files: map[string]string{
			"etc/systemd/network/10-static.network":                               "10-static.network",
			"usr/lib/systemd/network/10-static.network":                           "99-dhcp-en.network",
			"usr/lib/systemd/network/80-container-host0.network":                  "80-container-host0.network",
			"usr/lib/systemd/network/99-dhcp-en.network":                          "99-dhcp-en.network",
			"usr/lib/systemd/network/80-wifi-adhoc.network":                       "=[Match]\nType=wlan\nWLANInterfaceType=ad-hoc\n\n[Network]\nLinkLocalAddressing=yes\n",
			"usr/lib/systemd/network/80-vm-vt.network":                            "=[Match]\nName=vt-*\nKind=veth\n\n[Network]\nDHCPServer=yes\n",
			"etc/systemd/system/multi-user.target.wants/systemd-networkd.service": "=[Unit]\n"},
			want: "systemd-networkd:enp1s0:static:10.1.2.3/24:/etc/systemd/network/10-static.network | systemd-networkd:e*:dhcp::/usr/lib/systemd/network/99-dhcp-en.network"},
		{desc: "systemd-networkd not enabled: its files do nothing", files: map[string]string{
			"etc/systemd/network/10-static.network": "10-static.network"}, want: ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			c := Read(root(t, tc.files))
			if got := show(c.Ifaces); got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
			if len(c.Problems) > 0 {
				t.Errorf("problems: %v", c.Problems)
			}
		})
	}
}

func TestMACBindings(t *testing.T) {
	c := Read(root(t, map[string]string{
		"etc/netplan/50-cloud-init.yaml":                                      "netplan-cloud-init.yaml",
		"etc/sysconfig/network-scripts/ifcfg-eth1":                            "=DEVICE=eth1\nBOOTPROTO=dhcp\nHWADDR=00:50:56:8A:1B:2C\n",
		"etc/NetworkManager/system-connections/x.nmconnection":                "=[connection]\ntype=ethernet\n[ethernet]\nmac-address=00:15:5D:01:02:03\n",
		"etc/systemd/network/10-mac.network":                                  "=[Match]\nMACAddress=52:54:00:AA:BB:CC\n[Network]\nDHCP=yes\n",
		"etc/systemd/system/multi-user.target.wants/systemd-networkd.service": "=x",
	}))
	var got []string
	for _, i := range c.Ifaces {
		got = append(got, i.Name+"="+i.MAC)
	}
	if want := "eth0=00:22:48:1e:2b:3c =00:15:5d:01:02:03 eth1=00:50:56:8a:1b:2c *=52:54:00:aa:bb:cc"; strings.Join(got, " ") != want {
		t.Errorf("MACs %q, want %q", strings.Join(got, " "), want)
	}
}

func TestReadProblemsAndBindings(t *testing.T) {
	c := Read(root(t, map[string]string{
		"etc/netplan/01-bad.yaml":                  "=network: [unclosed",
		"etc/udev/rules.d/70-persistent-net.rules": "70-persistent-net.rules",
		"usr/sbin/NetworkManager":                  "=elf",
	}))
	if len(c.Problems) != 1 || !strings.Contains(c.Problems[0], "01-bad.yaml") {
		t.Errorf("problems %v", c.Problems)
	}
	if len(c.Bindings) != 1 || c.Bindings[0] != (Binding{MAC: "00:50:56:8a:1b:2c", Name: "eth0"}) || c.BindingsFile == "" {
		t.Errorf("bindings %+v", c.Bindings)
	}
	if !c.NetworkManagerInstalled {
		t.Error("NetworkManager not seen")
	}
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		name, iface string
		want        bool
	}{
		{"eth0", "eth0", true}, {"e*", "eth0", true}, {"en* eth*", "eth0", true},
		{"ens192", "eth0", false}, {"*", "eth0", true}, {"", "eth0", true}, {"[", "eth0", false},
	} {
		if got := (Iface{Name: tc.name}).Matches(tc.iface); got != tc.want {
			t.Errorf("%q matches %q = %v", tc.name, tc.iface, got)
		}
	}
}
