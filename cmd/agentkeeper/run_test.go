//go:build !windows

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// freePort returns a loopback address that was free a moment ago.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestRunServesAndStopsOnSIGTERM(t *testing.T) {
	tests := []struct {
		desc      string
		readyCode int
		metrics   []string
	}{
		{desc: "a ready Debian image", readyCode: 200,
			metrics: []string{"agentkeeper_ready 1", `agentkeeper_agent_info{package="waagent",version="2.7.3.0"} 1`,
				`agentkeeper_remediations_total{result="installed"} 0`}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			addr := freePort(t)
			cmd := exec.Command(binary, "run", "--root", image(t), "--min-interval=1s", "--config", openConfig(t))
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
				"AGENTKEEPER_SERVICE_LISTEN=" + addr, "AGENTKEEPER_SERVICE_INTERVAL=1s", "AGENTKEEPER_INSTALL_AUTO=false"}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			defer func() {
				if cmd.ProcessState == nil {
					cmd.Process.Kill()
				}
			}()

			client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil}}
			get := func(path string) (int, string, error) {
				resp, err := client.Get("http://" + addr + path)
				if err != nil {
					return 0, "", err
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b), err
			}
			deadline := time.Now().Add(10 * time.Second)
			var code int
			var body string
			for {
				var err error
				code, body, err = get("/readyz")
				if err == nil && code != 503 || time.Now().After(deadline) {
					break
				}
				select {
				case err := <-exited:
					t.Fatalf("run exited early: %v\n%s", err, stderr.String())
				case <-time.After(50 * time.Millisecond):
				}
			}
			var r struct {
				Ready bool `json:"ready"`
			}
			if code != tc.readyCode || json.Unmarshal([]byte(body), &r) != nil || !r.Ready {
				t.Errorf("/readyz: %d %s, want %d and ready true", code, body, tc.readyCode)
			}
			code, body, err := get("/metrics")
			if err != nil || code != 200 {
				t.Fatalf("/metrics: %d %v", code, err)
			}
			for _, m := range tc.metrics {
				if !strings.Contains(body, m) {
					t.Errorf("/metrics lacks %q:\n%s", m, body)
				}
			}

			// Let a second cycle run: the configuration is read again,
			// its warning must not be logged again.
			lastCheck := func() string {
				_, body, _ := get("/metrics")
				for _, l := range strings.Split(body, "\n") {
					if strings.HasPrefix(l, "agentkeeper_last_check_timestamp_seconds ") {
						return l
					}
				}
				return ""
			}
			first := lastCheck()
			for deadline := time.Now().Add(10 * time.Second); lastCheck() == first; {
				if time.Now().After(deadline) {
					t.Fatalf("no second cycle within 10 s\n%s", stderr.String())
				}
				time.Sleep(50 * time.Millisecond)
			}

			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				var ee *exec.ExitError
				if errors.As(err, &ee) || err != nil {
					t.Errorf("after SIGTERM: %v, want exit 0\n%s", err, stderr.String())
				}
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("run did not stop within 10 s of SIGTERM\n%s", stderr.String())
			}
			if !strings.Contains(stderr.String(), "became ready") {
				t.Errorf("no state change logged:\n%s", stderr.String())
			}
			if n := strings.Count(stderr.String(), "is writable by every user"); n != 1 {
				t.Errorf("the open config file was warned about %d times, want once at start:\n%s", n, stderr.String())
			}
		})
	}
}

func TestRunRefusesBadConfig(t *testing.T) {
	tests := []struct {
		desc string
		env  []string
		code int
		msg  string
	}{
		{desc: "bad interval", env: []string{"AGENTKEEPER_SERVICE_INTERVAL=soon"}, code: 2, msg: "service.interval"},
		{desc: "interval below the floor", env: []string{"AGENTKEEPER_SERVICE_INTERVAL=1s"}, code: 2,
			msg: `config: service.interval (from environment variable AGENTKEEPER_SERVICE_INTERVAL): "1s" is shorter than the minimum 1m`},
		{desc: "0s is not one hour", env: []string{"AGENTKEEPER_SERVICE_INTERVAL=0s"}, code: 2, msg: `"0s" is shorter than the minimum 1m`},
		{desc: "address in use", env: nil, code: 1, msg: "service.listen"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			env := tc.env
			if env == nil {
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				env = []string{"AGENTKEEPER_SERVICE_LISTEN=" + ln.Addr().String()}
			}
			r := runBin(t, env, "run", "--root", image(t))
			if r.code != tc.code || !strings.Contains(r.stderr, tc.msg) {
				t.Errorf("exit %d, stderr %q; want %d mentioning %s", r.code, r.stderr, tc.code, tc.msg)
			}
		})
	}
}
