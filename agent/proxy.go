package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// The proxy rules of Azure Backup (backup-azure-vms-troubleshoot.md,
// azure-agent-facts.md): an authenticated proxy is not supported, and the
// Linux agent needs Python 2.7 or later behind a proxy. The Linux agent
// takes HttpProxy.Host/Port from waagent.conf before http_proxy/https_proxy
// from its environment and never sends credentials (WALinuxAgent
// azurelinuxagent/common/utils/restutil.py _get_http_proxy).

// PathEnvironment is pam_env's system-wide environment file.
const PathEnvironment = "/etc/environment"

// proxyVars are the environment variables the agent reads for a proxy.
var proxyVars = []string{"http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"}

// ProxySetting is one configured proxy. Its raw text is kept unexported and
// never rendered: Masked is what reports, logs and JSON may show.
type ProxySetting struct {
	// Name is the setting: HttpProxy.Host, http_proxy, WinHttpSettings, ...
	Name string
	// Source is the file or registry value it was read from.
	Source string
	// Agent is true when the agent itself uses it (waagent.conf, the
	// agent unit's environment, WinHTTP); false for a login environment.
	Agent bool
	// Masked is the proxy with any password replaced by "****".
	Masked string
	// Credentials is true when the proxy carries a user name or password.
	Credentials bool
	// URL is the proxy without credentials ("http://host:port"); nil when
	// it cannot be parsed.
	URL *url.URL

	raw string
}

func (p ProxySetting) String() string { return p.Name + "=" + p.Masked + " (" + p.Source + ")" }

// ParseProxy reads a proxy value as the agent and curl-like tools take it:
// "host:port", "http://host:port", "http://user:password@host:port". The
// result never holds the password in a rendered field.
func ParseProxy(name, source, raw string) ProxySetting {
	p := ProxySetting{Name: name, Source: source, raw: raw}
	v := strings.TrimSpace(raw)
	s := v
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User == nil && strings.Contains(v, "@") {
		// Not a URL the agent can use (or an "@" outside the user info, as
		// in a password holding "/"): everything before the last "@" is
		// taken as credentials and masked.
		if i := strings.LastIndex(v, "@"); i >= 0 {
			host := v[i+1:]
			if j := strings.IndexAny(host, "/?#"); j >= 0 {
				host = host[:j]
			}
			p.Credentials = true
			p.Masked = "****@" + clip(host, 80) + " (not a valid proxy URL)"
			return p
		}
		auth := v
		if i := strings.Index(auth, "://"); i >= 0 {
			auth = auth[i+3:]
		}
		if i := strings.IndexAny(auth, "/?#"); i >= 0 {
			auth = auth[:i]
		}
		p.Masked = clip(auth, 80) + " (not a valid proxy URL)"
		return p
	}
	clean := &url.URL{Scheme: u.Scheme, Host: u.Host}
	p.URL = clean
	if u.User != nil {
		p.Credentials = true
		user := u.User.Username()
		if len(user) > 40 {
			user = "…"
		}
		p.Masked = u.Scheme + "://" + url.PathEscape(user) + ":****@" + u.Host
		if _, has := u.User.Password(); !has {
			p.Masked = u.Scheme + "://" + url.PathEscape(user) + "@" + u.Host
		}
		return p
	}
	p.Masked = clean.String()
	return p
}

// bypassProxy reports whether host is in a no_proxy list as the agent reads
// it (restutil.bypass_proxy): IPs match exactly or by CIDR, names by suffix.
func bypassProxy(host, noProxy string) bool {
	for _, e := range strings.Split(strings.ReplaceAll(noProxy, " ", ""), ",") {
		if e == "" {
			continue
		}
		if ip := net.ParseIP(host); ip != nil {
			if _, n, err := net.ParseCIDR(e); err == nil && n.Contains(ip) {
				return true
			}
			if e == host {
				return true
			}
			continue
		}
		if strings.HasSuffix(strings.ToLower(host), strings.ToLower(e)) {
			return true
		}
	}
	return false
}

