package backup_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/agent/backup"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/lockprobe"
	"github.com/agentkeeper/agentkeeper/platform/proc"
)

var now = time.Date(2024, 6, 1, 12, 0, 0, 0, time.UTC)

const (
	linuxExt = "/var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9.0/status/"
	winExt   = "/Packages/Plugins/Microsoft.Azure.RecoveryServices.VMSnapshot/1.0.0.0/Status/"
)

// status returns a status file with the given status and timestampUTC.
func status(st, ts string) string {
	return fmt.Sprintf(`[{"version":1.0,"timestampUTC":%q,"status":{"name":"VMSnapshot","operation":"Enable","status":%q,"code":0,"formattedMessage":{"lang":"en-US","message":"taking snapshot"}}}]`, ts, st)
}

// ago formats now-d as a timestampUTC.
func ago(d time.Duration) string { return now.Add(-d).Format("2006-01-02T15:04:05Z") }

// file is one file of a test tree; a zero mtime means one minute ago.
type file struct {
	data  string
	mtime time.Time
}

func writeTree(t *testing.T, files map[string]file) string {
	t.Helper()
	root := t.TempDir()
	for name, f := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f.data), 0o644); err != nil {
			t.Fatal(err)
		}
		mt := f.mtime
		if mt.IsZero() {
			mt = now.Add(-time.Minute)
		}
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestDetect(t *testing.T) {
	fresh := status("transitioning", ago(5*time.Minute))
	tests := []struct {
		desc     string
		family   string
		live     bool
		files    map[string]file
		procs    []proc.Process
		procErr  error
		running  bool
		evidence []string // "kind:substring of Where"
		notes    []string // substrings, one per note, in order
	}{
		{desc: "nothing installed", family: "linux"},
		{
			desc: "fresh transitioning status", family: "linux",
			files:   map[string]file{linuxExt + "3.status": {data: fresh}},
			running: true, evidence: []string{"status:status/3.status"},
		},
		{
			desc: "succeeded", family: "linux",
			files: map[string]file{linuxExt + "3.status": {data: status("success", ago(time.Minute))}},
		},
		{
			desc: "stale transitioning is a note, not evidence", family: "linux",
			files: map[string]file{linuxExt + "3.status": {data: status("transitioning", ago(3*time.Hour))}},
			notes: []string{"ignored: stale transitioning status"},
		},
		{
			desc: "10.status is newer than 9.status", family: "linux",
			files: map[string]file{
				linuxExt + "9.status":  {data: fresh},
				linuxExt + "10.status": {data: status("success", ago(time.Minute)), mtime: now.Add(-time.Hour)},
			},
		},
		{
			desc: "10.status transitioning beats 9.status success", family: "linux",
			files: map[string]file{
				linuxExt + "9.status":  {data: status("success", ago(time.Minute))},
				linuxExt + "10.status": {data: fresh},
			},
			running: true, evidence: []string{"status:/10.status"},
		},
		{
			desc: "equal numbers: the later modification wins", family: "linux",
			files: map[string]file{
				linuxExt + "9.status":  {data: status("success", ago(time.Minute)), mtime: now.Add(-time.Hour)},
				linuxExt + "09.status": {data: fresh, mtime: now.Add(-time.Minute)},
			},
			running: true, evidence: []string{"status:/09.status"},
		},
		{
			desc: "other files in the status folder are ignored", family: "linux",
			files: map[string]file{
				linuxExt + "1.status":     {data: status("success", ago(time.Minute))},
				linuxExt + "2.status.tmp": {data: fresh},
				linuxExt + "x.status":     {data: fresh},
				linuxExt + "HandlerState": {data: "Enabled"},
			},
		},
		{
			desc: "several versions: each newest counts", family: "linux",
			files: map[string]file{
				linuxExt + "5.status": {data: status("transitioning", ago(24*time.Hour))},
				"/var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.10.0/status/0.status": {data: fresh},
				"/var/lib/waagent/Microsoft.Azure.Something.Else-1.0/status/0.status":                        {data: fresh},
			},
			running:  true,
			evidence: []string{"status:VMSnapshotLinux-1.0.10.0/status/0.status"},
			notes:    []string{"stale transitioning status " + "%ROOT%" + linuxExt + "5.status"},
		},
		{
			desc: "fresh garbage status file: may be half-written, a backup may be running", family: "linux",
			files:   map[string]file{linuxExt + "1.status": {data: "not json at all"}},
			running: true, evidence: []string{"status:" + linuxExt + "1.status"},
		},
		{
			desc: "stale garbage status file is a note", family: "linux",
			files: map[string]file{linuxExt + "1.status": {data: "not json at all", mtime: now.Add(-3 * time.Hour)}},
			notes: []string{"ignored stale unreadable status file %ROOT%" + linuxExt + "1.status (modified 2024-06-01T09:00:00Z): status file is not a JSON array"},
		},
		{
			desc: "fresh empty status file", family: "linux",
			files:   map[string]file{linuxExt + "1.status": {data: ""}},
			running: true, evidence: []string{"status:1.status"},
		},
		{
			desc: "stale empty status file", family: "linux",
			files: map[string]file{linuxExt + "1.status": {data: "", mtime: now.Add(-5 * time.Hour)}},
			notes: []string{"1.status (modified 2024-06-01T07:00:00Z): empty status file"},
		},
		{
			desc: "empty status file modified far in the future is stale", family: "linux",
			files: map[string]file{linuxExt + "1.status": {data: "", mtime: now.Add(5 * time.Hour)}},
			notes: []string{"empty status file"},
		},
		{
			desc: "fresh binary status file", family: "linux",
			files:   map[string]file{linuxExt + "1.status": {data: "\x7fELF\x00\x00\xff"}},
			running: true, evidence: []string{"status:1.status"},
		},
		{
			desc: "stale binary status file", family: "linux",
			files: map[string]file{linuxExt + "1.status": {data: "\x7fELF\x00\x00\xff", mtime: now.Add(-3 * time.Hour)}},
			notes: []string{"1.status (modified 2024-06-01T09:00:00Z): status file is not UTF-8"},
		},
		{
			desc: "fresh huge status file", family: "linux",
			files:   map[string]file{linuxExt + "1.status": {data: "[" + strings.Repeat(" ", fsroot.MaxSmallFile) + "]"}},
			running: true, evidence: []string{"status:1.status"},
		},
		{
			desc: "stale huge status file", family: "linux",
			files: map[string]file{linuxExt + "1.status": {data: "[" + strings.Repeat(" ", fsroot.MaxSmallFile) + "]", mtime: now.Add(-3 * time.Hour)}},
			notes: []string{"file too large"},
		},
		{
			desc: "empty newest does not hide a fresh transitioning one before it", family: "linux",
			files: map[string]file{
				linuxExt + "3.status": {data: fresh, mtime: now.Add(-5 * time.Minute)},
				linuxExt + "4.status": {data: ""},
			},
			running: true, evidence: []string{"status:4.status", "status:3.status"},
		},
		{
			desc: "stale unreadable newest: the newest readable one decides", family: "linux",
			files: map[string]file{
				linuxExt + "3.status": {data: status("success", ago(4*time.Hour)), mtime: now.Add(-4 * time.Hour)},
				linuxExt + "4.status": {data: `[{"status":`, mtime: now.Add(-3 * time.Hour)},
			},
			notes: []string{"4.status"},
		},
		{
			desc: "the search stops at the newest readable file", family: "linux",
			files: map[string]file{
				linuxExt + "2.status": {data: "", mtime: now.Add(-time.Hour)},
				linuxExt + "3.status": {data: status("success", ago(time.Minute))},
				linuxExt + "4.status": {data: "[", mtime: now.Add(-3 * time.Hour)},
			},
			notes: []string{"4.status"},
		},
		{
			desc: "Windows: half-written newest status hides nothing", family: "windows",
			files: map[string]file{
				winExt + "5.status": {data: fresh},
				winExt + "6.status": {data: "\ufeff[{\"version\":1.0,\"timestampUTC\":"},
			},
			running: true, evidence: []string{"status:Status/6.status", "status:Status/5.status"},
		},
		{
			desc: "no timestamp: fresh file modification time counts", family: "linux",
			files:   map[string]file{linuxExt + "1.status": {data: `[{"status":{"status":"transitioning"}}]`}},
			running: true, evidence: []string{"status:1.status"},
		},
		{
			desc: "no timestamp: old file modification time is stale", family: "linux",
			files: map[string]file{linuxExt + "1.status": {data: `[{"status":{"status":"transitioning"}}]`, mtime: now.Add(-5 * time.Hour)}},
			notes: []string{"stale transitioning status"},
		},
		{
			desc: "unreadable timestamp: noted, modification time used", family: "linux",
			files:   map[string]file{linuxExt + "1.status": {data: status("transitioning", "soon")}},
			running: true, evidence: []string{"status:1.status"},
			notes: []string{`unreadable timestampUTC "soon"`},
		},
		{
			desc: "timestamp without Z is UTC", family: "linux",
			files:   map[string]file{linuxExt + "1.status": {data: status("transitioning", now.Add(-time.Hour).Format("2006-01-02T15:04:05"))}},
			running: true, evidence: []string{"status:1.status"},
		},
		{
			desc: "timestamp far in the future cannot block forever", family: "linux",
			files: map[string]file{linuxExt + "1.status": {data: status("transitioning", "2099-01-01T00:00:00Z"), mtime: now.Add(-10 * time.Hour)}},
			notes: []string{"in the future, used the file's modification time", "stale transitioning status"},
		},
		{
			desc: "extension process, live", family: "linux", live: true,
			procs: []proc.Process{
				{PID: 1, Name: "systemd", Args: []string{"/sbin/init"}},
				{PID: 4242, Name: "python3", Args: []string{"python3", "/var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9.0/main/handle.py", "-enable"}},
			},
			running: true, evidence: []string{"process:pid 4242"},
		},
		{
			desc: "safefreeze binary, live", family: "linux", live: true,
			procs:   []proc.Process{{PID: 77, Name: "safefreeze", Args: []string{"/var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9.0/main/safefreeze/bin/safefreeze"}}},
			running: true, evidence: []string{"process:pid 77"},
		},
		{
			desc: "other extensions' handle.py is not a backup", family: "linux", live: true,
			procs: []proc.Process{{PID: 5, Name: "python3", Args: []string{"python3", "/var/lib/waagent/Microsoft.OSTCExtensions.VMAccessForLinux-1.5/vmaccess.py", "handle.py"}}},
		},
		{
			desc: "extension process in an offline image is ignored", family: "linux", live: false,
			procs: []proc.Process{{PID: 77, Name: "safefreeze"}},
		},
		{
			desc: "process list unreadable", family: "linux", live: true,
			procErr: errors.New("permission denied"),
			notes:   []string{"could not list processes: permission denied"},
		},
		{
			desc: "Windows IaaSBcdrExtension.exe, live", family: "windows", live: true,
			procs:   []proc.Process{{PID: 9, Name: "svchost.exe"}, {PID: 3100, Name: "iaasbcdrextension.EXE"}},
			running: true, evidence: []string{"process:pid 3100"},
		},
		{
			desc: "Windows process not looked for on Linux", family: "linux", live: true,
			procs: []proc.Process{{PID: 3100, Name: "IaaSBcdrExtension.exe"}},
		},
		{
			desc: "Windows status file", family: "windows",
			files:   map[string]file{winExt + "0.status": {data: "\ufeff" + fresh}},
			running: true, evidence: []string{"status:Status/0.status"},
		},
		{
			desc: "Windows status file, mixed-case folders", family: "windows",
			files: map[string]file{
				"/packages/PLUGINS/microsoft.azure.recoveryservices.vmsnapshot/1.0.0.0/status/2.STATUS": {data: fresh},
				"/packages/PLUGINS/microsoft.azure.recoveryservices.vmsnapshot/1.0.0.0/status/1.status": {data: status("success", ago(time.Hour))},
			},
			running: true, evidence: []string{"status:status/2.STATUS"},
		},
		{
			desc: "Windows stale status", family: "windows",
			files: map[string]file{winExt + "7.status": {data: status("transitioning", ago(48*time.Hour))}},
			notes: []string{"ignored: stale"},
		},
		{
			desc: "Linux traces are not read for Windows", family: "windows",
			files: map[string]file{linuxExt + "1.status": {data: fresh}},
		},
		{
			desc: "Windows traces are not read for Linux", family: "linux",
			files: map[string]file{winExt + "1.status": {data: fresh}},
		},
		{
			desc: "no family: both", family: "",
			files: map[string]file{
				linuxExt + "1.status": {data: fresh},
				winExt + "1.status":   {data: fresh},
			},
			running: true, evidence: []string{"status:VMSnapshotLinux-1.0.9.0", "status:VMSnapshot/1.0.0.0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			root := writeTree(t, tt.files)
			res := backup.Detect(backup.Options{
				Root:   fsroot.New(root),
				Live:   tt.live,
				Family: tt.family,
				Now:    func() time.Time { return now },
				Processes: func() ([]proc.Process, error) {
					if !tt.live {
						t.Error("processes listed for an offline image")
					}
					return tt.procs, tt.procErr
				},
				LockHeld: func(string) (bool, int, error) {
					t.Error("LockHeld called with no lock file")
					return false, 0, nil
				},
			})
			check(t, res, root, tt.running, tt.evidence, tt.notes)
		})
	}
}

