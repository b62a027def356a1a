//go:build !windows

package agent

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/agent/agenttest"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/osinfo"
	"github.com/agentkeeper/agentkeeper/platform/proc"
	"github.com/agentkeeper/agentkeeper/platform/registry"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// secret is the proxy password of these tests: it must appear nowhere in
// what agentkeeper prints.
const secret = "S3cr3t-Pa55w0rd"

func TestParseProxy(t *testing.T) {
	tests := []struct {
		raw, masked string
		creds       bool
	}{
		{"proxy.corp:3128", "http://proxy.corp:3128", false},
		{"http://proxy.corp:3128/", "http://proxy.corp:3128", false},
		{"https://10.0.0.5:8443", "https://10.0.0.5:8443", false},
		{"http://alice:" + secret + "@proxy.corp:3128", "http://alice:****@proxy.corp:3128", true},
		{"alice:" + secret + "@proxy.corp:3128", "http://alice:****@proxy.corp:3128", true},
		{"http://alice@proxy.corp:3128", "http://alice@proxy.corp:3128", true},
		{"http://alice:" + secret + "/x@proxy.corp:3128", "****@proxy.corp:3128 (not a valid proxy URL)", true},
		{"http://alice:123/" + secret + "@proxy.corp", "****@proxy.corp (not a valid proxy URL)", true},
		{"http://a:b:" + secret + "@@proxy", "http://a:****@proxy", true},
		{"http://%zz", "%zz (not a valid proxy URL)", false},
	}
	for _, tc := range tests {
		p := ParseProxy("http_proxy", "test", tc.raw)
		if p.Masked != tc.masked || p.Credentials != tc.creds {
			t.Errorf("ParseProxy(%q) = %q creds %v, want %q %v", tc.raw, p.Masked, p.Credentials, tc.masked, tc.creds)
		}
		if p.URL != nil && p.URL.User != nil {
			t.Errorf("ParseProxy(%q).URL keeps the user info", tc.raw)
		}
		if strings.Contains(p.String(), secret) || strings.Contains(fmt.Sprintf("%+v", p.URL), secret) {
			t.Errorf("ParseProxy(%q) shows the password: %s", tc.raw, p)
		}
	}
}

func FuzzParseProxy(f *testing.F) {
	f.Add("http", "alice", secret, "proxy.corp:3128")
	f.Add("", "a/b", "p@ss:w/rd", "h")
	f.Fuzz(func(t *testing.T, scheme, user, pass, host string) {
		raw := user + ":" + pass + "@" + host
		if scheme != "" {
			raw = scheme + "://" + raw
		}
		p := ParseProxy("http_proxy", "fuzz", raw)
		if !p.Credentials {
			t.Fatalf("%q: credentials not seen", raw)
		}
		// The password must not show, unless it is also part of what may
		// show (the host or the user name) or too short to tell.
		if len(pass) >= 4 && !strings.Contains(host, pass) && !strings.Contains(user, pass) && !strings.Contains(scheme, pass) &&
			!strings.Contains("****@ (not a valid proxy URL)http://", pass) && strings.Contains(p.String(), pass) {
			t.Fatalf("%q: masked %q shows the password", raw, p.Masked)
		}
	})
}

func TestUnitEnvironmentAndParsers(t *testing.T) {
	es, err := ParseUnit([]byte("# c\n[Unit]\nDescription=x\n[Service]\nEnvironment=\"http_proxy=http://p:3128\" \\\n  # comment inside\n  NO_PROXY=168.63.129.16\nExecStart=/usr/sbin/waagent -daemon\n"))
	if err != nil || len(es) != 3 || es[1].Key != "Environment" || !strings.Contains(es[1].Value, "NO_PROXY=168.63.129.16") {
		t.Fatalf("ParseUnit = %+v, %v", es, err)
	}
	for _, bad := range []string{"Environment=x\n", "[Service]\njust words\n", "[Service\n", "\x00"} {
		if _, err := ParseUnit([]byte(bad)); err == nil {
			t.Errorf("ParseUnit(%q) accepted", bad)
		}
	}
	as, err := SplitEnvironment(`"http_proxy=http://a b" 'X=1 2' Y=\"q NOEQUALS https_proxy="http://h:1"`)
	if err != nil || strings.Join(as, "|") != `http_proxy=http://a b|X=1 2|Y="q|https_proxy=http://h:1` {
		t.Errorf("SplitEnvironment = %q, %v", as, err)
	}
	if _, err := SplitEnvironment(`"unterminated`); err == nil {
		t.Error("unterminated quote accepted")
	}
	kvs, _ := ParseEnvFile([]byte("# c\nPATH=\"/usr/bin\"\nexport http_proxy='http://p:1'\nnot an assignment\n"))
	if len(kvs) != 2 || kvs[1] != [2]string{"http_proxy", "http://p:1"} {
		t.Errorf("ParseEnvFile = %q", kvs)
	}
}

