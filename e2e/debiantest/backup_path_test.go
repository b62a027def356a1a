//go:build linux

package debiantest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// proxySecret is the proxy password written into the image: it must appear
// nowhere in the report or the log.
const proxySecret = "e2e-Pr0xy-S3cret"

// put writes a file into the root with a mode and owner, made for real.
func put(t *testing.T, root, rel, content string, mode os.FileMode, uid int) {
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
}

const pluginConfig = `{
    "pluginName" : "ScriptRunner",
    "preScriptLocation" : "/opt/db/pre.sh",
    "postScriptLocation" : "/opt/db/post.sh",
    "preScriptParams" : ["--quiesce"],
    "postScriptParams" : [],
    "preScriptNoOfRetries" : 0,
    "postScriptNoOfRetries" : 0,
    "timeoutInSeconds" : 60,
    "continueBackupOnFailure" : true,
    "fsFreezeEnabled" : true,
    "ScriptsExecutionPollTimeSeconds" : 2
}
`

// The real Debian 12 root with the real agent, given everything that makes
// a backup fail inside the VM: each of the new checks says so, the proxy
// password is never printed (report or debug log).
func TestCheckRootBackupPathFaults(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootWaagent)
	put(t, root, "etc/azure/VMSnapshotScriptPluginConfig.json", pluginConfig, 0o644, 0)
	put(t, root, "opt/db/pre.sh", "#!/bin/sh\necho quiesce\n", 0o700, 0)
	put(t, root, "etc/azure/vmbackup.conf", "[SnapshotThread]\nfsfreeze: True\nMountsToSkip = /mnt/resource,/srv/gone\nSafeFreezeWaitInSeconds=600\n", 0o644, 0)
	put(t, root, "etc/fstab", "UUID=0a1b / ext4 errors=remount-ro 0 1\nUUID=77ff /boot/efi vfat umask=0077 0 1\n"+
		"UUID=d00d /data xfs defaults 0 2\nUUID=d00d /data xfs defaults 0 2\n/dev/disk/cloud/azure_resource-part1 /mnt/resource ext4 defaults,nofail 0 2\n", 0o644, 0)
	put(t, root, "etc/systemd/system/walinuxagent.service.d/http-proxy.conf",
		"[Service]\nEnvironment=\"http_proxy=http://alice:"+proxySecret+"@proxy.corp:3128\" \"NO_PROXY=localhost\"\n", 0o644, 0)
	ext := "var/lib/waagent/Microsoft.Azure.RecoveryServices.VMSnapshotLinux-1.0.9224.0/"
	put(t, root, ext+"status/4.status", `[{"version":1.0,"timestampUTC":"2026-11-30T02:00:00Z","status":{"name":"Microsoft.Azure.RecoveryServices.VMSnapshotLinux","operation":"Enable","status":"error","code":400,"formattedMessage":{"lang":"en-US","message":"UserErrorFsFreezeFailed: failed to freeze /data"}}}]`, 0o600, 0)
	put(t, root, "var/lib/waagent/WALinuxAgent-2.9.1.1/error.json", `{"last_failure": 1764460800.0, "failure_count": 3, "was_fatal": false, "reason": "the agent exited 3 times"}`, 0o644, 0)

	res := runCheck(t, root, "AGENTKEEPER_LOG_LEVEL=debug")
	if res.code != 1 {
		t.Errorf("exit code %d, want 1 (not ready)", res.code)
	}
	for _, w := range []struct{ id, status, msg string }{
		{"backup.scripts", "fail", "IncorrectJSONConfigFile: " + filepath.Join(root, "etc/azure/VMSnapshotScriptPluginConfig.json") + " has mode 644"},
		{"backup.scripts", "fail", "Post-ScriptNotFound: " + filepath.Join(root, "opt/db/post.sh") + " does not exist"},
		{"backup.config", "warn", "/srv/gone, not a mount point"},
		{"backup.freeze", "fail", "UserErrorFsFreezeFailed: /data mounted more than once"},
		{"backup.freeze", "fail", "skipped by MountsToSkip: /mnt/resource; not frozen (crash-consistent only): /boot/efi (vfat)"},
		{"backup.extension", "fail", "reports error (code 400"},
		{"backup.extension", "fail", "UserErrorFsFreezeFailed: failed to freeze /data"},
		{"backup.extension", "fail", "blacklisted agent versions: WALinuxAgent-2.9.1.1 (3 failures"},
		{"network.proxy", "fail", "http_proxy=http://alice:****@proxy.corp:3128"},
		{"disk.space", "skip", "offline image"},
		{"agent.python", "pass", "Python 3.11"},
	} {
		c := wantCheck(t, res, w.id, w.status)
		if !strings.Contains(c.Message, w.msg) {
			t.Errorf("%s: %q does not mention %q", w.id, c.Message, w.msg)
		}
		if w.status == "fail" && c.Fix == "" {
			t.Errorf("%s fails without a fix", w.id)
		}
	}
	if c, _ := res.rep.find("backup.scripts"); !strings.Contains(c.Fix, "chroot "+root+" chown root:root") {
		t.Errorf("backup.scripts fix %q does not act inside the image", c.Fix)
	}
	if strings.Contains(string(res.stdout), proxySecret) || strings.Contains(string(res.stderr), proxySecret) {
		t.Errorf("the proxy password is printed:\nstdout %s\nstderr %s", res.stdout, res.stderr)
	}
	if !strings.Contains(string(res.stderr), "proxy setting") {
		t.Errorf("no debug log of the proxy setting (is the log level applied?):\n%s", tail(res.stderr, 20))
	}
	if t.Failed() {
		t.Logf("report:\n%s", res.dump())
	}
}

// App-consistent scripts set up as the Azure document says pass; a script
// owned by another user is refused with the extension's own error name.
func TestCheckRootAppConsistentScripts(t *testing.T) {
	t.Parallel()
	root := unpack(t, rootWaagent)
	put(t, root, "etc/azure/VMSnapshotScriptPluginConfig.json", pluginConfig, 0o600, 0)
	put(t, root, "opt/db/pre.sh", "#!/bin/sh\necho quiesce\n", 0o700, 0)
	put(t, root, "opt/db/post.sh", "#!/bin/sh\necho thaw\n", 0o700, 0)
	res := runCheck(t, root)
	c := wantCheck(t, res, "backup.scripts", "pass")
	if !strings.Contains(c.Message, "pre-script /opt/db/pre.sh, post-script /opt/db/post.sh") {
		t.Errorf("message %q", c.Message)
	}
	if res.code != 0 {
		t.Errorf("exit %d, want 0\n%s", res.code, res.dump())
	}

	put(t, root, "opt/db/pre.sh", "#!/bin/sh\necho quiesce\n", 0o700, 1000)
	res = runCheck(t, root)
	c = wantCheck(t, res, "backup.scripts", "fail")
	if !strings.Contains(c.Message, "InsufficientPermissionforPre-Script: "+filepath.Join(root, "opt/db/pre.sh")+" is owned by uid 1000") {
		t.Errorf("message %q", c.Message)
	}
}
