//go:build linux

package agent

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/agent/agenttest"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/osinfo"
)

// backupPathChecks are the checks issue 12 added to a Linux image's
// inspection (agent.python's deeper look is timed with them).
var backupPathChecks = []CheckID{IDBackupScripts, IDBackupConfig, IDBackupFreeze, IDBackupExtension, IDNetworkProxy}

// BenchmarkBackupPathChecks times what the backup-path checks add to one
// `check --root`: their probes and the agent.python search, on the image
// in $AGENTKEEPER_BENCH_ROOT (e2e/debian/bench.sh points it at the real
// Debian 12 root with the real agent), else on the Debian fixture tree.
func BenchmarkBackupPathChecks(b *testing.B) {
	dir := os.Getenv("AGENTKEEPER_BENCH_ROOT")
	if dir == "" {
		dir = b.TempDir()
		t := &testing.T{}
		agenttest.Tree(t, dir, agenttest.DebianImage("2.7.3.0-4.1"))
	}
	tg := &Target{Root: fsroot.New(dir), OS: osinfo.Info{Family: FamilyLinux}, Now: time.Now,
		Report: &Report{Agent: AgentReport{Service: "walinuxagent.service", Package: "waagent"}}}
	var probes []func(context.Context, *Target) Check
	for _, id := range backupPathChecks {
		d, ok := Lookup(id)
		if !ok || d.Probe == nil {
			b.Fatalf("%s has no probe", id)
		}
		probes = append(probes, d.Probe)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, p := range probes {
			if c := p(ctx, tg); c.Status == "" {
				b.Fatal("probe returned no status")
			}
		}
		findAgentPython(tg.Root, "walinuxagent.service")
	}
}
