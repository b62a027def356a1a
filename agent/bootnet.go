package agent

import (
	"context"
	"fmt"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/netcfg"
)

// azureNIC is the name a Linux guest gives Azure's synthetic NIC: a VMBus
// device has no PCI path for a predictable name, so it stays eth0.
const azureNIC = "eth0"

// networkDHCPProbe judges whether the primary interface will ask DHCP for
// its address (the agent finds the WireServer through it): on Linux from
// the network configuration files, on Windows from the DHCP client service.
func networkDHCPProbe(ctx context.Context, t *Target) Check {
	if t.OS.Family == FamilyWindows {
		return windowsDHCPProbe(ctx, t)
	}
	c := netcfg.Read(t.Root)
	bindings := ""
	if len(c.Bindings) > 0 {
		var bs []string
		for _, b := range c.Bindings {
			bs = append(bs, b.Name+" to "+b.MAC)
		}
		bindings = fmt.Sprintf("%s binds %s: in Azure the NIC has another MAC address and gets another name", t.Root.Join(c.BindingsFile), strings.Join(bs, ", "))
	}
	withBindings := func(ch Check) Check {
		if bindings == "" {
			return ch
		}
		ch.Message += "; " + bindings
		rm := "remove " + t.Root.Join(c.BindingsFile)
		if ch.Fix == "" {
			ch.Fix = rm
		} else {
			ch.Fix += "; " + rm
		}
		if ch.Status == StatusPass {
			ch.Status = StatusWarn
		}
		return ch
	}
	problems := ""
	if len(c.Problems) > 0 {
		problems = " (unreadable: " + strings.Join(c.Problems, "; ") + ")"
	}
	if len(c.Ifaces) == 0 {
		if c.NetworkManagerInstalled {
			return withBindings(Check{Status: StatusPass, Message: "no interface is configured, and NetworkManager (installed) brings wired interfaces up with DHCP by default" + problems})
		}
		return withBindings(Check{Status: StatusWarn, Message: "nothing configures the network; Azure needs DHCP on the primary interface" + problems,
			Fix: "configure " + azureNIC + " for DHCP in the network system the image uses (netplan: dhcp4: true; ifupdown: iface eth0 inet dhcp; NetworkManager: ipv4.method auto; ifcfg: BOOTPROTO=dhcp; systemd-networkd: DHCP=ipv4)"})
	}
	primary := c.Ifaces[0]
	for _, i := range c.Ifaces {
		if i.Matches(azureNIC) {
			primary = i
			break
		}
	}
	where := fmt.Sprintf("%s, %s", primary.System, t.Root.Join(primary.File))
	name := primary.Name
	if name == "" {
		name = "(any interface)"
	}
	switch primary.Method {
	case netcfg.DHCP:
		if !primary.Matches(azureNIC) {
			return withBindings(Check{Status: StatusWarn,
				Message: fmt.Sprintf("%s is configured for DHCP (%s), but no configuration applies to %s, the name Azure's NIC gets%s", name, where, azureNIC, problems),
				Fix:     fmt.Sprintf("configure %s for DHCP as well (or match the interface by driver hv_netvsc) in %s", azureNIC, t.Root.Join(primary.File))})
		}
		if primary.MAC != "" {
			if c.CloudInitInstalled && c.CloudInitFile(t.Root, primary) {
				return withBindings(Check{Status: StatusPass, Message: fmt.Sprintf("%s gets its address by DHCP (%s); the file is bound to MAC %s, but cloud-init wrote it and writes it again for Azure's NIC%s", name, where, primary.MAC, problems)})
			}
			return withBindings(Check{Status: StatusWarn,
				Message: fmt.Sprintf("%s is configured for DHCP (%s), but only for the NIC with MAC address %s: Azure's NIC has another one, so this configuration will not apply%s", name, where, primary.MAC, problems),
				Fix:     fmt.Sprintf("remove the MAC binding (%s) from %s, so the configuration applies by name", macKey(primary.System), t.Root.Join(primary.File))})
		}
		return withBindings(Check{Status: StatusPass, Message: fmt.Sprintf("%s gets its address by DHCP (%s)%s", name, where, problems)})
	case netcfg.Static:
		return withBindings(Check{Status: StatusFail,
			Message: fmt.Sprintf("%s has a static address %s (%s): Azure assigns addresses by DHCP, so the machine and its agent would not reach the network%s", name, strings.Join(primary.Addresses, ", "), where, problems),
			Fix:     dhcpFix(t, primary)})
	}
	return withBindings(Check{Status: StatusWarn,
		Message: fmt.Sprintf("%s is configured with no IPv4 address and no DHCP (%s)%s", name, where, problems),
		Fix:     dhcpFix(t, primary)})
}

// dhcpFix says how to turn DHCP on for one interface in its own system.
func dhcpFix(t *Target, i netcfg.Iface) string {
	f := t.Root.Join(i.File)
	switch i.System {
	case netcfg.Netplan:
		return fmt.Sprintf("in %s set dhcp4: true for %s and remove its addresses, then run: %s", f, i.Name, t.Cmd("netplan generate"))
	case netcfg.Ifupdown:
		return fmt.Sprintf("in %s change the stanza to \"iface %s inet dhcp\" and remove its address, netmask and gateway lines", f, i.Name)
	case netcfg.NetworkManager:
		s := fmt.Sprintf("in %s set method=auto under [ipv4] and remove the addressN lines", f)
		if t.Live {
			s += fmt.Sprintf(" (or run: nmcli connection modify %s ipv4.method auto ipv4.addresses \"\" ipv4.gateway \"\")", i.Name)
		}
		return s
	case netcfg.Ifcfg:
		return fmt.Sprintf("in %s set BOOTPROTO=dhcp (SUSE: BOOTPROTO='dhcp') and remove IPADDR, PREFIX/NETMASK and GATEWAY", f)
	case netcfg.Networkd:
		return fmt.Sprintf("in %s set DHCP=ipv4 under [Network] and remove Address= and Gateway=", f)
	}
	return "configure " + i.Name + " for DHCP"
}

// macKey names where each system binds a configuration to a MAC address.
func macKey(s netcfg.System) string {
	switch s {
	case netcfg.Netplan:
		return "match: macaddress"
	case netcfg.NetworkManager:
		return "mac-address under [ethernet]"
	case netcfg.Ifcfg:
		return "HWADDR="
	case netcfg.Networkd:
		return "MACAddress= under [Match]"
	}
	return "the MAC address"
}
