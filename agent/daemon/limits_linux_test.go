package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/agenttest"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// These tests run the real daemon (HTTP server and loop, the real
// agent.Inspect on a Debian 12 image tree) in a helper process, so that
// its descriptors can be counted and its RLIMIT_NOFILE lowered without
// touching the test process, and talk to it over many real connections to
// 127.0.0.1.

func TestMain(m *testing.M) {
	runIfServeHelper()
	os.Exit(m.Run())
}

// serveHelperEnv carries "nofile root" to a helper process.
const serveHelperEnv = "AGENTKEEPER_DAEMON_SERVE_HELPER"

// runIfServeHelper, in a helper process, lowers RLIMIT_NOFILE (when asked),
// serves a daemon on 127.0.0.1:0, prints "listening ADDR" and then obeys
// commands on stdin, one a line, answering each with one line:
//
//	cycle     run a cycle now; answers "ok" or "internal-error MSG"
//	spoil     use up every descriptor, run a cycle, give them back;
//	          answers like cycle
func runIfServeHelper() {
	spec, ok := os.LookupEnv(serveHelperEnv)
	if !ok {
		return
	}
	nofileText, root, _ := strings.Cut(spec, " ")
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "serve helper:", err)
		os.Exit(2)
	}
	if n, _ := strconv.ParseUint(nofileText, 10, 64); n > 0 {
		var lim unix.Rlimit
		if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			fail(err)
		}
		lim.Cur = n
		if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
			fail(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	opts := agent.Options{Root: fsroot.New(root)}
	reload := make(chan struct{})
	d := New(Options{Listener: ln, Reload: reload, Load: func() (Config, error) {
		return Config{Interval: time.Hour, Inspect: func(ctx context.Context) *agent.Report { return agent.Inspect(ctx, opts) }}, nil
	}})
	go d.Run(context.Background())
	waitCycles := func(n int64) {
		for d.cycles.Load() < n {
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitCycles(1)
	fmt.Println("listening", ln.Addr())
	answer := func() {
		if msg := d.InternalError(); msg != "" {
			fmt.Println("internal-error", msg)
		} else {
			fmt.Println("ok ready", d.Ready())
		}
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		switch sc.Text() {
		case "cycle":
			n := d.cycles.Load()
			reload <- struct{}{}
			waitCycles(n + 1)
			answer()
		case "spoil":
			var held []int
			for {
				fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
				if err != nil {
					break
				}
				held = append(held, fd)
			}
			n := d.cycles.Load()
			reload <- struct{}{}
			waitCycles(n + 1)
			for _, fd := range held {
				unix.Close(fd)
			}
			answer()
		default:
			fail(fmt.Errorf("unknown command %q", sc.Text()))
		}
	}
	os.Exit(0)
}

// helper is a running serve helper.
type helper struct {
	pid  int
	addr string
	in   io.WriteCloser
	out  *bufio.Reader
	cmd  *exec.Cmd
}

// startHelper starts a serve helper with RLIMIT_NOFILE nofile (0: as it is)
// on a Debian 12 image with an agent that is ready.
func startHelper(tb testing.TB, nofile int) *helper {
	tb.Helper()
	root := filepath.Join(tb.TempDir(), "root")
	for name, content := range agenttest.DebianImage("2.7.3.0-4.1") {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(content, "->"); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %s", serveHelperEnv, nofile, root))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	h := &helper{pid: cmd.Process.Pid, in: in, out: bufio.NewReader(out), cmd: cmd}
	tb.Cleanup(func() {
		in.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := h.read(tb)
	addr, ok := strings.CutPrefix(line, "listening ")
	if !ok {
		tb.Fatalf("serve helper said %q, want listening ADDR", line)
	}
	h.addr = addr
	return h
}

func (h *helper) read(tb testing.TB) string {
	tb.Helper()
	got := make(chan string, 1)
	go func() {
		s, _ := h.out.ReadString('\n')
		got <- strings.TrimSpace(s)
	}()
	select {
	case s := <-got:
		return s
	case <-time.After(60 * time.Second):
		tb.Fatal("serve helper: no answer in 60s")
	}
	return ""
}

func (h *helper) do(tb testing.TB, cmd string) string {
	tb.Helper()
	if _, err := fmt.Fprintln(h.in, cmd); err != nil {
		tb.Fatal(err)
	}
	return h.read(tb)
}

// fds counts the helper's open descriptors.
func (h *helper) fds(tb testing.TB) int {
	tb.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", h.pid))
	if err != nil {
		tb.Fatal(err)
	}
	return len(ents)
}

// rssKB is the helper's resident set size.
func (h *helper) rssKB(tb testing.TB) int {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

// fresh is a client that opens a new connection for every request.
var fresh = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}

func fetch(tb testing.TB, url string) (int, string) {
	tb.Helper()
	resp, err := fresh.Get(url)
	if err != nil {
		tb.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// attack opens n connections to addr that each send one keep-alive
// request to /healthz, read the answer and then stay open and silent, as
// an ordinary local user can. Each answer is signalled on answered; wait
// waits for all of them and says how many got no answer.
func attack(tb testing.TB, addr string, n int) (answered <-chan struct{}, wait func() (int, error)) {
	tb.Helper()
	ans := make(chan struct{}, n)
	conns := make([]net.Conn, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 60*time.Second)
			if err != nil {
				errs[i] = err
				return
			}
			conns[i] = c
			c.SetDeadline(time.Now().Add(120 * time.Second))
			fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				errs[i] = err
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			c.SetDeadline(time.Time{})
			ans <- struct{}{}
		}()
	}
	tb.Cleanup(func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	})
	return ans, func() (int, error) {
		wg.Wait()
		failed, first := 0, error(nil)
		for _, err := range errs {
			if err != nil {
				failed++
				if first == nil {
					first = err
				}
			}
		}
		return failed, first
	}
}

// idleConns runs attack and waits until every connection had its answer.
func idleConns(tb testing.TB, addr string, n int) {
	tb.Helper()
	_, wait := attack(tb, addr, n)
	if failed, err := wait(); failed > 0 {
		tb.Errorf("%d of %d idle connections got no answer; first: %v", failed, n, err)
	}
}

// TestManyIdleConnectionsDoNotStarveTheLoop: 600 keep-alive connections
// that stay open against a daemon allowed 200 descriptors. The server holds
// at most MaxConns of them; the next check still opens its files and finds
// the image ready, and /readyz answers on a new connection.
func TestManyIdleConnectionsDoNotStarveTheLoop(t *testing.T) {
	const nofile, conns = 200, 600
	h := startHelper(t, nofile)
	base := h.fds(t)
	answered, wait := attack(t, h.addr, conns)
	// Check while the attack is on: once 150 connections have had their
	// answer (more than the server's cap, fewer than the descriptors).
	for range 150 {
		select {
		case <-answered:
		case <-time.After(60 * time.Second):
			t.Fatal("fewer than 150 connections answered in 60s")
		}
	}
	open := h.fds(t)
	if got := h.do(t, "cycle"); got != "ok ready true" {
		t.Errorf("check while %d connections are open: %q, want ok ready true", conns, got)
	}
	if code, body := fetch(t, "http://"+h.addr+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %.200s, want 200", code, body)
	}
	if open > base+MaxConns+4 {
		t.Errorf("%d descriptors open during the attack (%d before), want at most %d more", open, base, MaxConns+4)
	}
	if failed, err := wait(); failed > 0 {
		t.Errorf("%d of %d connections got no answer; first: %v", failed, conns, err)
	}
	t.Logf("%d hostile connections; helper descriptors %d before, %d during the attack (cap %d, limit %d)", conns, base, open, MaxConns, nofile)
}

// TestOwnLimitIsAnInternalError: when the daemon has no descriptor left,
// the real check fails with "too many open files"; that is reported as an
// internal error of agentkeeper (500 on /healthz and /readyz, the metric
// agentkeeper_internal_error), not as "not ready", and the last good
// readiness is kept. The next good cycle clears it.
func TestOwnLimitIsAnInternalError(t *testing.T) {
	h := startHelper(t, 128)
	url := "http://" + h.addr
	got := h.do(t, "spoil")
	if !strings.HasPrefix(got, "internal-error ") || !strings.Contains(got, "too many open files") {
		t.Fatalf("cycle without descriptors: %q, want internal-error ... too many open files", got)
	}
	code, body := fetch(t, url+"/healthz")
	if code != http.StatusInternalServerError || !strings.Contains(body, "internal error") || !strings.Contains(body, "too many open files") {
		t.Errorf("/healthz = %d %q, want 500 internal error: ... too many open files", code, body)
	}
	code, body = fetch(t, url+"/readyz")
	if code != http.StatusInternalServerError || !strings.Contains(body, `"internal_error":true`) {
		t.Errorf("/readyz = %d %q, want 500 with internal_error true", code, body)
	}
	code, body = fetch(t, url+"/metrics")
	for _, want := range []string{"agentkeeper_internal_error 1", "agentkeeper_ready 1"} {
		if code != http.StatusOK || !strings.Contains(body, want+"\n") {
			t.Errorf("/metrics (%d) lacks %q", code, want)
		}
	}

	if got := h.do(t, "cycle"); got != "ok ready true" {
		t.Fatalf("next cycle: %q, want ok ready true", got)
	}
	if code, body := fetch(t, url+"/readyz"); code != http.StatusOK || !strings.Contains(body, `"ready":true`) {
		t.Errorf("/readyz after a good cycle = %d %.200s, want 200 ready", code, body)
	}
	if code, body := fetch(t, url+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz after a good cycle = %d %q, want 200", code, body)
	}
	if _, body := fetch(t, url+"/metrics"); !strings.Contains(body, "agentkeeper_internal_error 0\n") {
		t.Errorf("/metrics after a good cycle: agentkeeper_internal_error is not 0")
	}
}

// BenchmarkHealthzUnderIdleConns measures the daemon under 3000 idle
// keep-alive connections: its descriptors and resident memory before and
// with them open, and the latency of /healthz on a new connection (ns/op).
func BenchmarkHealthzUnderIdleConns(b *testing.B) {
	const conns = 3000
	h := startHelper(b, 0)
	fdsBefore, rssBefore := h.fds(b), h.rssKB(b)
	idleConns(b, h.addr, conns)
	fdsAfter, rssAfter := h.fds(b), h.rssKB(b)
	url := "http://" + h.addr + "/healthz"
	for b.Loop() {
		if code, body := fetch(b, url); code != http.StatusOK {
			b.Fatalf("/healthz = %d %q", code, body)
		}
	}
	b.ReportMetric(float64(fdsBefore), "fds-before")
	b.ReportMetric(float64(fdsAfter), "fds-3000-idle")
	b.ReportMetric(float64(rssBefore), "rss-kB-before")
	b.ReportMetric(float64(rssAfter), "rss-kB-3000-idle")
}
