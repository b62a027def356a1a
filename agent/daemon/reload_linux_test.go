package daemon

import (
	"context"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/agent"
)

func TestSIGHUPReloads(t *testing.T) {
	tests := []struct {
		desc     string
		signals  int
		minLoads int32
	}{
		{desc: "one SIGHUP reads the config and checks again", signals: 1, minLoads: 3},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var loads atomic.Int32
			cfg := Config{Interval: time.Hour, Inspect: func(context.Context) *agent.Report { return good }}
			clk := newClock()
			d := New(Options{
				Load:  func() (Config, error) { loads.Add(1); return cfg, nil },
				After: clk.After,
				Rand:  func() float64 { return 0.5 },
			})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx) }()
			defer func() {
				cancel()
				select {
				case <-done:
				case <-time.After(hangGuard):
					t.Error("Run did not return")
				}
			}()
			// The handler is installed before the first cycle: after its
			// wait, SIGHUP must not kill the test but start a cycle.
			for i := 0; i <= tc.signals; i++ {
				select {
				case <-clk.waits:
				case <-time.After(hangGuard):
					t.Fatalf("cycle %d did not happen", i+1)
				}
				if i < tc.signals {
					if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
						t.Fatal(err)
					}
				}
			}
			if got := loads.Load(); got < tc.minLoads {
				t.Errorf("config loaded %d times, want at least %d", got, tc.minLoads)
			}
		})
	}
}
