// Package lockprobetest starts helper processes that hold file locks, so
// that tests can probe a lock held by a real other process. Only tests
// import it.
package lockprobetest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Kind is the kind of lock a helper takes.
type Kind string

// The lock kinds a helper can hold on the whole file.
const (
	// Write is a classic POSIX exclusive lock (fcntl F_SETLKW, F_WRLCK), as
	// Python's fcntl.lockf(f, LOCK_EX) takes.
	Write Kind = "write"
	// Read is a classic POSIX shared lock (F_RDLCK).
	Read Kind = "read"
	// OFDWrite is an exclusive open-file-description lock (F_OFD_SETLKW).
	OFDWrite Kind = "ofd-write"
)

// envVar carries "kind:path" to a helper process.
const envVar = "AGENTKEEPER_LOCKPROBETEST_HOLD"

// Holder is a running helper process holding a lock.
type Holder struct {
	// PID is the helper's process id.
	PID   int
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  bool
}

// RunIfHelper must be called at the start of TestMain of every test
// package that uses Hold. In a helper process it takes the lock, prints
// "locked", holds the lock until its standard input closes and then exits;
// it never returns there. In the test process itself it does nothing.
func RunIfHelper() {
	v, ok := os.LookupEnv(envVar)
	if !ok {
		return
	}
	kind, path, _ := strings.Cut(v, ":")
	f, err := hold(Kind(kind), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lock helper:", err)
		os.Exit(2)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	// f must not be collected (and closed, dropping the lock) before here.
	runtime.KeepAlive(f)
	os.Exit(0)
}

// Hold starts a copy of the test binary that holds a lock of the given
// kind on path, and returns once the lock is held. The helper is killed
// when the test ends, or earlier by Release.
func Hold(t testing.TB, path string, kind Kind) *Holder {
	t.Helper()
	if err := supported(); err != nil {
		t.Skip(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envVar+"="+string(kind)+":"+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &Holder{PID: cmd.Process.Pid, cmd: cmd, stdin: stdin}
	t.Cleanup(h.Release)

	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- s
		io.Copy(io.Discard, stdout)
	}()
	select {
	case s := <-line:
		if strings.TrimSpace(s) != "locked" {
			t.Fatalf("lock helper for %s did not lock (said %q); does TestMain call lockprobetest.RunIfHelper?", path, s)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("lock helper for %s: no answer in 20s", path)
	}
	return h
}

// Release kills the helper and waits for it, which drops its lock. It may
// be called more than once.
func (h *Holder) Release() {
	if h.done {
		return
	}
	h.done = true
	h.stdin.Close()
	h.cmd.Process.Kill()
	h.cmd.Wait()
}
