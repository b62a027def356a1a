package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/ensure"
)

// serve runs a daemon on 127.0.0.1:0 whose first check waits for release;
// it returns the base URL.
func serve(t *testing.T, rep *agent.Report, release <-chan struct{}) (string, *harness) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Interval: time.Hour, Inspect: func(ctx context.Context) *agent.Report {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return rep
	}}
	h := start(t, Options{Load: func() (Config, error) { return cfg, nil }, Listener: ln})
	return "http://" + ln.Addr().String(), h
}

var client = &http.Client{Timeout: hangGuard, Transport: &http.Transport{Proxy: nil}}

func get(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHTTP(t *testing.T) {
	withBackup := report("2.9.1.1", true)
	tests := []struct {
		desc        string
		rep         *agent.Report
		readyCode   int
		wantMetrics []string
	}{
		{
			desc: "ready", rep: good, readyCode: 200,
			wantMetrics: []string{
				"agentkeeper_ready 1",
				`agentkeeper_agent_info{package="waagent",version="2.9.1.1"} 1`,
				`agentkeeper_check_status{check="agent.version",status="pass"} 1`,
				`agentkeeper_check_status{check="agent.version",status="fail"} 0`,
				"agentkeeper_backup_running 0",
				"agentkeeper_last_check_timestamp_seconds ",
				`agentkeeper_remediations_total{result="installed"} 0`,
			},
		},
		{
			desc: "not ready, backup running", rep: tooOld, readyCode: 503,
			wantMetrics: []string{
				"agentkeeper_ready 0",
				`agentkeeper_agent_info{package="waagent",version="2.2.0"} 1`,
				`agentkeeper_check_status{check="agent.version",status="fail"} 1`,
				`agentkeeper_check_status{check="agent.version",status="pass"} 0`,
			},
		},
		{
			desc: "backup running", rep: withBackup, readyCode: 200,
			wantMetrics: []string{"agentkeeper_backup_running 1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			release := make(chan struct{})
			base, h := serve(t, tc.rep, release)

			// Before the first check: alive, not ready, JSON says so.
			if code, _ := get(t, "GET", base+"/healthz"); code != 200 {
				t.Errorf("/healthz before the first check: %d, want 200", code)
			}
			code, body := get(t, "GET", base+"/readyz")
			var r struct {
				Ready *bool `json:"ready"`
			}
			if code != 503 || json.Unmarshal([]byte(body), &r) != nil || r.Ready == nil || *r.Ready {
				t.Errorf("/readyz before the first check: %d %s, want 503 with ready false", code, body)
			}

			close(release)
			h.next(t) // the first cycle is published

			code, body = get(t, "GET", base+"/readyz")
			r.Ready = nil
			if code != tc.readyCode || json.Unmarshal([]byte(body), &r) != nil || r.Ready == nil || *r.Ready != tc.rep.Ready {
				t.Errorf("/readyz: %d %s, want %d with ready %v", code, body, tc.readyCode, tc.rep.Ready)
			}
			if code, _ := get(t, "GET", base+"/healthz"); code != 200 {
				t.Errorf("/healthz: %d, want 200", code)
			}
			code, body = get(t, "GET", base+"/metrics")
			if code != 200 {
				t.Errorf("/metrics: %d", code)
			}
			for _, m := range tc.wantMetrics {
				if !strings.Contains(body, "\n"+m) {
					t.Errorf("/metrics lacks %q:\n%s", m, body)
				}
			}
			if strings.Contains(body, "go_goroutines") {
				t.Error("/metrics serves the global registry's Go metrics")
			}
		})
	}
}

func TestHTTPErrors(t *testing.T) {
	release := make(chan struct{})
	close(release)
	base, h := serve(t, good, release)
	h.next(t)
	tests := []struct {
		desc, method, path string
		want               int
	}{
		{desc: "unknown path", method: "GET", path: "/", want: 404},
		{desc: "unknown path below", method: "GET", path: "/metrics/x", want: 404},
		{desc: "POST", method: "POST", path: "/readyz", want: 405},
		{desc: "DELETE", method: "DELETE", path: "/metrics", want: 405},
		{desc: "HEAD is allowed", method: "HEAD", path: "/healthz", want: 200},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if code, _ := get(t, tc.method, base+tc.path); code != tc.want {
				t.Errorf("%s %s: %d, want %d", tc.method, tc.path, code, tc.want)
			}
		})
	}
	t.Run("a 1 MB header is refused with 431", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+"/healthz", nil)
		req.Header.Set("X-Big", strings.Repeat("a", 1<<20))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("status %d, want 431", resp.StatusCode)
		}
	})
	t.Run("a slow client does not block others", func(t *testing.T) {
		addr := strings.TrimPrefix(base, "http://")
		slow, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Close()
		stop := make(chan struct{})
		defer close(stop)
		go func() {
			// Headers one byte at a time, never finished.
			for _, c := range []byte("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ") {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				if _, err := slow.Write([]byte{c}); err != nil {
					return
				}
			}
		}()
		for i := 0; i < 5; i++ {
			if code, _ := get(t, "GET", base+"/readyz"); code != 200 {
				t.Errorf("request %d during a slow client: %d", i, code)
			}
		}
	})
	t.Run("a client that never reads does not block others", func(t *testing.T) {
		addr := strings.TrimPrefix(base, "http://")
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		w := bufio.NewWriter(c)
		for i := 0; i < 50; i++ {
			fmt.Fprintf(w, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
		}
		w.Flush()
		if code, _ := get(t, "GET", base+"/healthz"); code != 200 {
			t.Errorf("/healthz: %d", code)
		}
	})
}

