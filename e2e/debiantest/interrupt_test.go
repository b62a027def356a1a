//go:build linux

package debiantest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGTERM while ensure waits for a running backup: exit 75 (interrupted:
// retry), nothing changed, and the message says what state the package is
// in. The real binary, a real Debian 12 root, a real held SafeFreeze lock.
func TestEnsureSIGTERMDuringBackupWait(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootWaagent)
	lock := lockEnv(t)
	lockFile := filepath.Join(root, safeFreezeLock)
	if err := os.MkdirAll(filepath.Dir(lockFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lockFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	holdLock(t, lockFile)
	before := readFile(t, filepath.Join(root, "var/lib/dpkg/status"))

	// min 2.8 makes the installed 2.7.3.0 an update to do; the backup blocks it.
	cmd := exec.Command(binPath, "ensure", "--root", root, "--json", "--wait-backup", "10m")
	cmd.Env = append(cleanEnv(), lock, "AGENTKEEPER_LINUX_MIN_VERSION=2.8", "AGENTKEEPER_BACKUP_POLL=1s")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	waiting := make(chan struct{})
	var errText bytes.Buffer
	go func() {
		sc := bufio.NewScanner(io.TeeReader(stderr, &errText))
		for sc.Scan() {
			if strings.Contains(sc.Text(), "backup running") {
				close(waiting)
				break
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case <-waiting:
	case <-time.After(2 * time.Minute):
		t.Fatalf("ensure did not start waiting for the backup; stderr:\n%s", errText.String())
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != 75 {
		t.Fatalf("after SIGTERM: %v, want exit 75; stderr:\n%s", err, errText.String())
	}
	t.Logf("exit 75 %s after SIGTERM", time.Since(start).Round(time.Millisecond))
	var res ensureResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("stdout is not the ensure JSON: %v\n%s", err, stdout.String())
	}
	for _, want := range []string{"interrupted", "nothing was changed", "installed, version 2.7.3.0", "retry"} {
		if !strings.Contains(res.Message, want) {
			t.Errorf("message %q does not say %q", res.Message, want)
		}
	}
	if res.Outcome != "deferred" || len(res.Actions) != 0 {
		t.Errorf("outcome %q actions %+v, want deferred and none", res.Outcome, res.Actions)
	}
	if !bytes.Equal(before, readFile(t, filepath.Join(root, "var/lib/dpkg/status"))) {
		t.Error("the dpkg database changed")
	}
}
