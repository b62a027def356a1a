// Package run runs external commands as argv, never through a shell, so
// that package managers and service managers can be driven safely and,
// in tests, recorded and made to fail on purpose.
package run

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
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

// waitDelay is how long Run waits for a killed command's output to close.
const waitDelay = 500 * time.Millisecond

// Exec is the Runner that starts real processes.
type Exec struct {
	// Output, when set, gets each line of the command's output as soon as
	// it is complete (see WithOutput); the Result holds the output anyway.
	Output func(line string)
}

// Run implements Runner.
func (e Exec) Run(ctx context.Context, c Cmd) (Result, error) {
	if len(c.Argv) == 0 {
		return Result{}, errors.New("run: empty command")
	}
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	// Once the context ends and the process is killed, stop waiting for its
	// output: a child it left behind may hold the pipes open for much longer.
	cmd.WaitDelay = waitDelay
	ownGroup(cmd)
	if len(c.Env) > 0 {
		cmd.Env = append(os.Environ(), c.Env...)
	}
	var out, errb capped
	cmd.Stdout = &out
	cmd.Stderr = &errb
	if e.Output != nil {
		// One writer per stream: os/exec copies each pipe in its own goroutine.
		ol, el := &lineWriter{line: e.Output}, &lineWriter{line: e.Output}
		defer ol.Flush()
		defer el.Flush()
		cmd.Stdout = io.MultiWriter(&out, ol)
		cmd.Stderr = io.MultiWriter(&errb, el)
	}
	err := cmd.Run()
	res := Result{Stdout: out.Bytes(), Stderr: errb.Bytes()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return res, fmt.Errorf("%s: %w", c, ctx.Err())
	case errors.As(err, &ee):
		res.ExitCode = ee.ExitCode()
	case errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil:
		// It exited (successfully), but a child it left in the background
		// still holds its output open: what was read so far is the result.
		res.ExitCode = cmd.ProcessState.ExitCode()
	default:
		return res, fmt.Errorf("%s: %w", c, err)
	}
	return res, nil
}

// Tail returns the last n lines of a command's output, stdout's lines then
// stderr's, for error messages that show what went wrong. Trailing blank
// lines and carriage returns are dropped.
func (r Result) Tail(n int) string {
	if n <= 0 {
		return ""
	}
	var lines []string
	for _, b := range [][]byte{r.Stdout, r.Stderr} {
		s := strings.TrimRight(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n ")
		s = strings.TrimLeft(s, "\n")
		if s != "" {
			lines = append(lines, strings.Split(s, "\n")...)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// capped is a buffer that keeps at most maxOutput bytes and throws the
// rest away (still accepting it, so the command is not cut off). The buffer
// is a named field, not embedded: an embedded bytes.Buffer would bring its
// ReadFrom, which io.Copy prefers and which would bypass the cap.
type capped struct{ buf bytes.Buffer }

func (c *capped) Write(p []byte) (int, error) {
	if room := maxOutput - c.buf.Len(); room > 0 {
		if len(p) > room {
			c.buf.Write(p[:room])
		} else {
			c.buf.Write(p)
		}
	}
	return len(p), nil
}

// Bytes returns what was kept.
func (c *capped) Bytes() []byte { return c.buf.Bytes() }

// Sleep waits d or until ctx ends, whichever comes first; it returns the
// context's error in the second case. Retry loops use it so that a stop
// request is never held up by a wait.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
