package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/diskfree"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/osinfo"
	"github.com/agentkeeper/agentkeeper/platform/registry"
)

func TestJudgeSpace(t *testing.T) {
	const G = 1 << 30
	tests := []struct {
		desc         string
		total, avail uint64
		linux, win   Status
	}{
		{"plenty", 100 * G, 50 * G, StatusPass, StatusPass},
		{"9 % of a big disk", 100 * G, 9 * G, StatusWarn, StatusWarn},
		{"1.5 % of a big disk", 1000 * G, 15 * G, StatusFail, StatusWarn},
		{"half of a small disk, under 1 GiB", 1 * G, G / 2, StatusWarn, StatusFail},
		{"150 MiB", 10 * G, 150 << 20, StatusFail, StatusFail},
		{"exactly 10 % and over 1 GiB", 100 * G, 10 * G, StatusPass, StatusPass},
		{"empty size", 0, 0, StatusFail, StatusFail},
	}
	for _, tc := range tests {
		u := diskfree.Usage{Total: tc.total, Avail: tc.avail}
		if got := judgeSpace(u); got != tc.linux {
			t.Errorf("%s: Linux %s, want %s", tc.desc, got, tc.linux)
		}
		if got := judgeWindowsSpace(u); got != tc.win {
			t.Errorf("%s: Windows %s, want %s", tc.desc, got, tc.win)
		}
	}
}

// TestDiskSpaceLive judges this machine's own file systems with statfs
// (GetDiskFreeSpaceEx under Wine) and checks the numbers against diskfree.
func TestDiskSpaceLive(t *testing.T) {
	family, root := FamilyLinux, "/"
	if runtime.GOOS == "windows" {
		family, root = FamilyWindows, `C:\`
	}
	tg := &Target{Root: fsroot.New(root), Live: true, OS: osinfo.Info{Family: family}, Report: &Report{}, Registry: registry.Live}
	c := diskSpaceProbe(context.Background(), tg)
	u, err := diskfree.Of(root)
	if err != nil {
		t.Fatal(err)
	}
	want := judgeSpace(u)
	if family == FamilyWindows {
		want = judgeWindowsSpace(u)
	}
	if c.Status != want || !strings.Contains(c.Message, "free of "+gib(u.Total)) {
		t.Errorf("%s %q, want %s with total %s", c.Status, c.Message, want, gib(u.Total))
	}
	t.Logf("%s: %s", c.Status, c.Message)
}

// TestDiskSpaceVerdicts replaces the statfs call to see each verdict.
func TestDiskSpaceVerdicts(t *testing.T) {
	saved := diskUsage
	defer func() { diskUsage = saved }()
	const G = 1 << 30
	for _, tc := range []struct {
		desc   string
		u      func(string) (diskfree.Usage, error)
		status Status
		want   string
	}{
		{"one file system, full", func(string) (diskfree.Usage, error) {
			return diskfree.Usage{Total: 30 * G, Avail: 100 << 20, ID: "a"}, nil
		},
			StatusFail, "/, /var, /var/lib/waagent: 100 MiB free of 30.0 GiB"},
		{"/var separate and low", func(p string) (diskfree.Usage, error) {
			if p = filepath.ToSlash(p); strings.HasSuffix(p, "var") || strings.Contains(p, "var/") {
				return diskfree.Usage{Total: 10 * G, Avail: G / 2, ID: "var"}, nil
			}
			return diskfree.Usage{Total: 30 * G, Avail: 20 * G, ID: "root"}, nil
		}, StatusWarn, "/var, /var/lib/waagent: 512 MiB free"},
		{"statfs fails", func(p string) (diskfree.Usage, error) {
			return diskfree.Usage{}, errors.New("statfs " + p + ": input/output error")
		},
			StatusWarn, "could not read"},
	} {
		diskUsage = tc.u
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "var", "lib", "waagent"), 0o755); err != nil {
			t.Fatal(err)
		}
		tg := &Target{Root: fsroot.New(dir), Live: true, OS: osinfo.Info{Family: FamilyLinux}, Report: &Report{}}
		c := diskSpaceProbe(context.Background(), tg)
		if c.Status != tc.status || !strings.Contains(c.Message, tc.want) {
			t.Errorf("%s: %s %q, want %s mentioning %q", tc.desc, c.Status, c.Message, tc.status, tc.want)
		}
	}
	diskUsage = func(p string) (diskfree.Usage, error) {
		if p != `D:\` {
			return diskfree.Usage{}, fmt.Errorf("asked for %s, want D:\\", p)
		}
		return diskfree.Usage{Total: 100 * G, Avail: G / 4, ID: "D:"}, nil
	}
	tg := &Target{Root: fsroot.New(t.TempDir()), Live: true, OS: osinfo.Info{Family: FamilyWindows}, Report: &Report{},
		Registry: registry.Fake{`SOFTWARE\Microsoft\Windows NT\CurrentVersion`: {"SystemRoot": `D:\WINDOWS`}}}
	if c := diskSpaceProbe(context.Background(), tg); c.Status != StatusFail || !strings.Contains(c.Message, `system drive D:\: 256 MiB free`) {
		t.Errorf("Windows: %+v", c)
	}
}
