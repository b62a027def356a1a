//go:build !windows

package daemon

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/agenttest"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// BenchmarkCycle measures one check cycle (inspect, metrics, report JSON,
// textfile and report file) on a Debian 12 image.
func BenchmarkCycle(b *testing.B) {
	dir := b.TempDir()
	agenttest.Tree(b, filepath.Join(dir, "root"), agenttest.DebianImage("2.7.3.0-4.1"))
	opts := agent.Options{Root: fsroot.New(filepath.Join(dir, "root"))}
	d := New(Options{})
	d.apply(Config{Interval: time.Hour,
		Textfile:   filepath.Join(dir, "agentkeeper.prom"),
		ReportFile: filepath.Join(dir, "report.json"),
		Inspect:    func(ctx context.Context) *agent.Report { return agent.Inspect(ctx, opts) }})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if d.cycle(ctx) {
			b.Fatal("cycle failed")
		}
	}
	if !d.Ready() {
		b.Fatalf("image not ready: %s", d.Report())
	}
}
