package daemon

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/agentkeeper/agentkeeper/agent"
)

// Metrics are the daemon's Prometheus metrics, in a registry of their own
// (not the global one): only these are served and written.
type Metrics struct {
	// Registry holds every metric below.
	Registry *prometheus.Registry

	Ready         prometheus.Gauge
	AgentInfo     *prometheus.GaugeVec
	CheckStatus   *prometheus.GaugeVec
	BackupRunning prometheus.Gauge
	LastCheck     prometheus.Gauge
	Remediations  *prometheus.CounterVec
	// InternalError is 1 while the last cycle failed inside agentkeeper
	// (too many open files); the other gauges are then the last good ones.
	InternalError prometheus.Gauge
}

// statuses are every check status, so that each check has one series per
// status (1 for the current one, 0 for the others).
var statuses = []agent.Status{agent.StatusPass, agent.StatusWarn, agent.StatusFail, agent.StatusSkip}

// NewMetrics registers the metrics in a new registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Ready: prometheus.NewGauge(prometheus.GaugeOpts{Name: "agentkeeper_ready",
			Help: "1 when the last check found the machine ready for Azure Backup, else 0."}),
		AgentInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "agentkeeper_agent_info",
			Help: "The Azure VM agent found by the last check (version empty when not installed); always 1."},
			[]string{"version", "package"}),
		CheckStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "agentkeeper_check_status",
			Help: "1 for the current status (pass, warn, fail, skip) of each check of the last check, else 0."},
			[]string{"check", "status"}),
		BackupRunning: prometheus.NewGauge(prometheus.GaugeOpts{Name: "agentkeeper_backup_running",
			Help: "1 when the last check saw an Azure Backup snapshot running, else 0."}),
		LastCheck: prometheus.NewGauge(prometheus.GaugeOpts{Name: "agentkeeper_last_check_timestamp_seconds",
			Help: "Unix time of the last completed check."}),
		Remediations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "agentkeeper_remediations_total",
			Help: "Installations or updates of the agent attempted by the service, by result (installed, deferred, failed)."},
			[]string{"result"}),
	}
	m.InternalError = prometheus.NewGauge(prometheus.GaugeOpts{Name: "agentkeeper_internal_error",
		Help: "1 when the last check cycle failed inside agentkeeper (it ran out of open files): the machine was not judged, and the other metrics are from the last good check; else 0."})
	m.Registry.MustRegister(m.Ready, m.AgentInfo, m.CheckStatus, m.BackupRunning, m.LastCheck, m.Remediations, m.InternalError)
	for _, r := range []string{ResultInstalled, ResultDeferred, ResultFailed} {
		m.Remediations.WithLabelValues(r)
	}
	return m
}

// Update sets the gauges from a report taken at now.
func (m *Metrics) Update(rep *agent.Report, now time.Time) {
	m.Ready.Set(b2f(rep.Ready))
	m.AgentInfo.Reset()
	m.AgentInfo.WithLabelValues(rep.Agent.Version, rep.Agent.Package).Set(1)
	m.CheckStatus.Reset()
	for _, c := range rep.Checks {
		for _, s := range statuses {
			m.CheckStatus.WithLabelValues(string(c.ID), string(s)).Set(b2f(c.Status == s))
		}
	}
	m.BackupRunning.Set(b2f(rep.Backup.Running))
	m.LastCheck.Set(float64(now.UnixNano()) / 1e9)
}

// WriteTextfile writes the metrics in the Prometheus text format for
// node_exporter's textfile collector, atomically (a temporary file in the
// same folder, then a rename).
func (m *Metrics) WriteTextfile(path string) error {
	return prometheus.WriteToTextfile(path, m.Registry)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