func FuzzParseUnit(f *testing.F) {
	f.Add([]byte("[Service]\nEnvironment=\"http_proxy=http://u:p@h:1\" NO_PROXY=x \\\n  Y=2\nEnvironmentFile=-/etc/default/waagent\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, _ := ParseUnit(data)
		for _, e := range es {
			if e.Key == "" || e.Section == "" {
				t.Fatalf("empty key or section: %+v", e)
			}
			as, err := SplitEnvironment(e.Value)
			if err == nil {
				for _, a := range as {
					if !strings.Contains(a, "=") || strings.HasPrefix(a, "=") {
						t.Fatalf("bad assignment %q", a)
					}
				}
			}
		}
		ParseEnvFile(data)
	})
}

// proxyImage is the Debian image fixture with the files given added.
func proxyImage(t *testing.T, files map[string]string) *Report {
	t.Helper()
	img := agenttest.DebianImage("2.7.3.0-4.1")
	for k, v := range files {
		img[k] = v
	}
	return inspectTree(t, img, nil)
}

func TestNetworkProxyLinux(t *testing.T) {
	dropin := "etc/systemd/system/walinuxagent.service.d/proxy.conf"
	tests := []struct {
		desc   string
		files  map[string]string
		status Status
		want   []string
	}{
		{"no proxy", nil, StatusPass, []string{"connects directly"}},
		{"waagent.conf proxy", map[string]string{"etc/waagent.conf": "Extensions.Enabled=y\nHttpProxy.Host=proxy.corp\nHttpProxy.Port=3128\n"},
			StatusPass, []string{"HttpProxy.Host=http://proxy.corp:3128", "Python 3.11"}},
		{"drop-in with credentials", map[string]string{dropin: "[Service]\nEnvironment=\"http_proxy=http://alice:" + secret + "@proxy.corp:3128\"\n"},
			StatusFail, []string{"http_proxy=http://alice:****@proxy.corp:3128", "Environment= in", "does not support an authenticated proxy"}},
		{"credentials in an EnvironmentFile", map[string]string{dropin: "[Service]\nEnvironmentFile=-/etc/default/waagent\n",
			"etc/default/waagent": "https_proxy=http://bob:" + secret + "@p:8080\n"}, StatusFail, []string{"EnvironmentFile=", "bob:****@p:8080"}},
		{"Environment= reset by a later drop-in", map[string]string{dropin: "[Service]\nEnvironment=http_proxy=http://p:3128\n",
			"etc/systemd/system/walinuxagent.service.d/zz-reset.conf": "[Service]\nEnvironment=\n"}, StatusPass, []string{"connects directly"}},
		{"login environment only", map[string]string{"etc/environment": "http_proxy=http://p:3128\n"}, StatusPass,
			[]string{"connects directly", "is not used by the agent's service"}},
		{"credentials in /etc/environment", map[string]string{"etc/environment": "HTTPS_PROXY=\"http://carol:" + secret + "@p:3128\"\n"}, StatusFail,
			[]string{"carol:****@p:3128"}},
		{"proxy with Python 2.6", map[string]string{
			"usr/lib/systemd/system/walinuxagent.service":                 "[Service]\nExecStart=/usr/bin/python2.6 -u /usr/sbin/waagent -daemon\n",
			"usr/bin/python2.6":                                           "ELF",
			"usr/lib/python2.6/site-packages/azurelinuxagent/__init__.py": "",
			"etc/waagent.conf":                                            "Extensions.Enabled=y\nHttpProxy.Host=proxy.corp\nHttpProxy.Port=3128\n",
		}, StatusFail, []string{"Python 2.6", "2.7 or later"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			r := proxyImage(t, tc.files)
			c := wantCheck(t, r, IDNetworkProxy, tc.status, "")
			for _, w := range tc.want {
				if !strings.Contains(c.Message, w) {
					t.Errorf("message %q does not mention %q", c.Message, w)
				}
			}
		})
	}
}

