package daemon

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/ensure"
	"github.com/agentkeeper/agentkeeper/platform/install"
)

// hangGuard bounds every wait of these tests: a hang fails, it does not block.
const hangGuard = 10 * time.Second

// syncBuf is a log destination safe for concurrent writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// report builds a report; failing names the checks that fail.
func report(version string, backupRunning bool, failing ...string) *agent.Report {
	r := &agent.Report{Agent: agent.AgentReport{Supported: true, Package: "waagent", Version: version,
		Installed: version != "", MinVersion: "2.2.53.1"}}
	for _, id := range []string{"os.detected", "agent.installed", "agent.version", "agent.service"} {
		st := agent.StatusPass
		for _, f := range failing {
			if f == id {
				st = agent.StatusFail
			}
		}
		r.Add(agent.Check{ID: agent.CheckID(id), Status: st, Message: id})
	}
	r.Backup.Running = backupRunning
	r.Finish()
	return r
}

// stubInstaller names commands for a plan; it is never run.
type stubInstaller struct{}

func (stubInstaller) Name() string                 { return "apt-get" }
func (stubInstaller) Commands(pkg string) []string { return []string{"apt-get install -y " + pkg} }
func (stubInstaller) Candidate(context.Context, string) (string, error) {
	return "", errors.New("stub installer")
}
func (stubInstaller) Install(context.Context, string) (install.Result, error) {
	return install.Result{}, errors.New("stub installer")
}
func (stubInstaller) EnableCommands(unit string) []string {
	return []string{"systemctl enable --now " + unit}
}
func (stubInstaller) EnableService(context.Context, string) (string, error) {
	return "", errors.New("stub installer")
}

// plan is ensure's own plan for rep, as the service's Config.Plan.
func plan(rep *agent.Report) ensure.Plan { return ensure.MakePlan(rep, stubInstaller{}, nil) }

var (
	missing = report("", false, "agent.installed", "agent.version")
	tooOld  = report("2.2.0", false, "agent.version")
	good    = report("2.9.1.1", false)
)

// clock is an injected After: each wait is sent to waits, and the loop
// goes on when the test sends on fire.
type clock struct {
	waits chan time.Duration
	fire  chan time.Time
}

func newClock() *clock {
	return &clock{waits: make(chan time.Duration, 1), fire: make(chan time.Time)}
}

func (c *clock) After(d time.Duration) <-chan time.Time {
	c.waits <- d
	return c.fire
}

// harness runs a daemon with scripted inspect and ensure results.
type harness struct {
	d      *Daemon
	clock  *clock
	log    *syncBuf
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, o Options) *harness {
	t.Helper()
	h := &harness{clock: newClock(), log: &syncBuf{}, done: make(chan error, 1)}
	o.After = h.clock.After
	o.Log = slog.New(slog.NewTextHandler(h.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	o.Rand = func() float64 { return 0.5 } // no jitter
	if o.RetryBase == 0 {
		o.RetryBase = time.Minute
	}
	if o.Reload == nil {
		o.Reload = make(chan struct{})
	}
	h.d = New(o)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- h.d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.done:
		case <-time.After(hangGuard):
			t.Error("Run did not return after cancel")
		}
	})
	return h
}

// next waits for the loop to ask for its next wait and returns it.
func (h *harness) next(t *testing.T) time.Duration {
	t.Helper()
	select {
	case d := <-h.clock.waits:
		return d
	case err := <-h.done:
		t.Fatalf("Run returned early: %v", err)
	case <-time.After(hangGuard):
		t.Fatal("the loop did not come to its wait")
	}
	return 0
}

func (h *harness) resume(t *testing.T) {
	t.Helper()
	select {
	case h.clock.fire <- time.Now():
	case <-time.After(hangGuard):
		t.Fatal("the loop did not wait")
	}
}

