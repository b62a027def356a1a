// Package daemon is agentkeeper's service mode: a loop that checks the Azure
// VM agent every interval and installs or updates it when allowed, plus the
// read-only HTTP endpoints (/healthz, /readyz, /metrics) and the optional
// textfile and report files that expose the last result.
package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/ensure"
)

// Defaults of the loop.
const (
	// DefaultInterval is used when Config.Interval is not positive.
	DefaultInterval = time.Hour
	// DefaultRetryBase is the first wait after a failed cycle; it doubles
	// with each further failure, capped at the interval.
	DefaultRetryBase = time.Minute
	// Jitter is the fraction by which each wait varies (±10 %), so that
	// machines started together do not check (or install) together.
	Jitter = 0.10
	// healthMargin is added to twice the interval when /healthz judges
	// whether the loop is alive.
	healthMargin = 5 * time.Minute
	// shutdownTimeout bounds the HTTP server's graceful shutdown.
	shutdownTimeout = 2 * time.Second
)

// Remediation results, the values of agentkeeper_remediations_total's
// result label.
const (
	ResultInstalled = "installed"
	ResultDeferred  = "deferred"
	ResultFailed    = "failed"
)

// Config is one loaded configuration: the loop's settings and how to check
// and remediate with them. A reload replaces it as a whole.
type Config struct {
	// Interval between checks (config service.interval; DefaultInterval
	// when not positive).
	Interval time.Duration
	// InstallAuto runs Ensure when Plan says ensure would change something
	// (config install.auto).
	InstallAuto bool
	// Listen is the HTTP address (config service.listen; "" = no HTTP). It
	// is read once, at start: a change needs a restart.
	Listen string
	// Textfile and ReportFile are written after each cycle when not "".
	Textfile, ReportFile string
	// Fingerprint identifies the configuration's content, so that a change
	// is logged once and not at every cycle start.
	Fingerprint string
	// Warnings are logged once per distinct fingerprint.
	Warnings []string

	// Inspect checks the machine (agent.Inspect with the loaded options).
	Inspect func(ctx context.Context) *agent.Report
	// Plan is what ensure would do from a report (ensure.PlanFor with the
	// loaded options): the service remediates exactly when the plan acts
	// (install, update, update if offered, enable the service).
	Plan func(rep *agent.Report) ensure.Plan
	// Ensure installs, updates or enables the agent (ensure.Run), not
	// updating to skip (ensure.Options.SkipVersion) when it is not "". Nil
	// Ensure or Plan disables remediation whatever InstallAuto says.
	Ensure func(ctx context.Context, skip string) *ensure.Result
}

// Options set up a Daemon. Load is required; the rest have defaults.
type Options struct {
	// Load returns the current configuration. It is called at start (an
	// error there is fatal), at each cycle start and on a reload signal (an
	// error there is logged and the last good configuration kept).
	Load func() (Config, error)
	// Log receives the daemon's logs; state changes are logged once.
	Log *slog.Logger
	// Now and After are the clock; After(d) fires after d (time.After).
	Now   func() time.Time
	After func(d time.Duration) <-chan time.Time
	// Rand returns a number in [0, 1) for the jitter.
	Rand func() float64
	// RetryBase is the first wait after a failed cycle (DefaultRetryBase).
	RetryBase time.Duration
	// Reload delivers reload requests (SIGHUP). Nil means the daemon
	// installs its own signal handling where the platform has one.
	Reload <-chan struct{}
	// Listener, when set, is used instead of listening on Config.Listen.
	Listener net.Listener
}

// Daemon is the service loop and what it has found. Its read methods are
// safe for concurrent use and never wait for the loop.
type Daemon struct {
	o       Options
	metrics *Metrics

	// cfg is the last good configuration; only the loop touches it.
	cfg Config

	// Read by the HTTP handlers without waiting for the loop.
	report    atomic.Pointer[[]byte] // last report JSON
	internal  atomic.Pointer[string] // why the last cycle failed inside agentkeeper
	cycles    atomic.Int64           // cycles completed
	ready     atomic.Bool
	heartbeat atomic.Int64 // unix nanoseconds of the loop's last sign of life
	interval  atomic.Int64 // current interval, for /healthz

	// Loop-only state for logging changes once.
	prevReady    *bool
	prevVersion  string
	prevFailing  string
	prevCfgErr   string
	failures     int
	once         map[string]string
	reloadNotify func() (<-chan struct{}, func())
	// rolledBack is the package version of the last update ensure rolled
	// back: not installed again while it is all the repositories offer.
	// Kept per process, across reloads.
	rolledBack string
}

