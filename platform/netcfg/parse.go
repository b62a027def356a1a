package netcfg

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/agentkeeper/agentkeeper/platform/bootcfg"
)

// netplanKinds are the device sections of a netplan file, in the order
// netplan generates them.
var netplanKinds = []string{"ethernets", "bonds", "bridges", "vlans", "wifis"}

// ParseNetplan parses one netplan YAML file into its mapping. An empty
// file is an empty mapping.
func ParseNetplan(data []byte) (map[string]any, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not netplan YAML: %v", err)
	}
	if doc == nil {
		doc = map[string]any{}
	}
	return doc, nil
}

// NetplanIfaces merges netplan documents (in file order, files[i] being
// docs[i]'s path) and returns the interfaces they configure.
func NetplanIfaces(docs []map[string]any, files []string) []Iface {
	// The merged device mappings, and per device the last file that set
	// something for it.
	st := struct {
		doc    map[string]any
		origin map[string]string
		order  []string
	}{doc: map[string]any{}, origin: map[string]string{}}
	for i, d := range docs {
		net, _ := d["network"].(map[string]any)
		for _, kind := range netplanKinds {
			devs, _ := net[kind].(map[string]any)
			for _, id := range sortedKeys(devs) {
				key := kind + "/" + id
				if _, ok := st.origin[key]; !ok {
					st.order = append(st.order, key)
				}
				st.origin[key] = files[i]
				old, _ := st.doc[key].(map[string]any)
				nv, _ := devs[id].(map[string]any)
				st.doc[key] = mergeMaps(old, nv)
			}
		}
	}
	var out []Iface
	for _, key := range st.order {
		_, id, _ := strings.Cut(key, "/")
		dev, _ := st.doc[key].(map[string]any)
		i := Iface{Name: id, System: Netplan, File: st.origin[key], Method: Manual}
		if m, ok := dev["match"].(map[string]any); ok {
			if n, ok := m["name"].(string); ok {
				i.Name = n
			} else {
				i.Name = "*"
			}
			if mac, ok := m["macaddress"].(string); ok {
				i.MAC = strings.ToLower(mac)
			}
		}
		if n, ok := dev["set-name"].(string); ok {
			i.Name = n
		}
		for _, a := range yamlList(dev["addresses"]) {
			if s, ok := a.(string); ok && strings.Contains(s, ".") {
				i.Addresses = append(i.Addresses, s)
			}
		}
		switch {
		case yes(dev["dhcp4"]):
			i.Method = DHCP
		case len(i.Addresses) > 0:
			i.Method = Static
		}
		out = append(out, i)
	}
	return out
}

func yamlList(v any) []any {
	l, _ := v.([]any)
	return l
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func mergeMaps(a, b map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		am, ok1 := out[k].(map[string]any)
		bm, ok2 := v.(map[string]any)
		if ok1 && ok2 {
			out[k] = mergeMaps(am, bm)
		} else {
			out[k] = v
		}
	}
	return out
}

// yes reads a netplan or INI boolean: true, yes, on, y, 1.
func yes(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int:
		return x == 1
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "on", "y", "1":
			return true
		}
	}
	return false
}

// source is a "source" or "source-directory" line of an interfaces file.
type source struct {
	pattern string
	dir     bool
}

// ParseInterfaces parses ifupdown's interfaces(5): "iface NAME inet
// METHOD" stanzas with their options, and the files it sources. IPv6
// stanzas and loopback are left out.
func ParseInterfaces(data []byte) ([]Iface, []source) {
	var out []Iface
	var srcs []source
	cur := -1
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "iface":
			cur = -1
			if len(f) < 4 || f[2] != "inet" || f[3] == "loopback" || f[1] == "lo" {
				continue
			}
			m := Manual
			switch f[3] {
			case "dhcp", "bootp":
				m = DHCP
			case "static":
				m = Static
			}
			out = append(out, Iface{Name: f[1], Method: m, System: Ifupdown})
			cur = len(out) - 1
		case "source", "source-directory":
			cur = -1
			for _, p := range f[1:] {
				srcs = append(srcs, source{pattern: p, dir: f[0] == "source-directory"})
			}
		case "auto", "mapping", "no-auto-down", "no-scripts", "rename":
			cur = -1
		case "address":
			if cur >= 0 && len(f) > 1 {
				a := f[1]
				out[cur].Addresses = append(out[cur].Addresses, a)
			}
		default:
			if strings.HasPrefix(f[0], "allow-") {
				cur = -1
			}
		}
	}
	return out, srcs
}

