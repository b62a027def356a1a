//go:build linux

package agent

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/agent/agenttest"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/mounts"
	"github.com/agentkeeper/agentkeeper/platform/osinfo"
)

// needRoot: these tests make root-owned and user-owned files for real.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("AGENTKEEPER_E2E") != "" {
			t.Fatal("must run as root: the test makes files owned by root and by other users")
		}
		t.Skip("needs root to make files owned by root and by other users (make unit runs as root)")
	}
}

// imageTarget is an offline Linux image at dir.
func imageTarget(dir string) *Target {
	return &Target{Root: fsroot.New(dir), OS: osinfo.Info{Family: FamilyLinux}, Report: &Report{},
		Now: func() time.Time { return time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC) }}
}

// writeFile writes a file with mode and owner uid.
func writeFile(t *testing.T, root, rel, content string, mode os.FileMode, uid int) string {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, uid, 0); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodPluginJSON = `{
    "pluginName" : "ScriptRunner",
    "preScriptLocation" : "/opt/app/pre.sh",
    "postScriptLocation" : "/opt/app/post.sh",
    "preScriptParams" : ["", ""],
    "postScriptParams" : ["", ""],
    "preScriptNoOfRetries" : 0,
    "postScriptNoOfRetries" : 0,
    "timeoutInSeconds" : 30,
    "continueBackupOnFailure" : true,
    "fsFreezeEnabled" : true,
    "ScriptsExecutionPollTimeSeconds" : 3
}
`

