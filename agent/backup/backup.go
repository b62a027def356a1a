// Package backup tells whether an Azure Backup operation is running on a
// machine, live or in an image, from the traces the VM snapshot extension
// leaves: the SafeFreeze lock, its processes and its status files. An
// agent update must wait while one is running.
package backup

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/lockprobe"
	"github.com/agentkeeper/agentkeeper/platform/proc"
)

// DefaultStaleAfter is how long a "transitioning" status file counts as
// evidence when Options.StaleAfter is zero. It is a conservative guess
// that covers a long snapshot, not a documented Azure limit.
const DefaultStaleAfter = 2 * time.Hour

// The kinds of Evidence.
const (
	KindLock    = "lock"
	KindProcess = "process"
	KindStatus  = "status"
)

// Paths and names of the VM snapshot extension (see
// Azure/azure-linux-extensions VMBackup/ for Linux).
const (
	// SafeFreezeLockFile is locked (Python fcntl.lockf, exclusive) while
	// the Linux extension freezes and snapshots the file systems.
	SafeFreezeLockFile = "/etc/azure/MicrosoftRecoverySvcsSafeFreezeLock/SafeFreezeLockFile"
	// LinuxExtension is the Linux extension's handler name.
	LinuxExtension = "Microsoft.Azure.RecoveryServices.VMSnapshotLinux"
	// WindowsExtension is the Windows extension's handler name.
	WindowsExtension = "Microsoft.Azure.RecoveryServices.VMSnapshot"
	// WindowsProcess is the Windows extension's process.
	WindowsProcess = "IaaSBcdrExtension.exe"

	waagentLib = "/var/lib/waagent"
	// windowsPlugins is where the Windows guest agent unpacks extensions.
	// The layout below it (<ver>/Status/<seq>.status) is assumed from the
	// other extensions; it is not confirmed for VMSnapshot.
	windowsPlugins = "/Packages/Plugins"
)

// Evidence is one sign that a backup is running.
type Evidence struct {
	// Kind is lock, process or status.
	Kind string `json:"kind"`
	// What says what was seen, in words.
	What string `json:"what"`
	// Where is the file (host path) or the process ("pid 1234").
	Where string `json:"where"`
}

// Result is what Detect found.
type Result struct {
	// Running is true when there is any Evidence.
	Running  bool       `json:"running"`
	Evidence []Evidence `json:"evidence"`
	// Notes are things that could not be read and traces ignored (stale
	// status files, stale malformed files, a system where locks cannot be
	// probed). They are never evidence. What cannot be read where a running
	// backup would leave its traces (a fresh unreadable status file, a
	// folder that cannot be listed, a lock path that cannot be probed) is
	// evidence, not a note: the gate fails closed.
	Notes []string `json:"notes"`
}

// Options say where and how to look.
type Options struct {
	// Root is the tree whose files are read.
	Root fsroot.Root
	// Live means Root is the running system: processes are checked too.
	Live bool
	// Family is "linux" or "windows"; empty checks the traces of both.
	Family string
	// StaleAfter is how long a transitioning status counts; zero means
	// DefaultStaleAfter.
	StaleAfter time.Duration

	// Probes; nil means the real ones. Tests replace them.
	Now       func() time.Time
	Processes func() ([]proc.Process, error)
	// LockHeld probes a lock on a host path; nil means lockprobe.Held.
	LockHeld func(hostPath string) (held bool, pid int, err error)
}