// check compares a Result with the expected evidence ("kind:substring of
// Where") and notes (substrings; %ROOT% stands for the root).
func check(t *testing.T, res backup.Result, root string, running bool, evidence, notes []string) {
	t.Helper()
	if res.Running != running {
		t.Errorf("Running = %v, want %v", res.Running, running)
	}
	if res.Evidence == nil {
		t.Errorf("Evidence is nil, want an empty list")
	}
	if len(res.Evidence) != len(evidence) {
		t.Errorf("evidence = %+v, want %d item(s) %q", res.Evidence, len(evidence), evidence)
	} else {
		for i, w := range evidence {
			kind, where, _ := strings.Cut(w, ":")
			e := res.Evidence[i]
			if e.Kind != kind || !strings.Contains(filepath.ToSlash(e.Where), where) || e.What == "" {
				t.Errorf("evidence[%d] = %+v, want kind %s, where containing %q", i, e, kind, where)
			}
		}
	}
	if len(res.Notes) != len(notes) {
		t.Errorf("notes = %q, want %d note(s) %q", res.Notes, len(notes), notes)
		return
	}
	for i, w := range notes {
		w = strings.ReplaceAll(w, "%ROOT%", filepath.ToSlash(root))
		if !strings.Contains(filepath.ToSlash(res.Notes[i]), w) {
			t.Errorf("notes[%d] = %q, want it to contain %q", i, res.Notes[i], w)
		}
	}
}

