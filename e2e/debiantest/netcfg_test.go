//go:build linux

package debiantest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// rootNetcfg is base + ifupdown, netplan.io and network-manager (mkroot.sh).
const rootNetcfg = "netcfg"

// TestNetworkDHCPRealTools has the real netplan and nmcli write the network
// configuration into a Debian 12 root, as an administrator would, and checks
// network.dhcp on each: DHCP passes, a static address fails with a fix
// whose printed command runs in the root.
func TestNetworkDHCPRealTools(t *testing.T) {
	root := unpack(t, rootNetcfg)

	t.Run("nothing configured, NetworkManager installed", func(t *testing.T) {
		c := wantCheck(t, runCheck(t, root), "network.dhcp", "pass")
		if !strings.Contains(c.Message, "NetworkManager (installed) brings wired interfaces up with DHCP") {
			t.Errorf("network.dhcp: %s", c.Message)
		}
	})

	netplanFile := filepath.Join(root, "etc/netplan/70-netplan-set.yaml")
	t.Run("netplan set: DHCP, then static, then the fix", func(t *testing.T) {
		inRoot(t, root, "netplan", "set", "ethernets.eth0.dhcp4=true")
		c := wantCheck(t, runCheck(t, root), "network.dhcp", "pass")
		if !strings.Contains(c.Message, "eth0 gets its address by DHCP (netplan, "+netplanFile+")") {
			t.Errorf("network.dhcp: %s", c.Message)
		}
		inRoot(t, root, "netplan", "set", "ethernets.eth0.dhcp4=false")
		inRoot(t, root, "netplan", "set", "ethernets.eth0.addresses=[10.0.0.5/24]")
		res := runCheck(t, root)
		c = wantCheck(t, res, "network.dhcp", "fail")
		if res.code != 1 || !strings.Contains(c.Message, "eth0 has a static address 10.0.0.5/24 (netplan, "+netplanFile+")") {
			t.Errorf("exit %d, network.dhcp: %s", res.code, c.Message)
		}
		if !strings.Contains(c.Fix, "in "+netplanFile+" set dhcp4: true for eth0 and remove its addresses, then run: chroot "+root+" netplan generate") {
			t.Fatalf("network.dhcp fix: %s", c.Fix)
		}
		inRoot(t, root, "netplan", "set", "ethernets.eth0.dhcp4=true")
		inRoot(t, root, "netplan", "set", "ethernets.eth0.addresses=null")
		runFix(t, root, c.Fix, false)
		wantCheck(t, runCheck(t, root), "network.dhcp", "pass")
		if err := os.Remove(netplanFile); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("nmcli --offline keyfiles: static, then auto", func(t *testing.T) {
		keyfile := filepath.Join(root, "etc/NetworkManager/system-connections/eth0.nmconnection")
		nmcli := func(method string, extra ...string) {
			t.Helper()
			argv := append([]string{"env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "chroot", root,
				"nmcli", "--offline", "connection", "add", "type", "ethernet", "ifname", "eth0", "con-name", "eth0", "ipv4.method", method}, extra...)
			out, err := exec.Command(argv[0], argv[1:]...).Output()
			if err != nil {
				t.Fatalf("%v: %v", argv, err)
			}
			// nmcli --offline prints the keyfile; NetworkManager reads it
			// from system-connections, owned by root, mode 600.
			if err := os.WriteFile(keyfile, out, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		nmcli("manual", "ipv4.addresses", "10.1.1.5/24", "ipv4.gateway", "10.1.1.1")
		c := wantCheck(t, runCheck(t, root), "network.dhcp", "fail")
		if !strings.Contains(c.Message, "eth0 has a static address 10.1.1.5/24 (NetworkManager, "+keyfile+")") ||
			!strings.Contains(c.Fix, "in "+keyfile+" set method=auto under [ipv4]") {
			t.Errorf("network.dhcp: %s (fix %s)", c.Message, c.Fix)
		}
		nmcli("auto")
		wantCheck(t, runCheck(t, root), "network.dhcp", "pass")
	})
}