func (o *Options) defaults() {
	if o.Root.Dir == "" {
		o.Root = fsroot.New("")
	}
	if o.StaleAfter <= 0 {
		o.StaleAfter = DefaultStaleAfter
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Processes == nil {
		o.Processes = proc.List
	}
	if o.LockHeld == nil {
		o.LockHeld = lockprobe.Held
	}
}

// detector collects evidence and notes during one Detect.
type detector struct {
	o   Options
	now time.Time
	res Result
}

func (d *detector) evidence(kind, where, format string, args ...any) {
	d.res.Evidence = append(d.res.Evidence, Evidence{Kind: kind, What: fmt.Sprintf(format, args...), Where: where})
}

func (d *detector) note(format string, args ...any) {
	d.res.Notes = append(d.res.Notes, fmt.Sprintf(format, args...))
}

// Detect looks for a running backup: on Linux the SafeFreeze lock (probed
// even in an image, as locks are kernel-wide) and fresh transitioning
// status files of the snapshot extension; on Windows its status files; and
// on a live system the extension's processes. It never fails. It fails
// closed: a trace that is there but cannot be read (see Result.Notes)
// counts as evidence.
func Detect(o Options) Result {
	o.defaults()
	d := &detector{o: o, now: o.Now()}
	fam := strings.ToLower(o.Family)
	linux := fam == "" || fam == "linux"
	windows := fam == "" || fam == "windows"
	if fam != "" && !linux && !windows {
		d.note("unknown OS family %q: looked for the traces of both Linux and Windows", o.Family)
		linux, windows = true, true
	}
	if linux {
		d.lock()
	}
	if o.Live {
		d.processes(linux, windows)
	}
	if linux {
		d.linuxStatus()
	}
	if windows {
		d.windowsStatus()
	}
	d.res.Running = len(d.res.Evidence) > 0
	if d.res.Evidence == nil {
		d.res.Evidence = []Evidence{}
	}
	return d.res
}

// lock probes the SafeFreeze lock file. A lock path that is there but
// cannot be probed (not a regular file, not examinable, the probe fails) is
// evidence: a snapshot may hold it, so the gate fails closed. Only a
// missing file, or a system where locks cannot be probed at all, is not.
func (d *detector) lock() {
	where := d.o.Root.Join(SafeFreezeLockFile)
	fi, err := d.o.Root.Stat(SafeFreezeLockFile)
	switch {
	case err != nil && missing(err):
		// No lock file: no snapshot has run here since it was installed.
		return
	case err != nil:
		d.evidence(KindLock, where, "cannot examine the SafeFreeze lock file (%v): a snapshot may hold it", err)
		return
	case !fi.Mode().IsRegular():
		d.evidence(KindLock, where, "the SafeFreeze lock path is %s, not a regular file: whether a snapshot holds it cannot be told", fsroot.Kind(fi.Mode()))
		return
	}
	host, err := d.o.Root.Resolve(SafeFreezeLockFile)
	if err != nil {
		d.evidence(KindLock, where, "cannot resolve the SafeFreeze lock file (%v): a snapshot may hold it", err)
		return
	}
	held, pid, err := d.o.LockHeld(host)
	switch {
	case err != nil && errors.Is(err, lockprobe.ErrNotSupported):
		d.note("could not tell whether %s is locked: %v", where, err)
	case err != nil:
		d.evidence(KindLock, where, "cannot tell whether the SafeFreeze lock is held (%v): a snapshot may hold it", err)
	case held && pid > 0:
		d.evidence(KindLock, where, "SafeFreeze lock held by pid %d (the snapshot extension freezes file systems while it holds it)", pid)
	case held:
		d.evidence(KindLock, where, "SafeFreeze lock held (holder's pid unknown)")
	}
}

// processes looks for the snapshot extension's processes.
func (d *detector) processes(linux, windows bool) {
	ps, err := d.o.Processes()
	if err != nil {
		d.note("could not list processes: %v", err)
		return
	}
	for _, p := range ps {
		switch {
		case linux && isLinuxSnapshotProcess(p):
			d.evidence(KindProcess, fmt.Sprintf("pid %d", p.PID), "%s process running: %s", LinuxExtension, describe(p))
		case windows && isWindowsSnapshotProcess(p):
			d.evidence(KindProcess, fmt.Sprintf("pid %d", p.PID), "%s process running: %s", WindowsExtension, describe(p))
		}
	}
}

// isLinuxSnapshotProcess matches main/handle.py and
// main/safefreeze/bin/safefreeze of the Linux extension.
func isLinuxSnapshotProcess(p proc.Process) bool {
	if p.Name == "safefreeze" {
		return true
	}
	cmd := strings.Join(p.Args, " ")
	return strings.Contains(cmd, LinuxExtension) &&
		(strings.Contains(cmd, "handle.py") || strings.Contains(cmd, "safefreeze"))
}

func isWindowsSnapshotProcess(p proc.Process) bool {
	name := p.Name
	if i := strings.LastIndexAny(name, `\/`); i >= 0 {
		name = name[i+1:]
	}
	return strings.EqualFold(name, WindowsProcess) ||
		strings.EqualFold(name, strings.TrimSuffix(WindowsProcess, ".exe"))
}

// describe shows a process's command line, shortened.
func describe(p proc.Process) string {
	s := strings.Join(p.Args, " ")
	if s == "" {
		s = p.Name
	}
	return shorten(s, 200)
}

// shorten cuts s to at most n runes.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "..."
}