func TestHealthzStalled(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	d := New(Options{Now: func() time.Time { return now }})
	d.interval.Store(int64(time.Minute))
	d.beat()
	tests := []struct {
		desc  string
		after time.Duration
		alive bool
	}{
		{desc: "just beat", after: 0, alive: true},
		{desc: "within 2×interval+margin", after: 2*time.Minute + healthMargin, alive: true},
		{desc: "beyond", after: 2*time.Minute + healthMargin + time.Second, alive: false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			d.o.Now = func() time.Time { return now.Add(tc.after) }
			if got := d.Alive(); got != tc.alive {
				t.Errorf("Alive() = %v, want %v", got, tc.alive)
			}
		})
	}
}

// TestOwnLimitReported: a report spoiled by agentkeeper's own limits (a
// check that could not open its file: too many open files) is an internal
// error on every endpoint, is not published as readiness, and triggers no
// remediation even though the agent looks missing.
func TestOwnLimitReported(t *testing.T) {
	spoiled := report("", false, "agent.installed", "agent.version")
	spoiled.Checks[1].Message = "cannot read the package database: open /var/lib/dpkg/status: too many open files"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Interval: time.Hour, InstallAuto: true,
		Inspect: func(context.Context) *agent.Report { return spoiled },
		Plan:    plan,
		Ensure: func(context.Context, string) *ensure.Result {
			t.Error("remediation ran on a report spoiled by agentkeeper's own limits")
			return &ensure.Result{Outcome: "failed"}
		}}
	h := start(t, Options{Load: func() (Config, error) { return cfg, nil }, Listener: ln})
	if wait := h.next(t); wait != time.Minute {
		t.Errorf("wait after a spoiled cycle = %s, want the retry base 1m", wait)
	}
	base := "http://" + ln.Addr().String()
	if code, body := get(t, "GET", base+"/healthz"); code != 500 || !strings.Contains(body, "internal error: cannot read the package database") {
		t.Errorf("/healthz = %d %q, want 500 internal error", code, body)
	}
	code, body := get(t, "GET", base+"/readyz")
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil || code != 500 || got["internal_error"] != true || got["ready"] != false {
		t.Errorf("/readyz = %d %s, want 500 with ready false, internal_error true", code, body)
	}
	if _, body := get(t, "GET", base+"/metrics"); !strings.Contains(body, "agentkeeper_internal_error 1\n") || strings.Contains(body, `agentkeeper_check_status{check="agent.installed"`) {
		t.Errorf("/metrics should say agentkeeper_internal_error 1 and carry no check status from the spoiled report:\n%s", body)
	}
	if !strings.Contains(h.log.String(), "agentkeeper hit its own limits") {
		t.Errorf("log does not say why the cycle failed:\n%s", h.log.String())
	}
}

func TestOwnLimit(t *testing.T) {
	for _, tc := range []struct {
		desc  string
		texts []string
		want  string
	}{
		{desc: "none", texts: nil},
		{desc: "ordinary failures", texts: []string{"open /etc/os-release: no such file or directory", "permission denied", ""}},
		{desc: "EMFILE", texts: []string{"ok", "list /var/lib/waagent: too many open files"}, want: "list /var/lib/waagent: too many open files"},
		{desc: "ENFILE", texts: []string{"open x: too many open files in system"}, want: "open x: too many open files in system"},
		{desc: "case does not matter", texts: []string{"Too Many Open Files"}, want: "Too Many Open Files"},
		{desc: "first one wins", texts: []string{"a: too many open files", "b: too many open files"}, want: "a: too many open files"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if got := OwnLimit(tc.texts...); got != tc.want {
				t.Errorf("OwnLimit(%q) = %q, want %q", tc.texts, got, tc.want)
			}
		})
	}
}