func TestLoop(t *testing.T) {
	const iv = time.Hour
	type cycle struct {
		inspect *agent.Report
		ensure  *ensure.Result // nil: ensure must not run
		panics  bool
		wait    time.Duration // the wait asked for after this cycle
	}
	ready := func(after *agent.Report) *ensure.Result {
		return &ensure.Result{Outcome: "ready", Report: after, VersionBefore: "", VersionAfter: after.Agent.Version,
			Plan:    ensure.Plan{Package: "waagent"},
			Actions: []ensure.Step{{ID: "install", Status: ensure.StepPass, Message: "install waagent with apt-get"}}}
	}
	deferred := &ensure.Result{Outcome: "deferred", Message: "an Azure Backup snapshot is running", Report: report("", true, "agent.installed", "agent.version")}
	failed := &ensure.Result{Outcome: "failed", Message: "apt-get install failed", Report: missing}
	tests := []struct {
		desc       string
		auto       bool
		cycles     []cycle
		counts     map[string]float64 // remediations_total by result
		onceLogs   []string           // logged exactly once
		neverLogs  []string
		readyAfter bool
	}{
		{
			desc: "a cycle that installs, then stays ready",
			auto: true,
			cycles: []cycle{
				{inspect: missing, ensure: ready(good), wait: iv},
				{inspect: good, wait: iv},
				{inspect: good, wait: iv},
			},
			counts:     map[string]float64{ResultInstalled: 1, ResultDeferred: 0, ResultFailed: 0},
			onceLogs:   []string{"installed agent", "became ready"},
			neverLogs:  []string{"became not ready"},
			readyAfter: true,
		},
		{
			desc: "an agent whose unit is off is enabled: ensure plans enable-service",
			auto: true,
			cycles: []cycle{
				{inspect: report("2.9.1.1", false, "agent.service"), ensure: ready(good), wait: iv},
				{inspect: good, wait: iv},
			},
			counts:     map[string]float64{ResultInstalled: 1, ResultDeferred: 0, ResultFailed: 0},
			onceLogs:   []string{"action=enable-service", "became ready"},
			readyAfter: true,
		},
		{
			desc: "a cycle that defers for a backup is retried next cycle",
			auto: true,
			cycles: []cycle{
				{inspect: tooOld, ensure: deferred, wait: iv},
				{inspect: tooOld, ensure: ready(good), wait: iv},
			},
			counts:     map[string]float64{ResultInstalled: 1, ResultDeferred: 1, ResultFailed: 0},
			onceLogs:   []string{"installation deferred", "became not ready", "became ready", "installed agent"},
			readyAfter: true,
		},
		{
			desc: "failing cycles back off exponentially, capped at the interval, and the loop goes on",
			auto: true,
			cycles: []cycle{
				{inspect: missing, ensure: failed, wait: time.Minute},
				{inspect: missing, ensure: failed, wait: 2 * time.Minute},
				{inspect: missing, ensure: failed, wait: 4 * time.Minute},
				{inspect: missing, ensure: ready(good), wait: iv},
				{inspect: good, wait: iv},
			},
			counts:     map[string]float64{ResultInstalled: 1, ResultDeferred: 0, ResultFailed: 3},
			onceLogs:   []string{"became not ready", "became ready", "installed agent"},
			readyAfter: true,
		},
		{
			desc: "a panicking cycle counts as failed and the loop goes on",
			auto: true,
			cycles: []cycle{
				{panics: true, wait: time.Minute},
				{inspect: good, wait: iv},
			},
			counts:     map[string]float64{ResultInstalled: 0, ResultDeferred: 0, ResultFailed: 0},
			onceLogs:   []string{"check cycle failed", "became ready"},
			readyAfter: true,
		},
		{
			desc: "install.auto false never installs",
			auto: false,
			cycles: []cycle{
				{inspect: missing, wait: iv},
				{inspect: missing, wait: iv},
			},
			counts:    map[string]float64{ResultInstalled: 0, ResultDeferred: 0, ResultFailed: 0},
			onceLogs:  []string{"became not ready"},
			neverLogs: []string{"installing", "became ready"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var mu sync.Mutex
			n := 0
			cur := func() cycle {
				mu.Lock()
				defer mu.Unlock()
				return tc.cycles[n]
			}
			ensures := 0
			cfg := Config{
				Interval: iv, InstallAuto: tc.auto,
				Inspect: func(context.Context) *agent.Report {
					c := cur()
					if c.panics {
						panic("boom")
					}
					return c.inspect
				},
				Plan: plan,
				Ensure: func(context.Context, string) *ensure.Result {
					c := cur()
					if c.ensure == nil {
						t.Errorf("cycle %d: ensure ran", n)
						return failed
					}
					ensures++
					return c.ensure
				},
			}
			h := start(t, Options{Load: func() (Config, error) { return cfg, nil }})
			for i, c := range tc.cycles {
				if got := h.next(t); got != c.wait {
					t.Errorf("cycle %d: next wait %v, want %v", i, got, c.wait)
				}
				mu.Lock()
				n = min(n+1, len(tc.cycles)-1)
				mu.Unlock()
				if i < len(tc.cycles)-1 {
					h.resume(t)
				}
			}
			for res, want := range tc.counts {
				if got := value(t, h.d.Metrics(), "agentkeeper_remediations_total", "result", res); got != want {
					t.Errorf("remediations_total{result=%q} = %v, want %v", res, got, want)
				}
			}
			logs := h.log.String()
			for _, s := range tc.onceLogs {
				if c := strings.Count(logs, s); c != 1 {
					t.Errorf("%q logged %d times, want once:\n%s", s, c, logs)
				}
			}
			for _, s := range tc.neverLogs {
				if strings.Contains(logs, s) {
					t.Errorf("%q logged:\n%s", s, logs)
				}
			}
			if h.d.Ready() != tc.readyAfter {
				t.Errorf("Ready() = %v, want %v", h.d.Ready(), tc.readyAfter)
			}
		})
	}
}