func TestBackupScriptsProbe(t *testing.T) {
	needRoot(t)
	type file struct {
		content string
		mode    os.FileMode
		uid     int
	}
	good := map[string]file{
		"etc/azure/VMSnapshotScriptPluginConfig.json": {goodPluginJSON, 0o600, 0},
		"opt/app/pre.sh":  {"#!/bin/sh\n", 0o700, 0},
		"opt/app/post.sh": {"#!/bin/sh\n", 0o700, 0},
	}
	with := func(change map[string]file, drop ...string) map[string]file {
		m := map[string]file{}
		for k, v := range good {
			m[k] = v
		}
		for k, v := range change {
			m[k] = v
		}
		for _, d := range drop {
			delete(m, d)
		}
		return m
	}
	cfg := "etc/azure/VMSnapshotScriptPluginConfig.json"
	tests := []struct {
		desc   string
		files  map[string]file
		status Status
		want   []string // parts of the message
	}{
		{"no config file", map[string]file{}, StatusPass, []string{"file-system consistent backups; no app-consistent scripts configured"}},
		{"all as required", good, StatusPass, []string{"pre-script /opt/app/pre.sh", "post-script /opt/app/post.sh"}},
		{"config mode 644", with(map[string]file{cfg: {goodPluginJSON, 0o644, 0}}), StatusFail, []string{"IncorrectJSONConfigFile", "mode 644", cfg}},
		{"config owned by a user", with(map[string]file{cfg: {goodPluginJSON, 0o600, 1000}}), StatusFail, []string{"IncorrectJSONConfigFile", "uid 1000"}},
		{"config not JSON", with(map[string]file{cfg: {"{ pluginName: ScriptRunner", 0o600, 0}}), StatusFail, []string{"IncorrectJSONConfigFile", "syntax error"}},
		{"pre-script missing", with(nil, "opt/app/pre.sh"), StatusFail, []string{"Pre-ScriptNotFound", "/opt/app/pre.sh does not exist"}},
		{"post-script missing", with(nil, "opt/app/post.sh"), StatusFail, []string{"Post-ScriptNotFound"}},
		{"pre-script group-readable", with(map[string]file{"opt/app/pre.sh": {"#!/bin/sh\n", 0o750, 0}}), StatusFail, []string{"InsufficientPermissionforPre-Script", "mode 750"}},
		{"post-script owned by a user", with(map[string]file{"opt/app/post.sh": {"#!/bin/sh\n", 0o700, 1000}}), StatusFail, []string{"InsufficientPermissionforPost-Script", "uid 1000"}},
		{"relative script path", with(map[string]file{cfg: {strings.Replace(goodPluginJSON, `"/opt/app/pre.sh"`, `"opt/app/pre.sh"`, 1), 0o600, 0}}),
			StatusFail, []string{"Pre-ScriptNotFound", "not an absolute path"}},
		{"timeout above 1800", with(map[string]file{cfg: {strings.Replace(goodPluginJSON, `: 30,`, `: 3600,`, 1), 0o600, 0}}),
			StatusFail, []string{"timeoutInSeconds is 3600", "1 to 1800"}},
		{"poll time 2.5", with(map[string]file{cfg: {strings.Replace(goodPluginJSON, `: 3`+"\n", `: 2.5`+"\n", 1), 0o600, 0}}),
			StatusFail, []string{"ScriptsExecutionPollTimeSeconds is 2.5", "integer from 1 to 5"}},
		{"poll time 9", with(map[string]file{cfg: {strings.Replace(goodPluginJSON, `: 3`+"\n", `: 9`+"\n", 1), 0o600, 0}}),
			StatusFail, []string{"ScriptsExecutionPollTimeSeconds is 9"}},
		{"params not strings", with(map[string]file{cfg: {strings.Replace(goodPluginJSON, `"preScriptParams" : ["", ""]`, `"preScriptParams" : [1, 2]`, 1), 0o600, 0}}),
			StatusFail, []string{"preScriptParams is not a list of strings"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			for rel, f := range tc.files {
				writeFile(t, dir, rel, f.content, f.mode, f.uid)
			}
			c := backupScriptsProbe(context.Background(), imageTarget(dir))
			if c.Status != tc.status {
				t.Errorf("status %s (%s), want %s", c.Status, c.Message, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(c.Message, w) {
					t.Errorf("message %q does not mention %q", c.Message, w)
				}
			}
			if c.Status == StatusFail {
				for _, cmd := range []string{"chown", "chmod"} {
					if n := strings.Count(c.Fix, cmd+" "); n == 0 || n != strings.Count(c.Fix, "chroot "+dir+" "+cmd+" ") {
						t.Errorf("image fix %q: every %s must run inside the image", c.Fix, cmd)
					}
				}
			}
		})
	}
}

func TestParsePluginConfig(t *testing.T) {
	c, err := ParsePluginConfig([]byte("\xef\xbb\xbf" + goodPluginJSON))
	if err != nil || c.PluginName != "ScriptRunner" || c.PollSeconds.String() != "3" || *c.FsFreezeEnabled != true || len(c.PreScriptParams) != 2 {
		t.Fatalf("%+v, %v", c, err)
	}
	for _, bad := range []string{"", "null", "[1]", `{"a":1} {"b":2}`, `{"timeoutInSeconds":"30"}`, `{"preScriptNoOfRetries": 1.5}`, `{"fsFreezeEnabled":"yes"}`, "\xff\xfe{}"} {
		if _, err := ParsePluginConfig([]byte(bad)); err == nil {
			t.Errorf("ParsePluginConfig(%q) accepted", bad)
		}
	}
}

func FuzzParsePluginConfig(f *testing.F) {
	f.Add([]byte(goodPluginJSON))
	f.Add([]byte(`{"timeoutInSeconds": 1e400, "ScriptsExecutionPollTimeSeconds": -0}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParsePluginConfig(data)
		if err == nil && c.PollSeconds != nil {
			strictInteger(*c.PollSeconds)
			wholeNumber(*c.PollSeconds)
		}
	})
}

func TestParseINI(t *testing.T) {
	tests := []struct {
		desc, in string
		want     map[string]string // SnapshotThread keys
		err      string
	}{
		{desc: "as the troubleshooting document writes it", in: "[SnapshotThread]\nfsfreeze: True\nMountsToSkip = /mnt/resource\nSafeFreezeWaitInSeconds=600\n",
			want: map[string]string{"fsfreeze": "True", "mountstoskip": "/mnt/resource", "safefreezewaitinseconds": "600"}},
		{desc: "comments and continuation", in: "# c\n[SnapshotThread]\n; c\nMountsToSkip = /a,\n   /b\n",
			want: map[string]string{"mountstoskip": "/a,\n/b"}},
		{desc: "key before section", in: "fsfreeze = True\n", err: "before any [section]"},
		{desc: "duplicate key", in: "[SnapshotThread]\nfsfreeze=True\nFSFreeze=False\n", err: "given twice"},
		{desc: "duplicate section", in: "[SnapshotThread]\n[SnapshotThread]\n", err: "given twice"},
		{desc: "not key value", in: "[SnapshotThread]\njust words\n", err: "neither"},
		{desc: "unclosed header", in: "[SnapshotThread\n", err: "without"},
	}
	for _, tc := range tests {
		c, err := ParseINI([]byte(tc.in))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: err %v, want %q", tc.desc, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.desc, err)
			continue
		}
		for k, v := range tc.want {
			if got, _ := c.Get("SnapshotThread", k); got != v {
				t.Errorf("%s: %s = %q, want %q", tc.desc, k, got, v)
			}
		}
	}
}

func FuzzParseINI(f *testing.F) {
	f.Add([]byte("[SnapshotThread]\nfsfreeze: True\nMountsToSkip = /mnt/resource, /data\nSafeFreezeWaitInSeconds=600\n"))
	f.Add([]byte("[a]\nk=v\n  cont\n[b]\n;x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseINI(data)
		if err != nil {
			return
		}
		v := VMBackupSettings(c)
		for _, m := range v.MountsToSkip {
			if m == "" || strings.Contains(m, ",") {
				t.Fatalf("bad MountsToSkip entry %q", m)
			}
		}
	})
}

func TestBackupConfigProbe(t *testing.T) {
	fstab := "UUID=1 / ext4 defaults 0 1\nUUID=2 /data xfs defaults 0 2\n/dev/sdb1 /mnt/resource ext4 defaults,nofail 0 2\n"
	tests := []struct {
		desc, conf string
		status     Status
		want       string
	}{
		{"absent", "", StatusPass, "uses its defaults"},
		{"skips a mount point", "[SnapshotThread]\nfsfreeze: True\nMountsToSkip = /mnt/resource\nSafeFreezeWaitInSeconds=600\n", StatusPass,
			"fsfreeze=True, MountsToSkip=/mnt/resource, SafeFreezeWaitInSeconds=600"},
		{"skips what is not mounted", "[SnapshotThread]\nMountsToSkip = /mnt/resource,/srv/nfs\n", StatusWarn, "/srv/nfs, not a mount point"},
		{"trailing slash is not the mount point", "[SnapshotThread]\nMountsToSkip = /data/\n", StatusWarn, "/data/, not a mount point"},
		{"bad wait", "[SnapshotThread]\nSafeFreezeWaitInSeconds=ten\n", StatusWarn, "not a positive whole number"},
		{"no section", "[Other]\nfsfreeze=False\n", StatusWarn, "no [SnapshotThread] section"},
		{"does not parse", "fsfreeze=False\n", StatusFail, "ignores the whole file"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			files := map[string]string{"etc/fstab": fstab}
			if tc.conf != "" {
				files["etc/azure/vmbackup.conf"] = tc.conf
			}
			dir := t.TempDir()
			agenttest.Tree(t, dir, files)
			c := backupConfigProbe(context.Background(), imageTarget(dir))
			if c.Status != tc.status || !strings.Contains(c.Message, tc.want) {
				t.Errorf("%s %q, want %s mentioning %q", c.Status, c.Message, tc.status, tc.want)
			}
		})
	}
}

func TestPlanFreeze(t *testing.T) {
	ms, err := mounts.ParseFstab([]byte(`UUID=a / ext4 defaults 0 1
UUID=b /boot ext4 defaults 0 2
UUID=c /boot/efi vfat umask=0077 0 1
UUID=d /usr/sap xfs defaults 0 2
UUID=d /usr/sap xfs defaults 0 2
/dev/sdb1 /mnt/resource ext4 defaults 0 2
/srv/img /mnt/img ext4 loop 0 0
server:/export /mnt/nfs nfs defaults 0 0
tmpfs /tmp tmpfs defaults 0 0
/swapfile none swap sw 0 0
`))
	if err != nil {
		t.Fatal(err)
	}
	p := PlanFreeze(ms, []string{"/mnt/resource"})
	if strings.Join(p.Frozen, " ") != "/ /boot /usr/sap" || strings.Join(p.Duplicates, " ") != "/usr/sap" ||
		strings.Join(p.Skipped, " ") != "/mnt/resource" ||
		strings.Join(p.Unfrozen, "; ") != "/boot/efi (vfat); /mnt/img (ext4 on a loop device); /mnt/nfs (nfs)" {
		t.Errorf("plan = %+v", p)
	}
}

func TestBackupFreezeProbe(t *testing.T) {
	tests := []struct {
		desc, fstab string
		status      Status
		want        string
	}{
		{"debootstrap's empty fstab", "# UNCONFIGURED FSTAB FOR BASE SYSTEM\n", StatusPass, "no file systems listed"},
		{"ext4 and vfat", "UUID=a / ext4 defaults 0 1\nUUID=c /boot/efi vfat umask=0077 0 1\n", StatusPass, "freezes / ("},
		{"vfat reported", "UUID=a / ext4 defaults 0 1\nUUID=c /boot/efi vfat umask=0077 0 1\n", StatusPass, "not frozen (crash-consistent only): /boot/efi (vfat)"},
		{"duplicate", "UUID=a / ext4 defaults 0 1\nUUID=d /data xfs defaults 0 2\nUUID=d /data xfs defaults 0 2\n", StatusFail, "UserErrorFsFreezeFailed: /data mounted more than once"},
		{"only zfs", "rpool/root / zfs defaults 0 0\n", StatusWarn, "crash-consistent only"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			agenttest.Tree(t, dir, map[string]string{"etc/fstab": tc.fstab})
			c := backupFreezeProbe(context.Background(), imageTarget(dir))
			if c.Status != tc.status || !strings.Contains(c.Message, tc.want) {
				t.Errorf("%s %q, want %s mentioning %q", c.Status, c.Message, tc.status, tc.want)
			}
		})
	}
}

// TestBackupFreezeLive judges this machine's own mount table: the probe's
// plan must match one worked out here from /proc/self/mountinfo.
func TestBackupFreezeLive(t *testing.T) {
	ms, err := mounts.Live()
	if err != nil {
		t.Fatal(err)
	}
	tg := &Target{Root: fsroot.New("/"), Live: true, OS: osinfo.Info{Family: FamilyLinux}, Report: &Report{}, Now: time.Now}
	c := backupFreezeProbe(context.Background(), tg)
	p := PlanFreeze(ms, nil)
	if !strings.Contains(c.Message, "/proc/self/mountinfo") {
		t.Errorf("live probe did not read mountinfo: %q", c.Message)
	}
	switch {
	case len(p.Duplicates) > 0:
		if c.Status != StatusFail {
			t.Errorf("duplicates %v but %s: %s", p.Duplicates, c.Status, c.Message)
		}
	case len(p.Frozen) > 0:
		if c.Status != StatusPass || !strings.Contains(c.Message, strings.Join(p.Frozen, ", ")) {
			t.Errorf("frozen %v but %s: %s", p.Frozen, c.Status, c.Message)
		}
	}
	t.Logf("%s: %s", c.Status, c.Message)
}

func statusJSON(status, msg string, code int, ts string) string {
	return `[{"version":1.0,"timestampUTC":"` + ts + `","status":{"name":"VMSnapshot","operation":"Enable","status":"` + status +
		`","code":` + strconv.Itoa(code) + `,"formattedMessage":{"lang":"en-US","message":"` + msg + `"}}}]`
}

func TestBackupExtensionProbe(t *testing.T) {
	ext := "var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9224.0/"
	tests := []struct {
		desc   string
		files  map[string]string
		status Status
		want   []string
	}{
		{"never installed", map[string]string{"var/lib/waagent/": ""}, StatusPass, []string{"not installed"}},
		{"last run failed", map[string]string{
			ext + "status/1.status": statusJSON("success", "ok", 0, "2026-11-30T10:00:00Z"),
			ext + "status/2.status": statusJSON("error", "UserErrorFsFreezeFailed: failed to freeze /data", 5, "2026-12-01T09:00:00Z"),
		}, StatusFail, []string{"the last backup failed", "reports error (code 5", "3h0m0s ago", "UserErrorFsFreezeFailed: failed to freeze /data", "2.status"}},
		{"warning", map[string]string{ext + "status/7.status": statusJSON("warning", "app-consistent fell back", 1, "2026-12-01T11:00:00Z")},
			StatusWarn, []string{"completed with a warning", "app-consistent fell back", "1h0m0s ago"}},
		{"success", map[string]string{ext + "status/10.status": statusJSON("success", "done", 0, "2026-12-01T11:30:00Z"),
			ext + "status/9.status": statusJSON("error", "old", 1, "2026-12-01T11:00:00Z")}, StatusPass, []string{"reports success", "10.status"}},
		{"handler folder without status", map[string]string{ext + "status/": ""}, StatusWarn, []string{"handler folder without a status file"}},
		{"blacklisted agent", map[string]string{
			ext + "status/1.status":                            statusJSON("success", "done", 0, "2026-12-01T11:30:00Z"),
			"var/lib/waagent/WALinuxAgent-2.9.1.1/error.json":  `{"last_failure": 1764500000.5, "failure_count": 3, "was_fatal": false, "reason": "exited with 1"}`,
			"var/lib/waagent/WALinuxAgent-2.10.0.8/error.json": `{"last_failure": 0.0, "failure_count": 1, "was_fatal": false, "reason": ""}`,
		}, StatusWarn, []string{"blacklisted agent versions: WALinuxAgent-2.9.1.1 (3 failures", "exited with 1"}},
		{"unreadable status", map[string]string{ext + "status/3.status": "[{"}, StatusWarn, []string{"no readable status", "unreadable status"}},
		{"agent folder is a file", map[string]string{"var/lib/waagent": "not a folder"}, StatusWarn, []string{"cannot list the agent's folder"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			agenttest.Tree(t, dir, tc.files)
			c := backupExtensionProbe(context.Background(), imageTarget(dir))
			if c.Status != tc.status {
				t.Errorf("status %s (%s), want %s", c.Status, c.Message, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(c.Message, w) {
					t.Errorf("message %q does not mention %q", c.Message, w)
				}
			}
			if c.Status != StatusPass && c.Fix == "" {
				t.Errorf("no fix for %s", c.Status)
			}
			if strings.Contains(tc.desc, "blacklisted") && strings.Contains(c.Message, "2.10.0.8") {
				t.Errorf("a version with one failure is not blacklisted: %q", c.Message)
			}
		})
	}
}

func FuzzParseAgentError(f *testing.F) {
	f.Add([]byte(`{"last_failure": 1764500000.5, "failure_count": 3, "was_fatal": false, "reason": "x"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseAgentError(data)
		if err == nil && e.FailureCount >= 3 && !e.Blacklisted() {
			t.Fatal("3 failures not blacklisted")
		}
	})
}
