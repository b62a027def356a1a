// Package netcfg reads how a Linux machine or image configures its network
// interfaces, in whichever system it uses: netplan, ifupdown
// (/etc/network/interfaces), NetworkManager keyfiles, RHEL and SUSE
// ifcfg-* files, systemd-networkd .network files; and the MAC bindings of
// udev's 70-persistent-net.rules. Parsers take bytes; Read walks the
// files of an fsroot.Root.
package netcfg

import (
	"os"
	"path"
	"sort"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// System names a network configuration system.
type System string

// The systems read.
const (
	Netplan        System = "netplan"
	Ifupdown       System = "ifupdown"
	NetworkManager System = "NetworkManager"
	Ifcfg          System = "ifcfg"
	Networkd       System = "systemd-networkd"
)

// Method is how an interface gets its IPv4 address.
type Method string

// The methods.
const (
	DHCP   Method = "dhcp"
	Static Method = "static"
	// Manual is configured but given no address (ifupdown manual, NM
	// disabled, ifcfg BOOTPROTO=none without IPADDR).
	Manual Method = "manual"
)

// Iface is one interface configuration.
type Iface struct {
	// Name is the interface name or match pattern ("eth0", "en*"); "*"
	// matches every interface; "" when the configuration names none (a
	// NetworkManager profile bound to no interface).
	Name   string
	Method Method
	// MAC is the hardware address the configuration is bound to, if any
	// (netplan match: macaddress, NetworkManager mac-address, networkd
	// MACAddress=, ifcfg HWADDR): it applies only to the NIC with it.
	MAC string
	// Addresses are the static IPv4 addresses configured, if any.
	Addresses []string
	System    System
	// File is the path inside the root the configuration came from.
	File string
}

// Matches reports whether the configuration applies to interface name.
func (i Iface) Matches(name string) bool {
	if i.Name == "" || i.Name == "*" {
		return true
	}
	for _, pat := range strings.Fields(i.Name) {
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
	}
	return false
}

// Binding is one MAC-to-name rule of 70-persistent-net.rules.
type Binding struct {
	MAC, Name string
}

// Config is every network configuration found.
type Config struct {
	// Ifaces in the order found (system by system, files in name order);
	// loopback left out.
	Ifaces []Iface
	// Bindings are the MAC bindings of /etc/udev/rules.d/70-persistent-net.rules.
	Bindings []Binding
	// BindingsFile is that file's path when it has bindings.
	BindingsFile string
	// Problems are files that could not be read or parsed, in words.
	Problems []string
	// NetworkdEnabled is true when systemd-networkd.service is enabled
	// (a wants link); only then are .network files read.
	NetworkdEnabled bool
	// NetworkManagerInstalled is true when the NetworkManager binary is
	// there: with no profile for an interface it brings wired interfaces
	// up with DHCP by default.
	NetworkManagerInstalled bool
	// CloudInitInstalled is true when cloud-init is there: on Azure it
	// writes the network configuration it generated (its netplan
	// 50-cloud-init.yaml, ifcfg or networkd files) again at first boot.
	CloudInitInstalled bool
}

// CloudInitFile reports whether i's file is one cloud-init generated
// (it says so in its first comment lines, or is netplan's 50-cloud-init.yaml).
func (c Config) CloudInitFile(root fsroot.Root, i Iface) bool {
	if strings.HasSuffix(i.File, "/50-cloud-init.yaml") {
		return true
	}
	b, err := root.ReadFile(i.File, maxFile)
	if err != nil {
		return false
	}
	head := string(b)
	if len(head) > 512 {
		head = head[:512]
	}
	return strings.Contains(head, "cloud-init") || strings.Contains(head, "generated from information provided by the datasource")
}

// maxFile caps one configuration file.
const maxFile = 1 << 20

// Read reads every network configuration under root.
func Read(root fsroot.Root) Config {
	var c Config
	read := func(p string) ([]byte, bool) {
		b, err := root.ReadFile(p, maxFile)
		if err != nil {
			c.Problems = append(c.Problems, err.Error())
			return nil, false
		}
		return b, true
	}
	var docs []map[string]any
	var files []string
	for _, f := range list(root, []string{"/etc/netplan"}, func(n string) bool { return strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml") }) {
		if b, ok := read(f); ok {
			d, err := ParseNetplan(b)
			if err != nil {
				c.Problems = append(c.Problems, root.Join(f)+": "+err.Error())
				continue
			}
			docs, files = append(docs, d), append(files, f)
		}
	}
	// netplan merges its files in name order; later keys win.
	c.Ifaces = append(c.Ifaces, NetplanIfaces(docs, files)...)
	if b, ok := readOptional(root, "/etc/network/interfaces"); ok {
		c.Ifaces = append(c.Ifaces, ifupdownFiles(root, "/etc/network/interfaces", b, 0)...)
	}
	for _, f := range list(root, []string{"/etc/NetworkManager/system-connections"}, func(n string) bool { return !strings.HasSuffix(n, "~") }) {
		if b, ok := read(f); ok {
			if i, ok := ParseNMKeyfile(b); ok {
				i.File = f
				c.Ifaces = append(c.Ifaces, i)
			}
		}
	}
	for _, f := range list(root, []string{"/etc/sysconfig/network-scripts", "/etc/sysconfig/network"}, func(n string) bool {
		return strings.HasPrefix(n, "ifcfg-") && n != "ifcfg-lo" && !strings.HasSuffix(n, "~") && !strings.HasSuffix(n, ".bak")
	}) {
		if b, ok := read(f); ok {
			i := ParseIfcfg(b, strings.TrimPrefix(path.Base(f), "ifcfg-"))
			if i.Name != "lo" {
				i.File = f
				c.Ifaces = append(c.Ifaces, i)
			}
		}
	}
	// systemd-networkd, when it is enabled (its .network files do nothing
	// otherwise; Debian's systemd ships some): /etc overrides a vendor
	// file of the same name.
	c.NetworkdEnabled = unitEnabled(root, "systemd-networkd.service")
	seen := map[string]bool{}
	for _, dir := range []string{"/etc/systemd/network", "/usr/lib/systemd/network", "/lib/systemd/network"} {
		if !c.NetworkdEnabled {
			break
		}
		for _, f := range list(root, []string{dir}, func(n string) bool { return strings.HasSuffix(n, ".network") }) {
			if seen[path.Base(f)] {
				continue
			}
			seen[path.Base(f)] = true
			if b, ok := read(f); ok {
				if i, ok := ParseNetworkd(b); ok {
					i.File = f
					c.Ifaces = append(c.Ifaces, i)
				}
			}
		}
	}
	if b, ok := readOptional(root, "/etc/udev/rules.d/70-persistent-net.rules"); ok {
		c.Bindings = ParsePersistentNet(b)
		if len(c.Bindings) > 0 {
			c.BindingsFile = "/etc/udev/rules.d/70-persistent-net.rules"
		}
	}
	for _, p := range []string{"/usr/sbin/NetworkManager", "/usr/bin/NetworkManager"} {
		if root.Exists(p) {
			c.NetworkManagerInstalled = true
		}
	}
	c.CloudInitInstalled = root.Exists("/usr/bin/cloud-init")
	return c
}

// unitEnabled reports whether a systemd unit is enabled in the root: a link
// to it in a *.wants directory of /etc/systemd/system or the vendor unit
// directories (presets).
func unitEnabled(root fsroot.Root, unit string) bool {
	for _, base := range []string{"/etc/systemd/system", "/usr/lib/systemd/system", "/lib/systemd/system"} {
		ents, err := root.ReadDir(base)
		if err != nil {
			continue
		}
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".wants") {
				p := base + "/" + e.Name() + "/" + unit
				if _, err := root.Stat(p); err == nil {
					return true
				}
				// A dangling link still says enabled (the unit may be
				// elsewhere in an unpacked image).
				if fi, err := os.Lstat(root.Join(p)); err == nil && fi.Mode()&os.ModeSymlink != 0 {
					return true
				}
			}
		}
	}
	return false
}

