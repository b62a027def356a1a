//go:build !windows

package ensure

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"testing"
)

// lockHolder is a child process holding the ensure lock.
type lockHolder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// holdLock returns once a child process holds the lock at path; the child
// is killed when the test ends.
func holdLock(t *testing.T, path string) *lockHolder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "ENSURE_TEST_HOLD_LOCK="+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &lockHolder{cmd: cmd, stdin: stdin}
	t.Cleanup(h.kill)
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "locked\n" {
		t.Fatalf("child did not take the lock: %q", line)
	}
	return h
}

// release lets the child exit normally and returns once it has: its lock
// is gone.
func (h *lockHolder) release(t *testing.T) {
	h.stdin.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("lock holder: %v", err)
	}
}

// kill ends the child with SIGKILL: no cleanup of its own.
func (h *lockHolder) kill() {
	if h.cmd.ProcessState == nil {
		h.cmd.Process.Kill()
		h.cmd.Wait()
	}
}
