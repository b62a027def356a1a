// Package run runs external commands as argv, never through a shell, so
// that package managers and service managers can be driven safely and,
// in tests, recorded and made to fail on purpose.
package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Cmd is one command to run.
type Cmd struct {
	// Argv is the program and its arguments; Argv[0] is looked up in PATH.
	Argv []string
	// Env holds extra KEY=VALUE pairs added to the inherited environment.
	Env []string
	// Dir is the working directory ("" for the current one).
	Dir string
}

// String renders the command for logs and error messages.
func (c Cmd) String() string { return strings.Join(c.Argv, " ") }

// Result is what a finished command left behind.
type Result struct {
	ExitCode int
	Stdout   []byte
	Stderr   []byte
}

// Runner runs commands. A non-zero exit is not an error from Run: callers
// read Result.ExitCode. Run returns an error only when the command could not
// be run at all (not found, not executable, context ended).
type Runner interface {
	Run(ctx context.Context, c Cmd) (Result, error)
}

// maxOutput caps how much of a command's output is kept in memory.
const maxOutput = 4 << 20

// Exec is the Runner that starts real processes.
type Exec struct{}

// Run implements Runner.
func (Exec) Run(ctx context.Context, c Cmd) (Result, error) {
	if len(c.Argv) == 0 {
		return Result{}, errors.New("run: empty command")
	}
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	var out, errb capped
	cmd.Stdout = &out
	cmd.Stderr = &errb
	err := cmd.Run()
	res := Result{Stdout: out.Bytes(), Stderr: errb.Bytes()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return res, fmt.Errorf("%s: %w", c, ctx.Err())
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	default:
		return res, fmt.Errorf("%s: %w", c, err)
	}
	return res, nil
}

// Tail returns the last n lines of a command's combined output, for error
// messages that show what went wrong.
func (r Result) Tail(n int) string {
	all := strings.TrimRight(string(r.Stdout)+"\n"+string(r.Stderr), "\n ")
	lines := strings.Split(strings.TrimLeft(all, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// capped is a buffer that keeps at most maxOutput bytes.
type capped struct{ bytes.Buffer }

func (c *capped) Write(p []byte) (int, error) {
	if room := maxOutput - c.Len(); room > 0 {
		if len(p) > room {
			c.Buffer.Write(p[:room])
		} else {
			c.Buffer.Write(p)
		}
	}
	return len(p), nil
}
