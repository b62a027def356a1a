//go:build !windows

package run

import (
	"context"
	"os/exec"
	"slices"
	"testing"
)

// TestExecOutput runs a real command: its lines arrive through Output and
// its Result still holds the whole output.
func TestExecOutput(t *testing.T) {
	printf, err := exec.LookPath("printf")
	if err != nil {
		t.Fatalf("printf: %v", err)
	}
	var got []string
	r := WithOutput(Exec{}, func(s string) { got = append(got, s) })
	res, err := r.Run(context.Background(), Cmd{Argv: []string{printf, `Get:1 a\nGet:2 b\r\nSetting up c`}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%v exit %d", err, res.ExitCode)
	}
	if want := []string{"Get:1 a", "Get:2 b", "Setting up c"}; !slices.Equal(got, want) {
		t.Errorf("lines %q, want %q", got, want)
	}
	if string(res.Stdout) != "Get:1 a\nGet:2 b\r\nSetting up c" {
		t.Errorf("stdout %q", res.Stdout)
	}
	if e, ok := WithOutput(Exec{}, nil).(Exec); !ok || e.Output != nil {
		t.Error("WithOutput with no line func changed the runner")
	}
}