// TestProxyPasswordNeverShown puts the password in every place a proxy is
// read from, with debug logging on, and looks for it in the JSON report
// and the log.
func TestProxyPasswordNeverShown(t *testing.T) {
	img := agenttest.DebianImage("2.7.3.0-4.1")
	img["etc/waagent.conf"] = "Extensions.Enabled=y\nHttpProxy.Host=http://u:" + secret + "@proxy.corp\nHttpProxy.Port=3128\n"
	img["etc/systemd/system/walinuxagent.service.d/proxy.conf"] = "[Service]\nEnvironment=\"http_proxy=http://u:" + secret + "@p:1\" https_proxy=u:" + secret + "@p:2\n"
	img["etc/environment"] = "http_proxy=http://u:" + secret + "/x@p:3\n"
	dir := t.TempDir()
	agenttest.Tree(t, dir, img)
	var logs bytes.Buffer
	o := Options{Root: fsroot.New(dir), Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Runner: &run.Fake{Respond: func(run.Cmd) (run.Result, error) { return run.Result{ExitCode: 127}, nil }}}
	r := Inspect(context.Background(), o)
	out, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte(secret)) || bytes.Contains(logs.Bytes(), []byte(secret)) {
		t.Fatalf("the proxy password is shown:\nreport %s\nlog %s", out, logs.Bytes())
	}
	if c, _ := r.Check(IDNetworkProxy); c.Status != StatusFail || strings.Count(c.Message, "****") < 3 {
		t.Errorf("network.proxy = %+v", c)
	}
	if !bytes.Contains(logs.Bytes(), []byte("proxy setting")) {
		t.Errorf("no proxy setting logged at debug level: %s", logs.Bytes())
	}
}

func TestAgentHTTPProxyBypass(t *testing.T) {
	ps := []ProxySetting{ParseProxy("http_proxy", "x", "http://p:3128")}
	ps[0].Agent = true
	for _, tc := range []struct {
		noProxy string
		via     bool
	}{{"", true}, {"168.63.129.16", false}, {"168.63.0.0/16", false}, {"10.0.0.0/8,localhost", true}, {" 168.63.129.16 , x", false}} {
		if _, ok := agentHTTPProxy(ps, tc.noProxy, "168.63.129.16"); ok != tc.via {
			t.Errorf("no_proxy %q: via proxy %v, want %v", tc.noProxy, ok, tc.via)
		}
	}
}

// TestWireServerThroughAgentProxy: on a live Azure VM the WireServer is
// asked through the agent's proxy. The proxy is a loopback server that
// answers for the (unreachable) WireServer address.
func TestWireServerThroughAgentProxy(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.String()+" auth="+r.Header.Get("Proxy-Authorization"))
		mu.Unlock()
		fmt.Fprint(w, "<Versions/>")
	}))
	defer proxy.Close()
	pu, _ := url.Parse(proxy.URL)
	o := Options{
		Root:      fsroot.New("/"),
		Runner:    &run.Fake{Respond: func(run.Cmd) (run.Result, error) { return run.Result{ExitCode: 1}, nil }},
		OnAzure:   func(fsroot.Root) (bool, error) { return true, nil },
		Processes: func() ([]proc.Process, error) { return nil, nil },
		Endpoints: Endpoints{WireServer: "http://127.0.0.1:1", HostGAPlugin: "http://127.0.0.1:1", IMDS: "http://127.0.0.1:1", Timeout: time.Second},
		agentProxy: func(host string) (ProxySetting, bool) {
			p := ParseProxy("http_proxy", "test", "http://alice:"+secret+"@"+pu.Host)
			return p, host == "127.0.0.1"
		},
	}
	r := Inspect(context.Background(), o)
	c := wantCheck(t, r, IDNetworkWireServer, StatusPass, "via the agent's proxy http://alice:****@"+pu.Host)
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0] != "GET http://127.0.0.1:1/?comp=versions auth=" {
		t.Errorf("proxy saw %q, want one GET of the WireServer without credentials", seen)
	}
	if strings.Contains(c.Message, secret) {
		t.Errorf("password shown: %s", c.Message)
	}
	wantCheck(t, r, IDNetworkHostGAPlugin, StatusFail, "")
}