func readOptional(root fsroot.Root, p string) ([]byte, bool) {
	b, err := root.ReadFile(p, maxFile)
	return b, err == nil
}

// list returns the regular files of dirs whose names pass keep, in name
// order per directory.
func list(root fsroot.Root, dirs []string, keep func(string) bool) []string {
	var out []string
	for _, d := range dirs {
		ents, err := root.ReadDir(d)
		if err != nil {
			continue
		}
		var names []string
		for _, e := range ents {
			if keep(e.Name()) {
				if fi, err := root.Stat(d + "/" + e.Name()); err == nil && fi.Mode().IsRegular() {
					names = append(names, e.Name())
				}
			}
		}
		sort.Strings(names)
		for _, n := range names {
			out = append(out, d+"/"+n)
		}
	}
	return out
}

// ifupdownFiles parses an interfaces file and the files it sources.
func ifupdownFiles(root fsroot.Root, file string, data []byte, depth int) []Iface {
	ifs, sources := ParseInterfaces(data)
	for i := range ifs {
		ifs[i].File = file
	}
	if depth > 4 {
		return ifs
	}
	for _, s := range sources {
		if !strings.HasPrefix(s.pattern, "/") {
			s.pattern = path.Join(path.Dir(file), s.pattern)
		}
		var files []string
		if s.dir {
			files = list(root, []string{s.pattern}, func(n string) bool { return validRunPartsName(n) })
		} else {
			files = glob(root, s.pattern)
		}
		for _, f := range files {
			if b, ok := readOptional(root, f); ok {
				ifs = append(ifs, ifupdownFiles(root, f, b, depth+1)...)
			}
		}
	}
	return ifs
}

// glob expands a "source" pattern whose wildcards are in the last element
// (as Debian's "source /etc/network/interfaces.d/*").
func glob(root fsroot.Root, pattern string) []string {
	dir, base := path.Split(pattern)
	if !strings.ContainsAny(base, "*?[") {
		return []string{pattern}
	}
	return list(root, []string{strings.TrimSuffix(dir, "/")}, func(n string) bool {
		ok, _ := path.Match(base, n)
		return ok
	})
}

// validRunPartsName is run-parts' rule for source-directory: letters,
// digits, '_' and '-' only.
func validRunPartsName(n string) bool {
	for _, r := range n {
		if !(r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return n != ""
}
