package service

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

const agentUnit = `[Unit]
Description=Azure Linux Agent
After=network-online.target cloud-init.service

[Service]
Type=simple
ExecStart=/usr/bin/python3 -u /usr/sbin/waagent -daemon

[Install]
WantedBy=multi-user.target
`

// enableRoot makes a temp root holding files (in-root path -> content).
func enableRoot(t *testing.T, files map[string]string) fsroot.Root {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	dir := t.TempDir()
	for p, content := range files {
		host := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(host, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return fsroot.New(dir)
}

func symlink(t *testing.T, r fsroot.Root, target, link string) {
	t.Helper()
	host := r.Join(link)
	if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, host); err != nil {
		t.Fatal(err)
	}
}

func readLink(t *testing.T, r fsroot.Root, link string) string {
	t.Helper()
	got, err := os.Readlink(r.Join(link))
	if err != nil {
		t.Fatalf("link %s: %v", link, err)
	}
	return got
}

const wantsLink = "/etc/systemd/system/multi-user.target.wants/walinuxagent.service"

func TestEnableOffline(t *testing.T) {
	r := enableRoot(t, map[string]string{"/lib/systemd/system/walinuxagent.service": agentUnit})
	if st, _ := SystemdOffline(r, "walinuxagent.service"); st.Enabled || st.StartType != "disabled" {
		t.Fatalf("before: %+v", st)
	}
	if err := EnableOffline(r, "walinuxagent.service"); err != nil {
		t.Fatal(err)
	}
	if got := readLink(t, r, wantsLink); got != "/lib/systemd/system/walinuxagent.service" {
		t.Errorf("link -> %q", got)
	}
	st, err := SystemdOffline(r, "walinuxagent.service")
	if err != nil || !st.Enabled || st.StartType != "enabled" {
		t.Errorf("after: %+v, %v", st, err)
	}
	// Idempotent.
	if err := EnableOffline(r, "walinuxagent.service"); err != nil {
		t.Errorf("second EnableOffline: %v", err)
	}
}

func TestEnableOfflineRulesAndAlias(t *testing.T) {
	unit := "[Unit]\nDescription=x\n[Install]\nWantedBy=multi-user.target graphical.target\nRequiredBy=cloud-init.target\nAlias=waagent.service\n"
	r := enableRoot(t, map[string]string{"/usr/lib/systemd/system/walinuxagent.service": unit})
	if err := EnableOffline(r, "walinuxagent.service"); err != nil {
		t.Fatal(err)
	}
	const target = "/usr/lib/systemd/system/walinuxagent.service"
	for _, l := range []string{
		"/etc/systemd/system/multi-user.target.wants/walinuxagent.service",
		"/etc/systemd/system/graphical.target.wants/walinuxagent.service",
		"/etc/systemd/system/cloud-init.target.requires/walinuxagent.service",
		"/etc/systemd/system/waagent.service",
	} {
		if got := readLink(t, r, l); got != target {
			t.Errorf("%s -> %q, want %q", l, got, target)
		}
	}
}

func TestEnableOfflineMasked(t *testing.T) {
	r := enableRoot(t, map[string]string{"/lib/systemd/system/walinuxagent.service": agentUnit})
	symlink(t, r, "/dev/null", "/etc/systemd/system/walinuxagent.service")
	err := EnableOffline(r, "walinuxagent.service")
	if !errors.Is(err, ErrMasked) || !strings.Contains(err.Error(), "unmask") {
		t.Fatalf("err = %v, want ErrMasked with advice", err)
	}
	if _, err := os.Lstat(r.Join(wantsLink)); err == nil {
		t.Error("a masked unit got a wants link")
	}
}

func TestEnableOfflineErrors(t *testing.T) {
	t.Run("no unit file", func(t *testing.T) {
		r := enableRoot(t, nil)
		if err := EnableOffline(r, "walinuxagent.service"); err == nil || !strings.Contains(err.Error(), "no unit file") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("bad name", func(t *testing.T) {
		r := enableRoot(t, nil)
		if err := EnableOffline(r, "../../etc/passwd"); err == nil {
			t.Error("accepted a path as unit name")
		}
	})
	t.Run("link to another unit in the way", func(t *testing.T) {
		r := enableRoot(t, map[string]string{"/lib/systemd/system/walinuxagent.service": agentUnit})
		symlink(t, r, "/lib/systemd/system/other.service", wantsLink)
		err := EnableOffline(r, "walinuxagent.service")
		if err == nil || !strings.Contains(err.Error(), "already links to /lib/systemd/system/other.service") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("regular file in the way", func(t *testing.T) {
		r := enableRoot(t, map[string]string{"/lib/systemd/system/walinuxagent.service": agentUnit, wantsLink: "x"})
		if err := EnableOffline(r, "walinuxagent.service"); err == nil || !strings.Contains(err.Error(), "not a symbolic link") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("bad WantedBy", func(t *testing.T) {
		r := enableRoot(t, map[string]string{"/lib/systemd/system/x.service": "[Install]\nWantedBy=../../../tmp\n"})
		if err := EnableOffline(r, "x.service"); err == nil {
			t.Error("accepted a path in WantedBy=")
		}
	})
}

func TestEnableOfflineStatic(t *testing.T) {
	r := enableRoot(t, map[string]string{"/lib/systemd/system/x.service": "[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n"})
	if err := EnableOffline(r, "x.service"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(r.Join("/etc/systemd/system")); err == nil {
		t.Error("a static unit got links")
	}
}

func TestEnableOfflineMergedUsr(t *testing.T) {
	// /lib -> usr/lib; an existing link by the /usr/lib path is the same file.
	r := enableRoot(t, map[string]string{"/usr/lib/systemd/system/walinuxagent.service": agentUnit})
	symlink(t, r, "usr/lib", "/lib")
	symlink(t, r, "/usr/lib/systemd/system/walinuxagent.service", wantsLink)
	if err := EnableOffline(r, "walinuxagent.service"); err != nil {
		t.Fatalf("existing equivalent link refused: %v", err)
	}
}

func TestEnableOfflineStaysInRoot(t *testing.T) {
	// /etc/systemd/system is an absolute link inside the image: it must be
	// followed inside the root, never on the host.
	r := enableRoot(t, map[string]string{"/lib/systemd/system/walinuxagent.service": agentUnit})
	if err := os.MkdirAll(r.Join("/srv/systemd"), 0o755); err != nil {
		t.Fatal(err)
	}
	symlink(t, r, "/srv/systemd", "/etc/systemd/system")
	if err := EnableOffline(r, "walinuxagent.service"); err != nil {
		t.Fatal(err)
	}
	if got := readLink(t, r, "/srv/systemd/multi-user.target.wants/walinuxagent.service"); got != "/lib/systemd/system/walinuxagent.service" {
		t.Errorf("link -> %q", got)
	}
}

func TestEnableLive(t *testing.T) {
	f := &run.Fake{}
	if err := EnableLive(context.Background(), f, "walinuxagent.service"); err != nil {
		t.Fatal(err)
	}
	if got := f.Commands(); len(got) != 1 || !reflect.DeepEqual(got[0].Argv, []string{"systemctl", "enable", "--now", "walinuxagent.service"}) {
		t.Errorf("ran %v", got)
	}

	f = &run.Fake{Respond: func(run.Cmd) (run.Result, error) {
		return run.Result{ExitCode: 1, Stderr: []byte("Failed to enable unit: Unit file walinuxagent.service does not exist.\n")}, nil
	}}
	err := EnableLive(context.Background(), f, "walinuxagent.service")
	if err == nil || err.Error() != "systemctl enable --now walinuxagent.service exited 1: Failed to enable unit: Unit file walinuxagent.service does not exist." {
		t.Errorf("err = %v", err)
	}

	f = &run.Fake{Respond: func(run.Cmd) (run.Result, error) {
		return run.Result{ExitCode: 1, Stderr: []byte("System has not been booted with systemd as init system (PID 1). Can't operate.\n")}, nil
	}}
	if err := EnableLive(context.Background(), f, "walinuxagent.service"); !errors.Is(err, ErrNoSystemd) {
		t.Errorf("err = %v, want ErrNoSystemd", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := EnableLive(ctx, &run.Fake{}, "walinuxagent.service"); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if err := EnableLive(context.Background(), &run.Fake{}, "a/b"); err == nil {
		t.Error("accepted a bad unit name")
	}
}