// ini parses the INI dialect of NetworkManager keyfiles and systemd
// units: [section], key=value, '#' and ';' comments; repeated keys kept.
func ini(data []byte) map[string][][2]string {
	out := map[string][][2]string{}
	sec := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			sec = strings.ToLower(strings.TrimSpace(line[1 : len(line)-1]))
			if _, ok := out[sec]; !ok {
				out[sec] = nil
			}
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		out[sec] = append(out[sec], [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
	}
	return out
}

func get(sec [][2]string, key string) (string, bool) {
	v, ok := "", false
	for _, kv := range sec {
		if kv[0] == key {
			v, ok = kv[1], true
		}
	}
	return v, ok
}

// ParseNMKeyfile parses a NetworkManager keyfile (.nmconnection): its
// interface-name and [ipv4] method (auto, the default, is DHCP). ok is
// false for files that are not a connection or are loopback.
func ParseNMKeyfile(data []byte) (Iface, bool) {
	s := ini(data)
	conn, ok := s["connection"]
	if !ok {
		return Iface{}, false
	}
	typ, _ := get(conn, "type")
	if typ == "loopback" {
		return Iface{}, false
	}
	i := Iface{System: NetworkManager, Method: DHCP}
	i.Name, _ = get(conn, "interface-name")
	if mac, _ := get(s["ethernet"], "mac-address"); mac != "" {
		i.MAC = strings.ToLower(mac)
	}
	ip4 := s["ipv4"]
	method, _ := get(ip4, "method")
	for _, kv := range ip4 {
		if strings.HasPrefix(kv[0], "address") {
			a, _, _ := strings.Cut(kv[1], ",")
			i.Addresses = append(i.Addresses, a)
		}
	}
	switch method {
	case "", "auto":
		i.Method = DHCP
	case "manual":
		i.Method = Static
	default:
		i.Method = Manual
	}
	return i, true
}

// ParseIfcfg parses a RHEL or SUSE ifcfg-NAME file: DEVICE (else the
// file's name), BOOTPROTO (dhcp, dhcp4, dhcp+autoip, bootp are DHCP),
// IPADDR/IPADDR0.
func ParseIfcfg(data []byte, name string) Iface {
	v := map[string]string{}
	bootcfg.ParseShellVars(data, v)
	i := Iface{Name: name, System: Ifcfg, Method: Manual}
	if d := v["DEVICE"]; d != "" {
		i.Name = d
	}
	i.MAC = strings.ToLower(v["HWADDR"])
	for _, k := range []string{"IPADDR", "IPADDR0", "IPADDR_0"} {
		if a := v[k]; a != "" {
			if p := v["PREFIX"]; p != "" && !strings.Contains(a, "/") {
				a += "/" + p
			}
			i.Addresses = append(i.Addresses, a)
		}
	}
	switch bp := strings.ToLower(v["BOOTPROTO"]); {
	case strings.HasPrefix(bp, "dhcp"), bp == "bootp":
		i.Method = DHCP
	case len(i.Addresses) > 0:
		i.Method = Static
	}
	return i
}

// ParseNetworkd parses a systemd-networkd .network file: [Match] Name=,
// [Network] DHCP= and Address=, [Address] Address=. ok is false for files
// that cannot apply to an Ethernet NIC: containers (Virtualization=),
// other link types (Type= other than ether, Kind=, WLANInterfaceType=, SSID=).
func ParseNetworkd(data []byte) (Iface, bool) {
	s := ini(data)
	match := s["match"]
	if v, ok := get(match, "Virtualization"); ok && v != "" && v != "no" && v != "false" && v != "!container" {
		return Iface{}, false
	}
	// Files for other kinds of link (Debian's systemd ships 80-wifi-*,
	// 80-vm-vt for veth, 80-6rd-tunnel for sit) never apply to Azure's NIC.
	if t, ok := get(match, "Type"); ok && t != "" && t != "ether" {
		return Iface{}, false
	}
	for _, k := range []string{"Kind", "WLANInterfaceType", "SSID"} {
		if v, ok := get(match, k); ok && v != "" {
			return Iface{}, false
		}
	}
	i := Iface{System: Networkd, Method: Manual}
	var names []string
	for _, kv := range match {
		if kv[0] == "Name" {
			names = append(names, strings.Fields(kv[1])...)
		}
	}
	i.Name = strings.Join(names, " ")
	if mac, _ := get(match, "MACAddress"); mac != "" {
		i.MAC = strings.ToLower(strings.Fields(mac)[0])
	}
	if i.Name == "" {
		i.Name = "*"
	}
	if i.Name == "lo" {
		return Iface{}, false
	}
	netw := s["network"]
	for _, kv := range append(append([][2]string(nil), netw...), s["address"]...) {
		if kv[0] == "Address" && strings.Contains(kv[1], ".") {
			i.Addresses = append(i.Addresses, kv[1])
		}
	}
	dhcp, _ := get(netw, "DHCP")
	switch strings.ToLower(dhcp) {
	case "yes", "true", "ipv4", "both", "1", "on":
		i.Method = DHCP
	default:
		if len(i.Addresses) > 0 {
			i.Method = Static
		}
	}
	return i, true
}

var (
	ruleAddr = regexp.MustCompile(`ATTRS?\{address\}=="([^"]*)"`)
	ruleName = regexp.MustCompile(`(?:^|[ ,])NAME:?="([^"]*)"`)
)

// ParsePersistentNet reads udev's 70-persistent-net.rules: the rules that
// bind a MAC address (ATTR{address}==) to an interface name (NAME=).
func ParsePersistentNet(data []byte) []Binding {
	var out []Binding
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		a := ruleAddr.FindStringSubmatch(line)
		n := ruleName.FindStringSubmatch(line)
		if a != nil && n != nil {
			out = append(out, Binding{MAC: strings.ToLower(a[1]), Name: n[1]})
		}
	}
	return out
}