// New returns a daemon; it does nothing until Run.
func New(o Options) *Daemon {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.RetryBase <= 0 {
		o.RetryBase = DefaultRetryBase
	}
	d := &Daemon{o: o, metrics: NewMetrics(), reloadNotify: notifyReload, once: map[string]string{}}
	d.interval.Store(int64(DefaultInterval))
	return d
}

// Metrics returns the daemon's metrics (its own registry).
func (d *Daemon) Metrics() *Metrics { return d.metrics }

// Run loads the configuration, starts the HTTP server and runs the loop
// until ctx is done; it then stops the server and returns nil. It returns
// an error only when it cannot start: no valid configuration, or the
// listen address cannot be used.
func (d *Daemon) Run(ctx context.Context) error {
	cfg, err := d.o.Load()
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	d.apply(cfg)
	d.beat()

	var srv *http.Server
	ln := d.o.Listener
	if ln == nil && cfg.Listen != "" {
		ln, err = net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("service.listen %s: %w", cfg.Listen, err)
		}
	}
	serveDone := make(chan struct{})
	if ln != nil {
		srv = NewServer(d)
		d.o.Log.Info("serving /healthz, /readyz, /metrics", "address", ln.Addr().String())
		go func() {
			defer close(serveDone)
			if err := Serve(srv, ln, MaxConns); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.o.Log.Error("HTTP server stopped", "err", err)
			}
		}()
	} else {
		close(serveDone)
	}

	reload := d.o.Reload
	if reload == nil {
		ch, stop := d.reloadNotify()
		defer stop()
		reload = ch
	}

	d.loop(ctx, reload)

	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
		cancel()
		<-serveDone
	}
	d.o.Log.Info("stopped")
	return nil
}

// loop runs a cycle, waits, and again, until ctx is done.
func (d *Daemon) loop(ctx context.Context, reload <-chan struct{}) {
	for {
		d.reloadConfig()
		failed := d.cycle(ctx)
		d.cycles.Add(1)
		if ctx.Err() != nil {
			return
		}
		wait := d.nextWait(failed)
		d.beat()
		d.o.Log.Debug("next check", "in", wait.Round(time.Second))
		select {
		case <-ctx.Done():
			return
		case <-d.o.After(wait):
		case <-reload:
			d.o.Log.Info("reload requested: reading the configuration and checking now")
		}
	}
}

// nextWait is the interval after a good cycle; after n failed cycles in a
// row it is RetryBase·2^(n−1), capped at the interval. Both vary by ±Jitter.
func (d *Daemon) nextWait(failed bool) time.Duration {
	iv := d.cfg.Interval
	wait := iv
	if failed {
		d.failures++
		wait = d.o.RetryBase
		for i := 1; i < d.failures && wait < iv; i++ {
			wait *= 2
		}
		wait = min(wait, iv)
	} else {
		d.failures = 0
	}
	f := 1 + Jitter*(2*d.o.Rand()-1)
	return time.Duration(float64(wait) * f)
}

// reloadConfig reads the configuration again; a broken one is logged (once
// per distinct error) and the last good one kept.
func (d *Daemon) reloadConfig() {
	cfg, err := d.o.Load()
	if err != nil {
		if msg := err.Error(); msg != d.prevCfgErr {
			d.o.Log.Error("configuration not reloaded, keeping the last good one", "err", err)
			d.prevCfgErr = msg
		}
		return
	}
	d.prevCfgErr = ""
	d.apply(cfg)
}

// apply makes cfg the current configuration, logging what changed.
func (d *Daemon) apply(cfg Config) {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	old := d.cfg
	first := old.Inspect == nil
	d.cfg = cfg
	d.interval.Store(int64(cfg.Interval))
	if !first && cfg.Fingerprint == old.Fingerprint {
		return
	}
	for _, w := range cfg.Warnings {
		d.o.Log.Warn(w)
	}
	if first {
		d.o.Log.Info("configuration loaded", "interval", cfg.Interval, "install_auto", cfg.InstallAuto)
		return
	}
	d.o.Log.Info("configuration changed", "interval", cfg.Interval, "install_auto", cfg.InstallAuto)
	if cfg.Listen != old.Listen {
		d.o.Log.Warn("service.listen changed: restart the service to listen on the new address", "listening", old.Listen, "configured", cfg.Listen)
		d.cfg.Listen = old.Listen
	}
}

