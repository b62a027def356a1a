//go:build linux

package agent

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/osinfo"
)

// TestBootProbesThisMachine runs the boot probes live on this machine and
// checks each answer against what the machine itself says: its /boot, its
// GRUB files and /proc/cmdline, read here without the packages under test.
func TestBootProbesThisMachine(t *testing.T) {
	tg := &Target{Root: fsroot.New("/"), Live: true, OS: osinfo.Info{Family: FamilyLinux}, Report: &Report{}}
	kernels, _ := filepath.Glob("/boot/vmlinuz-*")
	h := bootHyperVProbe(context.Background(), tg)
	t.Logf("boot.hyperv: %s: %s", h.Status, h.Message)
	if len(kernels) == 0 {
		if h.Status != StatusSkip || !strings.Contains(h.Message, "no kernel in /boot") {
			t.Errorf("no /boot/vmlinuz-* here, boot.hyperv = %+v, want a skip saying so", h)
		}
	} else if !strings.Contains(h.Message, "kernel ") {
		t.Errorf("boot.hyperv names no kernel: %+v", h)
	}

	grub := false
	for _, p := range []string{"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/etc/default/grub"} {
		if _, err := os.Stat(p); err == nil {
			grub = true
		}
	}
	c := bootConsoleProbe(context.Background(), tg)
	t.Logf("boot.console: %s: %s", c.Status, c.Message)
	if grub {
		if c.Status == StatusSkip {
			t.Errorf("GRUB configuration here, boot.console skipped: %+v", c)
		}
		return
	}
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	want := StatusWarn
	for _, w := range strings.Fields(string(cmdline)) {
		if w == "console=ttyS0" || strings.HasPrefix(w, "console=ttyS0,") {
			want = StatusPass
		}
	}
	if c.Status != want || !strings.Contains(c.Message, "running kernel's command line") {
		t.Errorf("no GRUB here and /proc/cmdline is %q: boot.console = %+v, want %s from the running kernel's command line", cmdline, c, want)
	}
}
