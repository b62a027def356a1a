package main

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kardianos/service"
)

// fakeService records what controlService asks of it.
type fakeService struct {
	status service.Status
	err    error // from Status
	opErr  error
	calls  []string
}

func (f *fakeService) op(name string) error { f.calls = append(f.calls, name); return f.opErr }
func (f *fakeService) Install() error       { return f.op("install") }
func (f *fakeService) Uninstall() error     { return f.op("uninstall") }
func (f *fakeService) Start() error         { return f.op("start") }
func (f *fakeService) Stop() error          { return f.op("stop") }
func (f *fakeService) Restart() error       { return f.op("restart") }
func (f *fakeService) Status() (service.Status, error) {
	return f.status, f.err
}

func TestControlService(t *testing.T) {
	notInstalled := &fakeService{err: service.ErrNotInstalled}
	running := &fakeService{status: service.StatusRunning}
	stopped := &fakeService{status: service.StatusStopped}
	tests := []struct {
		desc   string
		svc    fakeService
		action string
		admin  bool
		code   int
		out    string // in stdout
		msg    string // in the error
		calls  string
	}{
		{desc: "install", svc: *notInstalled, action: "install", admin: true, out: "installed", calls: "install"},
		{desc: "install twice", svc: *stopped, action: "install", admin: true, code: 1, msg: "already installed"},
		{desc: "install without root", svc: *notInstalled, action: "install", code: 1, msg: "needs"},
		{desc: "uninstall what is not installed", svc: *notInstalled, action: "uninstall", admin: true, code: 1, msg: "not installed"},
		{desc: "uninstall a running service stops it first", svc: *running, action: "uninstall", admin: true, out: "uninstalled", calls: "stop,uninstall"},
		{desc: "start without root", svc: *stopped, action: "start", code: 1, msg: "needs"},
		{desc: "start", svc: *stopped, action: "start", admin: true, out: "started", calls: "start"},
		{desc: "stop fails", svc: fakeService{status: service.StatusRunning, opErr: errors.New("systemctl said no")}, action: "stop", admin: true, code: 1, msg: "systemctl said no", calls: "stop"},
		{desc: "restart what is not installed", svc: *notInstalled, action: "restart", admin: true, code: 1, msg: "not installed"},
		{desc: "status running", svc: *running, action: "status", out: "installed, running"},
		{desc: "status stopped", svc: *stopped, action: "status", code: 1, out: "installed, stopped"},
		{desc: "status not installed", svc: *notInstalled, action: "status", code: 1, out: "not installed"},
		{desc: "status needs no root", svc: *running, action: "status", admin: false, out: "running"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var out bytes.Buffer
			s := tc.svc
			err := controlService(&s, tc.action, tc.admin, &out)
			code := 0
			var ee *exitError
			if errors.As(err, &ee) {
				code = ee.code
			} else if err != nil {
				t.Fatalf("not an exitError: %v", err)
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d (%v)", code, tc.code, err)
			}
			if !strings.Contains(out.String(), tc.out) {
				t.Errorf("output %q, want %q", out.String(), tc.out)
			}
			if tc.msg != "" && (err == nil || !strings.Contains(err.Error(), tc.msg)) {
				t.Errorf("error %v, want %q", err, tc.msg)
			}
			if got := strings.Join(s.calls, ","); got != tc.calls {
				t.Errorf("calls %q, want %q", got, tc.calls)
			}
		})
	}
}

func TestServiceConfig(t *testing.T) {
	tests := []struct {
		desc, config string
		args         string
	}{
		{desc: "no config", config: "", args: "run"},
		{desc: "config passed on, absolute", config: "/etc/ak.yaml", args: "run --config /etc/ak.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			c := serviceConfig(tc.config, nil)
			want := tc.args
			if tc.config != "" {
				abs, _ := filepath.Abs(tc.config) // Z:\etc\ak.yaml under Wine
				want = "run --config " + abs
			}
			if got := strings.Join(c.Arguments, " "); got != want {
				t.Errorf("arguments %q, want %q", got, want)
			}
			if c.Option["Restart"] != "always" || c.Option["StartType"] != "automatic" || c.Option["OnFailure"] != "restart" {
				t.Errorf("options %v", c.Option)
			}
		})
	}
}
