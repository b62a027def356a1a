package ensure

import (
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/agent"
)

func rep(installed bool, ver string, svc agent.Status) *agent.Report {
	r := &agent.Report{}
	r.Agent.Installed, r.Agent.PackageVersion = installed, ver
	inst := agent.StatusPass
	if !installed {
		inst = agent.StatusFail
	}
	r.Add(agent.Check{ID: agent.IDAgentInstalled, Status: inst, Message: "package waagent " + ver + " state"})
	r.Add(agent.Check{ID: agent.IDAgentService, Status: svc, Message: "unit waagent.service " + string(svc)})
	return r
}

func TestWorse(t *testing.T) {
	for _, tc := range []struct {
		desc          string
		before, after *agent.Report
		want          string // "" or a part of the reason
		candidate     string // the version the repositories offered
	}{
		{"half-configured after the update", rep(true, "2.2.45-1", agent.StatusPass), rep(false, "2.10.0.8-1", agent.StatusSkip), "2.10.0.8-1 state", ""},
		{"the unit fails now", rep(true, "2.2.45-1", agent.StatusPass), rep(true, "2.10.0.8-1", agent.StatusFail), "waagent.service fail", ""},
		{"the unit failed before too", rep(true, "2.2.45-1", agent.StatusFail), rep(true, "2.10.0.8-1", agent.StatusFail), "", ""},
		{"nothing changed (the update failed cleanly)", rep(true, "2.2.45-1", agent.StatusPass), rep(true, "2.2.45-1", agent.StatusPass), "", ""},
		{"updated and fine", rep(true, "2.2.45-1", agent.StatusPass), rep(true, "2.10.0.8-1", agent.StatusPass), "", "2.10.0.8-1"},
		{"another version than the one offered", rep(true, "2.2.45-1", agent.StatusPass), rep(true, "2.2.50-1", agent.StatusPass),
			"at 2.2.50-1, not the 2.10.0.8-1 that was installed", "2.10.0.8-1"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got := worse(tc.before, tc.after, tc.candidate)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("worse = %q, want %q", got, tc.want)
			}
		})
	}
}