func TestJitter(t *testing.T) {
	tests := []struct {
		desc string
		rand float64
		want time.Duration
	}{
		{desc: "lowest", rand: 0, want: 54 * time.Minute},
		{desc: "middle", rand: 0.5, want: time.Hour},
		{desc: "highest", rand: 0.999999, want: 66 * time.Minute},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			d := New(Options{Rand: func() float64 { return tc.rand }})
			d.cfg.Interval = time.Hour
			got := d.nextWait(false)
			if diff := got - tc.want; diff < -time.Second || diff > time.Second {
				t.Errorf("wait %v, want %v", got, tc.want)
			}
		})
	}
}

func TestReloadKeepsLastGoodConfig(t *testing.T) {
	type step struct {
		interval time.Duration
		err      error
		wait     time.Duration // the wait after the cycle that loaded this
	}
	tests := []struct {
		desc  string
		steps []step
		logs  map[string]int
	}{
		{
			desc: "a broken config keeps the last good one, a good one is applied",
			steps: []step{
				{interval: time.Hour, wait: time.Hour},                                                   // start
				{interval: time.Hour, wait: time.Hour},                                                   // cycle 1
				{err: errors.New(`config: service.interval: "soon" is not a duration`), wait: time.Hour}, // cycle 2
				{err: errors.New(`config: service.interval: "soon" is not a duration`), wait: time.Hour}, // cycle 3: same error, not logged again
				{interval: 2 * time.Hour, wait: 2 * time.Hour},                                           // cycle 4
			},
			logs: map[string]int{"keeping the last good one": 1, "configuration changed": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var mu sync.Mutex
			loads := 0
			load := func() (Config, error) {
				mu.Lock()
				defer mu.Unlock()
				s := tc.steps[min(loads, len(tc.steps)-1)]
				loads++
				if s.err != nil {
					return Config{}, s.err
				}
				return Config{Interval: s.interval, Fingerprint: s.interval.String(),
					Inspect: func(context.Context) *agent.Report { return good }}, nil
			}
			h := start(t, Options{Load: load})
			for i := 1; i < len(tc.steps); i++ {
				if got := h.next(t); got != tc.steps[i].wait {
					t.Errorf("cycle %d: wait %v, want %v", i, got, tc.steps[i].wait)
				}
				if i < len(tc.steps)-1 {
					h.resume(t)
				}
			}
			logs := h.log.String()
			for s, want := range tc.logs {
				if got := strings.Count(logs, s); got != want {
					t.Errorf("%q logged %d times, want %d:\n%s", s, got, want, logs)
				}
			}
		})
	}
}

func TestStartFailsWithoutConfig(t *testing.T) {
	d := New(Options{Load: func() (Config, error) { return Config{}, errors.New("config: bad") }})
	if err := d.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "config: bad") {
		t.Errorf("Run = %v, want the config error", err)
	}
}

func TestStopWhileWaiting(t *testing.T) {
	tests := []struct {
		desc string
		auto bool
		// blockIn says which step waits on its context.
		blockIn string
	}{
		{desc: "stop while the check waits (e.g. a package manager)", blockIn: "inspect"},
		{desc: "stop while ensure waits for a backup", auto: true, blockIn: "ensure"},
		{desc: "stop between cycles", blockIn: ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			entered := make(chan struct{})
			sawDone := make(chan struct{})
			block := func(ctx context.Context) {
				close(entered)
				<-ctx.Done()
				close(sawDone)
			}
			cfg := Config{Interval: time.Hour, InstallAuto: tc.auto,
				Inspect: func(ctx context.Context) *agent.Report {
					if tc.blockIn == "inspect" {
						block(ctx)
					}
					return missing
				},
				Plan: plan,
				Ensure: func(ctx context.Context, _ string) *ensure.Result {
					if tc.blockIn == "ensure" {
						block(ctx)
					}
					return &ensure.Result{Outcome: "deferred"}
				},
			}
			h := start(t, Options{Load: func() (Config, error) { return cfg, nil }})
			if tc.blockIn == "" {
				h.next(t)
			} else {
				select {
				case <-entered:
				case <-time.After(hangGuard):
					t.Fatal("the cycle did not start")
				}
			}
			h.cancel()
			select {
			case err := <-h.done:
				if err != nil {
					t.Errorf("Run = %v, want nil", err)
				}
				h.done <- err // for the cleanup
			case <-time.After(hangGuard):
				t.Fatal("Run did not return after cancel")
			}
			if tc.blockIn != "" {
				select {
				case <-sawDone:
				default:
					t.Error("the cycle did not see ctx.Done")
				}
			}
		})
	}
}

// value is the value of the series of name whose label key is val.
func value(t *testing.T, m *Metrics, name, key, val string) float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == key && l.GetValue() == val {
					if c := s.GetCounter(); c != nil {
						return c.GetValue()
					}
					return s.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no series %s{%s=%q}", name, key, val)
	return 0
}
