//go:build linux

package debiantest

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServiceWithoutSystemd runs `agentkeeper service status|install|start`
// inside a real Debian 12 root through chroot, where systemd is not running
// (no /run/systemd/system): status says so plainly, install refuses and
// writes nothing (no SysV script in /etc/init.d, no unit), and with the
// packaged unit file and its wants link in place status says the unit is
// installed and enabled.
func TestServiceWithoutSystemd(t *testing.T) {
	root := unpack(t, rootBase)
	bin := filepath.Join(root, "usr/local/bin/agentkeeper")
	data, err := os.ReadFile(binPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "run/systemd/system")); err == nil {
		t.Fatal("the base root has /run/systemd/system")
	}
	svc := func(action string) (int, string, string) {
		t.Helper()
		cmd := exec.CommandContext(context.Background(), "chroot", root, "/usr/local/bin/agentkeeper", "service", action)
		cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"}
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, out.String(), errb.String()
	}

	code, out, _ := svc("status")
	if code != 1 || !strings.Contains(out, "systemd is not running here") || !strings.Contains(out, "agentkeeper.service is not installed") {
		t.Errorf("status: exit %d, %q", code, out)
	}
	before, _ := os.ReadDir(filepath.Join(root, "etc/init.d"))
	code, _, stderr := svc("install")
	if code != 1 || !strings.Contains(stderr, "systemd is not running here") || !strings.Contains(stderr, "nothing was written") {
		t.Errorf("install: exit %d, %q", code, stderr)
	}
	for _, p := range []string{"etc/init.d/agentkeeper", "etc/systemd/system/agentkeeper.service", "lib/systemd/system/agentkeeper.service"} {
		if _, err := os.Lstat(filepath.Join(root, p)); err == nil {
			t.Errorf("service install wrote /%s", p)
		}
	}
	if after, _ := os.ReadDir(filepath.Join(root, "etc/init.d")); len(after) != len(before) {
		t.Errorf("/etc/init.d changed: %d entries before, %d after", len(before), len(after))
	}
	code, _, stderr = svc("start")
	if code != 1 || !strings.Contains(stderr, "cannot be done without systemd") {
		t.Errorf("start: exit %d, %q", code, stderr)
	}

	// The unit as the .deb installs it, enabled for the next boot.
	unit := filepath.Join(root, "lib/systemd/system/agentkeeper.service")
	if err := os.WriteFile(unit, []byte("[Service]\nExecStart=/usr/bin/agentkeeper run\n[Install]\nWantedBy=multi-user.target\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wants := filepath.Join(root, "etc/systemd/system/multi-user.target.wants")
	if err := os.MkdirAll(wants, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/lib/systemd/system/agentkeeper.service", filepath.Join(wants, "agentkeeper.service")); err != nil {
		t.Fatal(err)
	}
	code, out, _ = svc("status")
	if code != 1 || !strings.Contains(out, "agentkeeper.service is installed and enabled in the file system") {
		t.Errorf("status with the unit enabled: exit %d, %q", code, out)
	}
}