// winHTTPBlob builds a WinHttpSettings value as netsh writes it.
func winHTTPBlob(flags uint32, proxy, bypass string) []byte {
	var b bytes.Buffer
	for _, v := range []uint32{0x28, 7, flags} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	binary.Write(&b, binary.LittleEndian, uint32(len(proxy)))
	b.WriteString(proxy)
	binary.Write(&b, binary.LittleEndian, uint32(len(bypass)))
	b.WriteString(bypass)
	return b.Bytes()
}

func TestParseWinHTTPSettings(t *testing.T) {
	direct := []byte{0x18, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	w, err := ParseWinHTTPSettings(direct)
	if err != nil || w.Proxy != "" || w.Flags != 1 {
		t.Errorf("direct: %+v, %v", w, err)
	}
	w, err = ParseWinHTTPSettings(winHTTPBlob(3, "http=web:3128;https=sec:8443", "<local>;*.corp;168.63.*"))
	if err != nil || w.ProxyFor("http") != "web:3128" || w.ProxyFor("https") != "sec:8443" || !w.Bypassed("168.63.129.16") || !w.Bypassed("intranet") || w.Bypassed("example.com") {
		t.Errorf("list: %+v, %v", w, err)
	}
	w, _ = ParseWinHTTPSettings(winHTTPBlob(3, "web:3128", ""))
	if w.ProxyFor("http") != "web:3128" || w.Bypassed("168.63.129.16") {
		t.Errorf("plain: %+v", w)
	}
	for _, bad := range [][]byte{nil, direct[:8], append(winHTTPBlob(3, "p:1", "")[:16], 'x'), {0x28, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, direct[:14]} {
		if _, err := ParseWinHTTPSettings(bad); err == nil {
			t.Errorf("ParseWinHTTPSettings(% x) accepted", bad)
		}
	}
}

func FuzzParseWinHTTPSettings(f *testing.F) {
	f.Add(winHTTPBlob(3, "http=web:3128;https=sec:8443", "<local>"))
	f.Add([]byte{0x18, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := ParseWinHTTPSettings(b)
		if err != nil {
			return
		}
		if len(w.Proxy)+len(w.Bypass) > len(b) {
			t.Fatalf("strings longer than the value: %+v", w)
		}
		w.ProxyFor("http")
		w.Bypassed("168.63.129.16")
	})
}

func TestNetworkProxyWindows(t *testing.T) {
	conn := regInternetConnections
	tests := []struct {
		desc   string
		reg    registry.Fake
		status Status
		want   string
	}{
		{"no WinHTTP proxy", registry.Fake{conn: {regWinHTTPValue: []byte{0x18, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}}, StatusPass, "connects directly"},
		{"WinHTTP proxy", registry.Fake{conn: {regWinHTTPValue: winHTTPBlob(3, "web:3128", "<local>")}}, StatusPass, "WinHttpSettings=http://web:3128"},
		{"WinHTTP proxy with credentials", registry.Fake{conn: {regWinHTTPValue: winHTTPBlob(3, "u:"+secret+"@web:3128", "")}}, StatusFail, "u:****@web:3128"},
		{"machine environment with credentials", registry.Fake{regMachineEnvironment: {"HTTP_PROXY": "http://u:" + secret + "@web:3128"}}, StatusFail, "http_proxy=http://u:****@web:3128"},
		{"corrupt WinHTTP value", registry.Fake{conn: {regWinHTTPValue: []byte{1, 2, 3}}}, StatusWarn, "could not read"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			tg := &Target{Root: fsroot.New(t.TempDir()), Live: true, OS: osinfo.Info{Family: FamilyWindows}, Report: &Report{},
				Registry: tc.reg, Log: slog.New(slog.DiscardHandler)}
			c := networkProxyProbe(context.Background(), tg)
			if c.Status != tc.status || !strings.Contains(c.Message, tc.want) || strings.Contains(c.Message, secret) {
				t.Errorf("%s %q, want %s mentioning %q", c.Status, c.Message, tc.status, tc.want)
			}
		})
	}
	tg := &Target{Root: fsroot.New(t.TempDir()), OS: osinfo.Info{Family: FamilyWindows}, Report: &Report{}, Registry: registry.Fake{}}
	if c := networkProxyProbe(context.Background(), tg); c.Status != StatusSkip {
		t.Errorf("offline Windows image: %+v", c)
	}
}