func TestDetectLock(t *testing.T) {
	lockFile := "/etc/azure/MicrosoftRecoverySvcsSafeFreezeLock/SafeFreezeLockFile"
	tests := []struct {
		desc     string
		family   string
		link     string // if set, the lock file is this symlink's target inside the root
		held     bool
		pid      int
		err      error
		running  bool
		evidence []string
		notes    []string
	}{
		{desc: "not locked", family: "linux"},
		{desc: "locked by a process", family: "linux", held: true, pid: 1234, running: true, evidence: []string{"lock:SafeFreezeLockFile"}},
		{desc: "locked, holder unknown", family: "linux", held: true, running: true, evidence: []string{"lock:SafeFreezeLockFile"}},
		{desc: "probing not supported on this system: a note", family: "linux", err: fmt.Errorf("probe: %w", lockprobe.ErrNotSupported), notes: []string{"could not tell whether %ROOT%" + lockFile + " is locked: probe: lock probing not supported"}},
		{desc: "probe fails: a snapshot may hold it", family: "linux", err: errors.New("input/output error"), running: true, evidence: []string{"lock:SafeFreezeLockFile"}},
		{desc: "absolute link resolved inside the root", family: "linux", link: "/var/lock/SafeFreezeLockFile", held: true, pid: 1, running: true, evidence: []string{"lock:SafeFreezeLockFile"}},
		{desc: "not probed for Windows", family: "windows", held: true, pid: 1},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			files := map[string]file{lockFile: {}}
			if tt.link != "" {
				files = map[string]file{tt.link: {}}
			}
			root := writeTree(t, files)
			want := filepath.Join(root, filepath.FromSlash(lockFile))
			if tt.link != "" && runtime.GOOS == "windows" {
				t.Skip("image symlinks: Wine creates none, and Linux runs this case")
			}
			if tt.link != "" {
				p := filepath.Join(root, filepath.FromSlash(lockFile))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(tt.link, p); err != nil {
					t.Skip("no symlinks:", err)
				}
				want = filepath.Join(root, filepath.FromSlash(tt.link))
			}
			var probed []string
			res := backup.Detect(backup.Options{
				Root:   fsroot.New(root),
				Family: tt.family,
				Now:    func() time.Time { return now },
				LockHeld: func(p string) (bool, int, error) {
					probed = append(probed, p)
					return tt.held, tt.pid, tt.err
				},
			})
			check(t, res, root, tt.running, tt.evidence, tt.notes)
			if tt.family == "windows" {
				if len(probed) != 0 {
					t.Errorf("probed %q for a Windows machine", probed)
				}
				return
			}
			if len(probed) != 1 || probed[0] != want {
				t.Errorf("probed %q, want [%s]", probed, want)
			}
			if tt.pid > 0 && !strings.Contains(res.Evidence[0].What, fmt.Sprint("pid ", tt.pid)) {
				t.Errorf("evidence %q does not name pid %d", res.Evidence[0].What, tt.pid)
			}
		})
	}
}
