package backup_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/agent/backup"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/lockprobe/lockprobetest"
)

// TestDetectRealLock has a real other process hold the SafeFreeze lock the
// way the extension does (an exclusive POSIX record lock) inside a
// temporary root, and probes it with the real lockprobe.
func TestDetectRealLock(t *testing.T) {
	root := t.TempDir()
	p := filepath.Join(root, filepath.FromSlash(backup.SafeFreezeLockFile))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := backup.Options{Root: fsroot.New(root), Family: "linux", Now: time.Now}

	if res := backup.Detect(opts); res.Running || len(res.Notes) != 0 {
		t.Fatalf("before locking: %+v, want not running and no notes", res)
	}

	h := lockprobetest.Hold(t, p, lockprobetest.Write)
	res := backup.Detect(opts)
	if !res.Running || len(res.Evidence) != 1 || res.Evidence[0].Kind != backup.KindLock ||
		!strings.Contains(res.Evidence[0].What, fmt.Sprint("pid ", h.PID)) || res.Evidence[0].Where != p {
		t.Errorf("while pid %d holds the lock: %+v", h.PID, res)
	}

	h.Release()
	if res := backup.Detect(opts); res.Running || len(res.Notes) != 0 {
		t.Errorf("after release: %+v, want not running and no notes", res)
	}
}