// cycle checks once, remediates when allowed and needed, and publishes the
// result. It reports whether the cycle failed (a panic, a remediation that
// failed, or a check that agentkeeper's own limits spoiled); one failed
// cycle never stops the loop.
func (d *Daemon) cycle(ctx context.Context) (failed bool) {
	defer func() {
		if r := recover(); r != nil {
			d.o.Log.Error("check cycle failed", "panic", fmt.Sprint(r))
			failed = true
		}
	}()
	cfg := d.cfg
	rep := cfg.Inspect(ctx)
	if ctx.Err() != nil {
		return false
	}
	if why := OwnLimit(reportTexts(rep)...); why != "" {
		// The machine was not judged: do not remediate on this report.
		d.internalError(why, cfg)
		return true
	}
	if cfg.InstallAuto && cfg.Ensure != nil && cfg.Plan != nil {
		switch plan := cfg.Plan(rep); {
		case plan.Action == ensure.ActionImpossible:
			d.logOnce("unsupported", "ensure cannot change the agent here: remediation skipped", "reason", plan.Reason)
		case plan.Acts():
			var msg string
			rep, failed, msg = d.remediate(ctx, cfg, rep, plan)
			if why := OwnLimit(append(reportTexts(rep), msg)...); why != "" {
				d.internalError(why, cfg)
				return true
			}
		}
	}
	if ctx.Err() != nil {
		return failed
	}
	d.internal.Store(nil)
	d.metrics.InternalError.Set(0)
	d.publish(rep, cfg)
	return failed
}

// internalError records that a cycle could not judge the machine because
// agentkeeper itself hit a limit of its own (descriptors): /healthz and
// /readyz answer 500 and say so, agentkeeper_internal_error is 1, and the
// last good report stays (neither it nor readiness is replaced by a report
// the limit spoiled) until a cycle succeeds.
func (d *Daemon) internalError(why string, cfg Config) {
	d.internal.Store(&why)
	d.metrics.InternalError.Set(1)
	d.logOnce("internal", "check cycle failed: agentkeeper hit its own limits, the machine was not judged (retrying sooner)", "err", why)
	if cfg.Textfile != "" {
		if err := d.metrics.WriteTextfile(cfg.Textfile); err != nil {
			d.logOnce("textfile", "cannot write the metrics textfile", "err", err)
		}
	}
}

// InternalError returns why the last cycle failed inside agentkeeper (see
// OwnLimit), or "" when it did not.
func (d *Daemon) InternalError() string {
	if p := d.internal.Load(); p != nil {
		return *p
	}
	return ""
}

// remediate runs Ensure and counts its result. It returns the report to
// publish (the one after Ensure, else rep), whether the remediation failed,
// and Ensure's message. A run that changed nothing (an update if offered
// that the repositories do not offer, the rolled-back version skipped) is
// not counted and logged once.
func (d *Daemon) remediate(ctx context.Context, cfg Config, rep *agent.Report, plan ensure.Plan) (*agent.Report, bool, string) {
	d.o.Log.Info("remediating: installing, updating or enabling the agent", "action", plan.Action, "if_offered", plan.IfOffered, "reason", plan.Reason,
		"version", nonEmpty(rep.Agent.Version, "none"), "minimum", rep.Agent.MinVersion)
	res := cfg.Ensure(ctx, d.rolledBack)
	if ctx.Err() != nil {
		return rep, false, ""
	}
	if res.Report != nil {
		rep = res.Report
	}
	if d.rolledBack != "" && res.Candidate != "" && res.Candidate != d.rolledBack {
		d.o.Log.Info("the repositories offer another agent version: the rolled-back one is no longer skipped", "offered", res.Candidate, "rolled_back", d.rolledBack)
		d.rolledBack = ""
	}
	switch {
	case res.Outcome == ensure.OutcomeSkipped:
		d.logOnce("rolledback", "not retrying the agent update that was rolled back: the repositories still offer only that version", "version", res.Candidate, "reason", res.Message)
		return rep, false, res.Message
	case res.Outcome == ensure.OutcomeRolledBack:
		d.rolledBack = res.RolledBack
		d.metrics.Remediations.WithLabelValues(ResultFailed).Inc()
		d.o.Log.Error("agent update rolled back: that version is not retried while the repositories offer nothing newer", "version", res.RolledBack, "reason", res.Message)
		return rep, true, res.Message
	case len(res.Actions) == 0 && (res.Outcome == "ready" || res.Outcome == "not-ready"):
		d.logOnce("unchanged", "ensure left the agent as it is", "outcome", res.Outcome, "reason", res.Message)
		return rep, false, res.Message
	}
	switch res.Outcome {
	case "ready":
		d.metrics.Remediations.WithLabelValues(ResultInstalled).Inc()
		d.o.Log.Info("installed agent", "version", res.VersionAfter, "before", nonEmpty(res.VersionBefore, "none"), "package", res.Plan.Package)
		return rep, false, res.Message
	case "deferred":
		d.metrics.Remediations.WithLabelValues(ResultDeferred).Inc()
		d.o.Log.Info("installation deferred: retrying next cycle", "reason", res.Message)
		return rep, false, res.Message
	default:
		d.metrics.Remediations.WithLabelValues(ResultFailed).Inc()
		d.o.Log.Error("installation failed", "outcome", res.Outcome, "reason", res.Message)
		return rep, true, res.Message
	}
}