// linuxProxies collects every proxy setting that concerns the agent, in
// the agent's order of preference: waagent.conf, then the agent unit's
// environment (Environment= and EnvironmentFile= of the unit and its
// drop-ins), then /etc/environment (seen by login sessions, not by the
// unit). noProxy is the unit's no_proxy. Files that cannot be read are
// returned as problems (never with their content).
func linuxProxies(r fsroot.Root, unit string) (ps []ProxySetting, noProxy string, problems []string) {
	if data, err := r.ReadFile(PathWaagentConf, fsroot.MaxSmallFile); err == nil {
		if c, err := ParseWaagentConf(data); err == nil {
			host, _ := c.Get("HttpProxy.Host")
			port, _ := c.Get("HttpProxy.Port")
			if host != "" && !strings.EqualFold(host, "None") {
				raw := host
				if port != "" && !strings.EqualFold(port, "None") {
					raw += ":" + port
				}
				ps = append(ps, ParseProxy("HttpProxy.Host", r.Join(PathWaagentConf), raw))
				ps[len(ps)-1].Agent = true
			}
		}
	}
	if unit != "" {
		env, src, errs := unitEnvironment(r, unit)
		problems = append(problems, errs...)
		for _, k := range proxyVars {
			if v, ok := env[k]; ok && strings.TrimSpace(v) != "" {
				p := ParseProxy(k, src[k], v)
				p.Agent = true
				ps = append(ps, p)
			}
		}
		noProxy = env["no_proxy"]
		if noProxy == "" {
			noProxy = env["NO_PROXY"]
		}
	}
	data, err := r.ReadFile(PathEnvironment, fsroot.MaxSmallFile)
	switch {
	case err == nil:
		kvs, err := ParseEnvFile(data)
		if err != nil {
			problems = append(problems, r.Join(PathEnvironment)+": "+err.Error())
		}
		last := map[string]string{}
		for _, kv := range kvs {
			last[kv[0]] = kv[1]
		}
		for _, k := range proxyVars {
			if v, ok := last[k]; ok && strings.TrimSpace(v) != "" {
				ps = append(ps, ParseProxy(k, r.Join(PathEnvironment), v))
			}
		}
	case !errors.Is(err, fs.ErrNotExist):
		problems = append(problems, err.Error())
	}
	return ps, noProxy, problems
}

// unitEnvironment works out the environment systemd gives the unit from
// Environment= and EnvironmentFile= in the unit file and its drop-ins,
// applied in order (an empty Environment= resets what came before). src
// names the file each variable came from.
func unitEnvironment(r fsroot.Root, unit string) (env, src map[string]string, problems []string) {
	env, src = map[string]string{}, map[string]string{}
	var files []string
	for _, s := range unitFiles(r, unit) {
		if s.err != nil {
			problems = append(problems, s.err.Error())
		}
		for _, e := range s.entries {
			if e.Section != "Service" {
				continue
			}
			switch e.Key {
			case "Environment":
				if e.Value == "" {
					env, src = map[string]string{}, map[string]string{}
					continue
				}
				as, err := SplitEnvironment(e.Value)
				if err != nil {
					problems = append(problems, fmt.Sprintf("%s line %d: Environment=: %v", r.Join(s.path), e.Line, err))
					continue
				}
				for _, a := range as {
					k, v, _ := strings.Cut(a, "=")
					env[k], src[k] = v, "Environment= in "+r.Join(s.path)
				}
			case "EnvironmentFile":
				if e.Value == "" {
					files = nil
					continue
				}
				files = append(files, e.Value)
			}
		}
	}
	// systemd reads the EnvironmentFile= files after the Environment= lines
	// and lets them override those.
	for _, f := range files {
		optional := strings.HasPrefix(f, "-")
		f = strings.TrimPrefix(f, "-")
		if !strings.HasPrefix(f, "/") {
			continue
		}
		data, err := r.ReadFile(path.Clean(f), fsroot.MaxSmallFile)
		if err != nil {
			if !optional || !errors.Is(err, fs.ErrNotExist) {
				problems = append(problems, err.Error())
			}
			continue
		}
		kvs, err := ParseEnvFile(data)
		if err != nil {
			problems = append(problems, r.Join(f)+": "+err.Error())
		}
		for _, kv := range kvs {
			env[kv[0]], src[kv[0]] = kv[1], "EnvironmentFile="+r.Join(f)
		}
	}
	return env, src, problems
}

