package agent

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/diskfree"
)

// The free-space thresholds of disk.space.
const (
	diskWarnPercent = 10
	diskWarnBytes   = 1 << 30
	diskFailPercent = 2
	diskFailBytes   = 200 << 20
	// winFailBytes is the Windows system drive's floor (vmassist: 1 GB).
	winFailBytes = 1 << 30
)

// diskUsage reads a file system's usage; tests replace it.
var diskUsage = diskfree.Of

// judgeSpace says how bad a file system's free space is on Linux: under
// 2 % or 200 MiB fails, under 10 % or 1 GiB warns.
func judgeSpace(u diskfree.Usage) Status {
	pct := u.FreePercent()
	switch {
	case pct < diskFailPercent || u.Avail < diskFailBytes:
		return StatusFail
	case pct < diskWarnPercent || u.Avail < diskWarnBytes:
		return StatusWarn
	}
	return StatusPass
}

// judgeWindowsSpace: the system drive under 1 GiB fails, under 10 % warns.
func judgeWindowsSpace(u diskfree.Usage) Status {
	switch {
	case u.Avail < winFailBytes:
		return StatusFail
	case u.FreePercent() < diskWarnPercent:
		return StatusWarn
	}
	return StatusPass
}

// gib renders bytes in GiB (MiB under 1 GiB).
func gib(b uint64) string {
	if b < 1<<30 {
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
}

// diskSpaceProbe reads the free space of the file systems holding /, /var
// and /var/lib/waagent (Windows: the system drive) with statfs /
// GetDiskFreeSpaceEx. Each file system is judged once.
func diskSpaceProbe(_ context.Context, t *Target) Check {
	if t.OS.Family == FamilyWindows {
		return windowsDiskSpace(t)
	}
	type fsys struct {
		paths []string
		u     diskfree.Usage
	}
	var order []string
	byID := map[string]*fsys{}
	var errs []string
	for _, p := range []string{"/", "/var", PathWaagentLib} {
		q := p
		for q != "/" && !t.Root.Exists(q) {
			q = path.Dir(q) // not there (yet): the file system that would hold it
		}
		host, err := t.Root.Resolve(q)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		u, err := diskUsage(host)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		f, ok := byID[u.ID]
		if !ok {
			f = &fsys{u: u}
			byID[u.ID] = f
			order = append(order, u.ID)
		}
		f.paths = append(f.paths, p)
	}
	worst := StatusPass
	var parts []string
	for _, id := range order {
		f := byID[id]
		st := judgeSpace(f.u)
		if st == StatusFail || st == StatusWarn && worst == StatusPass {
			worst = st
		}
		parts = append(parts, fmt.Sprintf("%s: %s free of %s (%.0f%%)", strings.Join(f.paths, ", "), gib(f.u.Avail), gib(f.u.Total), f.u.FreePercent()))
	}
	msg := strings.Join(parts, "; ")
	if len(errs) > 0 {
		msg += "; could not read: " + strings.Join(errs, "; ")
		if worst == StatusPass {
			worst = StatusWarn
		}
	}
	switch worst {
	case StatusFail:
		return Check{Status: StatusFail, Message: msg + ": under 2 % or 200 MiB free, the agent and the snapshot extension cannot write their state and logs",
			Fix: "free space (journalctl --vacuum-size=200M, apt-get clean / dnf clean all, old logs in /var/log) or grow the file system"}
	case StatusWarn:
		return Check{Status: StatusWarn, Message: msg + ": under 10 % or 1 GiB free",
			Fix: "free space or grow the file system before the extension's downloads and logs fill it"}
	}
	return Check{Status: StatusPass, Message: msg}
}

// systemDrive is the Windows system drive's root ("C:\"): from the
// registry's SystemRoot, else C:\.
func systemDrive(t *Target) string {
	if s, err := t.Registry.String(`SOFTWARE\Microsoft\Windows NT\CurrentVersion`, "SystemRoot"); err == nil && len(s) >= 2 && s[1] == ':' {
		return strings.ToUpper(s[:2]) + `\`
	}
	return `C:\`
}

func windowsDiskSpace(t *Target) Check {
	d := systemDrive(t)
	u, err := diskUsage(d)
	if err != nil {
		return Check{Status: StatusWarn, Message: "cannot read the free space of the system drive: " + err.Error(),
			Fix: "check the drive with: Get-Volume -DriveLetter " + d[:1]}
	}
	msg := fmt.Sprintf("system drive %s: %s free of %s (%.0f%%)", d, gib(u.Avail), gib(u.Total), u.FreePercent())
	switch judgeWindowsSpace(u) {
	case StatusFail:
		return Check{Status: StatusFail, Message: msg + ": under 1 GiB free, the agent and the snapshot extension cannot install or write their logs",
			Fix: "free space on " + d + " (Disk Cleanup, old files in C:\\WindowsAzure\\Logs and C:\\Packages) or extend the volume"}
	case StatusWarn:
		return Check{Status: StatusWarn, Message: msg + ": under 10 % free", Fix: "free space on " + d + " or extend the volume"}
	}
	return Check{Status: StatusPass, Message: msg}
}