// publish stores the report for the handlers, updates the metrics, writes
// the files and logs state changes once.
func (d *Daemon) publish(rep *agent.Report, cfg Config) {
	b, err := json.Marshal(rep)
	if err != nil {
		d.o.Log.Error("cannot encode the report", "err", err)
		b = []byte(`{"ready":false,"error":"cannot encode the report"}`)
	}
	d.report.Store(&b)
	d.ready.Store(rep.Ready)
	d.metrics.Update(rep, d.o.Now())

	if cfg.Textfile != "" {
		if err := d.metrics.WriteTextfile(cfg.Textfile); err != nil {
			d.logOnce("textfile", "cannot write the metrics textfile", "err", err)
		}
	}
	if cfg.ReportFile != "" {
		if err := writeAtomic(cfg.ReportFile, append(bytes.Clone(b), '\n')); err != nil {
			d.logOnce("reportfile", "cannot write the report file", "err", err)
		}
	}
	d.logChanges(rep)
}

// logChanges logs readiness and version changes, once each.
func (d *Daemon) logChanges(rep *agent.Report) {
	failing := failingChecks(rep)
	if d.prevReady == nil || *d.prevReady != rep.Ready || (!rep.Ready && failing != d.prevFailing) {
		if rep.Ready {
			d.o.Log.Info("became ready for Azure Backup", "agent", rep.Agent.Version)
		} else {
			d.o.Log.Warn("became not ready for Azure Backup", "failing", failing)
		}
	}
	if d.prevReady != nil && rep.Agent.Version != d.prevVersion {
		d.o.Log.Info("agent version changed", "from", nonEmpty(d.prevVersion, "none"), "to", nonEmpty(rep.Agent.Version, "none"))
	}
	r := rep.Ready
	d.prevReady, d.prevVersion, d.prevFailing = &r, rep.Agent.Version, failing
}

// logOnce logs a warning the first time key is seen with this message
// and these arguments; only the loop calls it.
func (d *Daemon) logOnce(key, msg string, args ...any) {
	v := fmt.Sprint(msg, args)
	if d.once[key] == v {
		return
	}
	d.once[key] = v
	d.o.Log.Warn(msg, args...)
}

func failingChecks(rep *agent.Report) string {
	var ids []string
	for _, c := range rep.Checks {
		if c.Status == agent.StatusFail {
			ids = append(ids, string(c.ID))
		}
	}
	return strings.Join(ids, ",")
}

func (d *Daemon) beat() { d.heartbeat.Store(d.o.Now().UnixNano()) }

// Report returns the last report as JSON, or nil before the first check.
func (d *Daemon) Report() []byte {
	if p := d.report.Load(); p != nil {
		return *p
	}
	return nil
}

// Ready reports whether the last check found the machine ready.
func (d *Daemon) Ready() bool { return d.ready.Load() }

// Alive reports whether the loop has shown a sign of life within twice the
// interval plus a margin.
func (d *Daemon) Alive() bool {
	last := time.Unix(0, d.heartbeat.Load())
	return d.o.Now().Sub(last) <= 2*time.Duration(d.interval.Load())+healthMargin
}

// writeAtomic writes data to a temporary file next to path and renames it
// into place, so that readers see the old or the new file, never half.
func writeAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, werr := f.Write(data)
	if err := f.Chmod(0o644); err != nil && werr == nil {
		werr = err
	}
	if err := f.Close(); err != nil && werr == nil {
		werr = err
	}
	if werr == nil {
		werr = os.Rename(tmp, path)
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	return nil
}

func nonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}
