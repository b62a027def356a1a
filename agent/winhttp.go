package agent

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/registry"
)

// Where Windows keeps the machine-wide WinHTTP proxy (netsh winhttp set
// proxy) and the machine environment.
const (
	regInternetConnections = `SOFTWARE\Microsoft\Windows\CurrentVersion\Internet Settings\Connections`
	regWinHTTPValue        = "WinHttpSettings"
	regMachineEnvironment  = `SYSTEM\CurrentControlSet\Control\Session Manager\Environment`
)

// WinHTTPSettings is the parsed WinHttpSettings value.
type WinHTTPSettings struct {
	// Version is the layout version netsh wrote (0x18, 0x28, ...).
	Version uint32
	// Flags: 1 direct, 2 a fixed proxy, 4 a setup script, 8 auto-detect.
	Flags uint32
	// Proxy is the proxy list ("host:port" or "http=host:port;https=..."),
	// empty for direct access. Bypass is the bypass list ("<local>;*.corp").
	Proxy, Bypass string
}

// maxWinHTTPString caps a length field of the blob: the value is a few
// hundred bytes in practice, and a corrupt length must not allocate much.
const maxWinHTTPString = 32 << 10

// ParseWinHTTPSettings parses the REG_BINARY WinHttpSettings value
// (undocumented; the layout netsh writes, as described by vbfox/proxyconf):
// little-endian u32 version, u32 change counter, u32 flags, then u32
// length and ASCII proxy list, u32 length and ASCII bypass list. Missing
// trailing fields are empty; anything after the bypass list is ignored.
// A length that runs past the end is an error.
func ParseWinHTTPSettings(b []byte) (WinHTTPSettings, error) {
	if len(b) < 12 {
		return WinHTTPSettings{}, fmt.Errorf("WinHttpSettings: %d bytes, want at least 12", len(b))
	}
	w := WinHTTPSettings{Version: binary.LittleEndian.Uint32(b[0:]), Flags: binary.LittleEndian.Uint32(b[8:])}
	rest := b[12:]
	readStr := func(what string) (string, error) {
		if len(rest) == 0 {
			return "", nil
		}
		if len(rest) < 4 {
			return "", fmt.Errorf("WinHttpSettings: %s length cut short", what)
		}
		n := binary.LittleEndian.Uint32(rest)
		rest = rest[4:]
		if n > maxWinHTTPString || uint64(n) > uint64(len(rest)) {
			return "", fmt.Errorf("WinHttpSettings: %s length %d runs past the end (%d bytes left)", what, n, len(rest))
		}
		s := strings.ToValidUTF8(strings.TrimRight(string(rest[:n]), "\x00"), "?")
		rest = rest[n:]
		return s, nil
	}
	var err error
	if w.Proxy, err = readStr("proxy"); err != nil {
		return WinHTTPSettings{}, err
	}
	if w.Bypass, err = readStr("bypass list"); err != nil {
		return WinHTTPSettings{}, err
	}
	if w.Flags&2 == 0 {
		// Direct access: a proxy string left behind is not used.
		w.Proxy = ""
	}
	return w, nil
}

// ProxyFor returns the proxy WinHTTP uses for a scheme ("http", "https"):
// the "scheme=" entry of the list, else the entry without a scheme.
func (w WinHTTPSettings) ProxyFor(scheme string) string {
	plain := ""
	for _, e := range strings.Split(w.Proxy, ";") {
		e = strings.TrimSpace(e)
		if k, v, ok := strings.Cut(e, "="); ok {
			if strings.EqualFold(k, scheme) {
				return strings.TrimSpace(v)
			}
			continue
		}
		if plain == "" {
			plain = e
		}
	}
	return plain
}

// Bypassed reports whether WinHTTP sends a request to host directly: an
// entry of the bypass list matching it ("*" wildcards), or "<local>" for a
// name without dots.
func (w WinHTTPSettings) Bypassed(host string) bool {
	for _, e := range strings.Split(w.Bypass, ";") {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case e == "":
		case e == "<local>":
			if !strings.Contains(host, ".") {
				return true
			}
		default:
			if ok, _ := path.Match(e, strings.ToLower(host)); ok {
				return true
			}
		}
	}
	return false
}

// windowsProxies reads the WinHTTP proxy (what the agent's service uses)
// and the machine environment's proxy variables from the registry.
func windowsProxies(reg registry.Reader) (ps []ProxySetting, w WinHTTPSettings, problems []string) {
	src := `HKLM\` + regInternetConnections + `\` + regWinHTTPValue
	b, err := reg.Binary(regInternetConnections, regWinHTTPValue)
	switch {
	case err == nil:
		w, err = ParseWinHTTPSettings(b)
		if err != nil {
			problems = append(problems, err.Error())
			break
		}
		seen := map[string]bool{}
		for _, e := range strings.Split(w.Proxy, ";") {
			if _, v, ok := strings.Cut(e, "="); ok {
				e = v
			}
			if e = strings.TrimSpace(e); e == "" || seen[e] {
				continue
			}
			seen[e] = true
			p := ParseProxy(regWinHTTPValue, src, e)
			p.Agent = true
			ps = append(ps, p)
		}
	case !errors.Is(err, registry.ErrNotFound):
		problems = append(problems, err.Error())
	}
	seen := map[string]bool{}
	for _, k := range proxyVars {
		if seen[strings.ToLower(k)] {
			continue // the registry's value names are not case-sensitive
		}
		seen[strings.ToLower(k)] = true
		v, err := reg.String(regMachineEnvironment, k)
		switch {
		case err == nil && strings.TrimSpace(v) != "":
			ps = append(ps, ParseProxy(strings.ToLower(k), `HKLM\`+regMachineEnvironment, v))
		case err != nil && !errors.Is(err, registry.ErrNotFound):
			problems = append(problems, err.Error())
		}
	}
	return ps, w, problems
}
