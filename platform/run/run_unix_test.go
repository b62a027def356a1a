//go:build !windows

package run

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestExec(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		desc       string
		cmd        Cmd
		wantCode   int
		wantOut    string
		wantErrOut string
		wantTail   string // Tail(1)
		wantErr    bool
		wantIs     error
	}{
		{desc: "true", cmd: Cmd{Argv: []string{"true"}}},
		{desc: "false is exit 1, not an error", cmd: Cmd{Argv: []string{"false"}}, wantCode: 1},
		{
			desc:       "exit 3 keeps stdout and stderr",
			cmd:        Cmd{Argv: []string{"sh", "-c", "echo out; echo err >&2; exit 3"}},
			wantCode:   3,
			wantOut:    "out\n",
			wantErrOut: "err\n",
			wantTail:   "err",
		},
		{
			desc:    "argv is not a shell string",
			cmd:     Cmd{Argv: []string{"echo", "a; echo b", "$HOME"}},
			wantOut: "a; echo b $HOME\n",
		},
		{
			desc:    "Env is added to the inherited environment",
			cmd:     Cmd{Argv: []string{"sh", "-c", `echo "$AK_TEST_VAR:${PATH:+path}"`}, Env: []string{"AK_TEST_VAR=hello"}},
			wantOut: "hello:path\n",
		},
		{
			desc:    "Dir is the working directory",
			cmd:     Cmd{Argv: []string{"pwd"}, Dir: dir},
			wantOut: dir + "\n",
		},
		{
			desc:    "missing program",
			cmd:     Cmd{Argv: []string{"agentkeeper-no-such-program"}},
			wantErr: true,
			wantIs:  exec.ErrNotFound,
		},
		{
			desc:    "missing working directory",
			cmd:     Cmd{Argv: []string{"true"}, Dir: dir + "/nothing"},
			wantErr: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			res, err := Exec{}.Run(context.Background(), tc.cmd)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Run(%s) = %+v, want an error", tc.cmd, res)
				}
				if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
					t.Errorf("Run(%s) error %q is not %v", tc.cmd, err, tc.wantIs)
				}
				if !strings.Contains(err.Error(), tc.cmd.Argv[0]) {
					t.Errorf("Run(%s) error %q does not name the program", tc.cmd, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run(%s): %v", tc.cmd, err)
			}
			if res.ExitCode != tc.wantCode {
				t.Errorf("ExitCode = %d, want %d", res.ExitCode, tc.wantCode)
			}
			if string(res.Stdout) != tc.wantOut {
				t.Errorf("Stdout = %q, want %q", res.Stdout, tc.wantOut)
			}
			if string(res.Stderr) != tc.wantErrOut {
				t.Errorf("Stderr = %q, want %q", res.Stderr, tc.wantErrOut)
			}
			if tc.wantTail != "" {
				if got := res.Tail(1); got != tc.wantTail {
					t.Errorf("Tail(1) = %q, want %q", got, tc.wantTail)
				}
			}
		})
	}
}

// TestExecContext checks that an ended context stops the command promptly,
// also when the command left a child holding its output open.
func TestExecContext(t *testing.T) {
	tests := []struct {
		desc string
		argv []string
	}{
		{desc: "sleep", argv: []string{"sleep", "10"}},
		{desc: "shell whose child keeps the output pipe", argv: []string{"sh", "-c", "sleep 10; echo done"}},
		{desc: "background child keeps the output pipe", argv: []string{"sh", "-c", "sleep 10 & wait"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			type out struct {
				res Result
				err error
			}
			done := make(chan out, 1)
			go func() {
				res, err := Exec{}.Run(ctx, Cmd{Argv: tc.argv})
				done <- out{res, err}
			}()
			select {
			case o := <-done:
				if !errors.Is(o.err, context.DeadlineExceeded) {
					t.Errorf("error = %v, want %v", o.err, context.DeadlineExceeded)
				}
				if o.err != nil && !strings.Contains(o.err.Error(), tc.argv[0]) {
					t.Errorf("error %q does not name the command", o.err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run still running 5s after its context ended")
			}
		})
	}
}

func TestExecOutputCap(t *testing.T) {
	tests := []struct {
		desc     string
		script   string
		wantOut  int
		wantErrb int
	}{
		{desc: "10 MB on stdout", script: "head -c 10000000 /dev/zero", wantOut: maxOutput},
		{desc: "10 MB on stderr", script: "head -c 10000000 /dev/zero >&2", wantErrb: maxOutput},
		{desc: "small output kept whole", script: "printf 12345", wantOut: 5},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			res, err := Exec{}.Run(context.Background(), Cmd{Argv: []string{"sh", "-c", tc.script}})
			if err != nil {
				t.Fatal(err)
			}
			if res.ExitCode != 0 {
				t.Errorf("ExitCode = %d, want 0 (the command must not be cut off by the cap)", res.ExitCode)
			}
			if len(res.Stdout) != tc.wantOut || len(res.Stderr) != tc.wantErrb {
				t.Errorf("kept %d bytes of stdout, %d of stderr; want %d and %d", len(res.Stdout), len(res.Stderr), tc.wantOut, tc.wantErrb)
			}
			if len(res.Stdout) > 4<<20 || len(res.Stderr) > 4<<20 {
				t.Errorf("kept more than 4 MiB")
			}
			if tc.wantOut == maxOutput && !bytes.Equal(res.Stdout[:16], make([]byte, 16)) {
				t.Errorf("Stdout does not start with the command's first bytes")
			}
		})
	}
}

// TestExecBackgroundChild checks a command that exits at once but leaves a
// child holding its output open (a daemon that forgot to close stdout): the
// command's own result counts, not an error.
func TestExecBackgroundChild(t *testing.T) {
	res, err := Exec{}.Run(context.Background(), Cmd{Argv: []string{"sh", "-c", "sleep 3 & echo started"}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.ExitCode != 0 || string(res.Stdout) != "started\n" {
		t.Errorf("Run = exit %d, stdout %q; want exit 0, stdout %q", res.ExitCode, res.Stdout, "started\n")
	}
}
