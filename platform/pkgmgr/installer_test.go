//go:build !windows

package pkgmgr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/install"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

func newInstaller(t *testing.T, installer, root string, f *run.Fake) *Installer {
	t.Helper()
	i, err := NewInstaller(installer, fsroot.New(root), f, Options{LockTimeout: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// The dpkg --configure -a repair is reported as a step, passed or failed,
// and only in the Install that made it.
func TestInstallerReportsRepair(t *testing.T) {
	for _, tc := range []struct {
		desc         string
		configureRC  int
		wantStatus   string
		wantErr      bool
		wantInSecond int
	}{
		{"repair works", 0, install.StepPass, false, 0},
		{"repair fails", 1, install.StepFail, true, 0},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			installs := 0
			f := &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
				switch {
				case contains(c.Argv, "--configure"):
					return run.Result{ExitCode: tc.configureRC, Stderr: []byte("dpkg: error processing package waagent (--configure)")}, nil
				case contains(c.Argv, "install"):
					if installs++; installs == 1 {
						return run.Result{ExitCode: 100, Stderr: []byte(dpkgInterrupted)}, nil
					}
				}
				return run.Result{}, nil
			}}
			i := newInstaller(t, "apt-get", "/img", f)
			res, err := i.Install(context.Background(), "waagent")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, want error %v", err, tc.wantErr)
			}
			if len(res.Steps) != 1 || res.Steps[0].ID != "repair" || res.Steps[0].Status != tc.wantStatus ||
				!strings.Contains(res.Steps[0].Message, "dpkg was interrupted") {
				t.Fatalf("steps %+v, want one repair step %s", res.Steps, tc.wantStatus)
			}
			if tc.wantStatus == install.StepPass && !strings.Contains(res.Steps[0].Message, "chroot /img dpkg --force-confdef --force-confold --configure -a") {
				t.Errorf("repair step %q does not name the command", res.Steps[0].Message)
			}
			res, _ = i.Install(context.Background(), "waagent")
			if len(res.Steps) != tc.wantInSecond {
				t.Errorf("second install reports %+v, want no repair", res.Steps)
			}
		})
	}
}

func TestInstallerErrors(t *testing.T) {
	if !errors.Is(ErrLocked, install.ErrBusy) || !errors.Is(ErrNotOffered, install.ErrNotOffered) {
		t.Fatal("ErrLocked must be an install.ErrBusy and ErrNotOffered an install.ErrNotOffered")
	}
	f := &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
		return run.Result{ExitCode: 100, Stderr: []byte("E: Could not get lock /var/lib/dpkg/lock-frontend")}, nil
	}}
	_, err := newInstaller(t, "apt-get", "/", f).Install(context.Background(), "waagent")
	if !errors.Is(err, install.ErrBusy) || !errors.Is(err, ErrLocked) {
		t.Errorf("locked apt: %v, want install.ErrBusy", err)
	}
}

func TestInstallerCommands(t *testing.T) {
	live := newInstaller(t, "apt-get", "/", &run.Fake{})
	if got := strings.Join(live.Commands("waagent"), "\n"); !strings.Contains(got, "apt-get update") || !strings.Contains(got, "apt-get install -y") {
		t.Errorf("commands %q", got)
	}
	if got := live.EnableCommands("walinuxagent.service"); len(got) != 1 || got[0] != "systemctl enable --now walinuxagent" {
		t.Errorf("live enable commands %q", got)
	}
	if got := newInstaller(t, "zypper", "/img", &run.Fake{}).EnableCommands("waagent.service"); len(got) != 1 || !strings.Contains(got[0], "in the image") {
		t.Errorf("image enable commands %q", got)
	}
}

func TestInstallerEnablesInImage(t *testing.T) {
	root := t.TempDir()
	unit := filepath.Join(root, "usr/lib/systemd/system/walinuxagent.service")
	os.MkdirAll(filepath.Dir(unit), 0o755)
	os.WriteFile(unit, []byte("[Install]\nWantedBy=multi-user.target\n"), 0o644)
	f := &run.Fake{}
	how, err := newInstaller(t, "apt-get", root, f).EnableService(context.Background(), "walinuxagent.service")
	if err != nil || !strings.Contains(how, "not started") {
		t.Fatalf("how %q err %v", how, err)
	}
	if _, err := os.Lstat(filepath.Join(root, "etc/systemd/system/multi-user.target.wants/walinuxagent.service")); err != nil {
		t.Error(err)
	}
	if len(f.Commands()) != 0 {
		t.Errorf("ran %v in an image", f.Commands())
	}
}