// agentHTTPProxy returns the proxy the Linux agent uses for a plain-HTTP
// request to host (the WireServer): HttpProxy.Host first, then the unit's
// http_proxy / HTTP_PROXY, unless no_proxy bypasses the host.
func agentHTTPProxy(ps []ProxySetting, noProxy, host string) (ProxySetting, bool) {
	if bypassProxy(host, noProxy) {
		return ProxySetting{}, false
	}
	for _, name := range []string{"HttpProxy.Host", "http_proxy", "HTTP_PROXY", "WinHttpSettings"} {
		for _, p := range ps {
			if p.Agent && p.Name == name && p.URL != nil {
				return p, true
			}
		}
	}
	return ProxySetting{}, false
}

// networkProxyProbe judges the proxy the agent will use: credentials fail
// (Azure Backup does not support an authenticated proxy), and on Linux a
// proxy without Python 2.7 or later fails. The password is never shown.
func networkProxyProbe(_ context.Context, t *Target) Check {
	var (
		ps       []ProxySetting
		problems []string
	)
	if t.OS.Family == FamilyWindows {
		if !t.Live {
			return Check{Status: StatusSkip, Message: "offline Windows image: the WinHTTP proxy and the machine environment are in the registry, which is read only on the running system"}
		}
		ps, _, problems = windowsProxies(t.Registry)
	} else {
		ps, _, problems = linuxProxies(t.Root, t.Report.Agent.Service)
	}
	for _, p := range ps {
		if t.Log == nil {
			break
		}
		t.Log.Debug("proxy setting", "name", p.Name, "proxy", p.Masked, "source", p.Source, "agent", p.Agent)
	}
	var creds, agentSide, login []string
	for _, p := range ps {
		if p.Credentials {
			creds = append(creds, p.String())
		}
		if p.Agent {
			agentSide = append(agentSide, p.String())
		} else {
			login = append(login, p.String())
		}
	}
	sort.Strings(problems)
	tail := ""
	if len(problems) > 0 {
		tail = "; could not read: " + strings.Join(problems, "; ")
	}
	if len(creds) > 0 {
		return Check{Status: StatusFail,
			Message: "a proxy with credentials is configured: " + strings.Join(creds, ", ") + ": Azure Backup does not support an authenticated proxy" + tail,
			Fix:     "let the agent reach Azure through a proxy that needs no authentication (or none: allow 168.63.129.16 and the Azure endpoints directly), and remove the credentials from the setting"}
	}
	if len(agentSide) == 0 {
		msg := "no proxy configured for the agent: it connects directly"
		if len(login) > 0 {
			msg += "; " + strings.Join(login, ", ") + " is not used by the agent's service"
		}
		st := StatusPass
		if len(problems) > 0 {
			st = StatusWarn
		}
		return Check{Status: st, Message: msg + tail}
	}
	msg := "the agent uses a proxy: " + strings.Join(agentSide, ", ")
	if len(login) > 0 {
		msg += "; also " + strings.Join(login, ", ") + " (not used by the agent's service)"
	}
	if t.OS.Family == FamilyLinux {
		py := findAgentPython(t.Root, t.Report.Agent.Service)
		switch {
		case !py.Exists || py.Major == 0:
			return Check{Status: StatusFail, Message: msg + ": the agent's Python cannot be found, and behind a proxy it must be 2.7 or later" + tail,
				Fix: "install Python 3 and the agent package for it"}
		case py.Major == 2 && py.Minor >= 0 && py.Minor < 7:
			return Check{Status: StatusFail, Message: fmt.Sprintf("%s: the agent runs with Python %s (%s), and behind a proxy it needs 2.7 or later%s", msg, py.Version(), py.Interp, tail),
				Fix: "install Python 3 (or 2.7) and the agent package for it, or let the agent connect without a proxy"}
		case py.Major == 2 && py.Minor < 0:
			return Check{Status: StatusWarn, Message: fmt.Sprintf("%s: the agent runs with %s, whose version is not known; behind a proxy it needs Python 2.7 or later%s", msg, py.Interp, tail),
				Fix: "make sure the agent's Python is 2.7 or later (python2 --version)"}
		}
		msg += fmt.Sprintf(" (Python %s)", py.Version())
	}
	if len(problems) > 0 {
		return Check{Status: StatusWarn, Message: msg + tail, Fix: "make the files named readable so that the agent's proxy can be judged"}
	}
	return Check{Status: StatusPass, Message: msg}
}
