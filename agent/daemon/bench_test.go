//go:build !windows

package daemon

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/agent/agenttest"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// writeImage writes agenttest.DebianImage under dir (agenttest.Tree takes a
// *testing.T, a benchmark has a *testing.B).
func writeImage(b *testing.B, dir string) {
	for name, content := range agenttest.DebianImage("2.7.3.0-4.1") {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(content, "->"); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCycle measures one check cycle (inspect, metrics, report JSON,
// textfile and report file) on a Debian 12 image.
func BenchmarkCycle(b *testing.B) {
	dir := b.TempDir()
	writeImage(b, filepath.Join(dir, "root"))
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
