package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// debianUnit is /usr/lib/systemd/system/walinuxagent.service as Debian 12's
// waagent 2.7.3.0-4.1 package installs it (typo included).
const debianUnit = `[Unit]
Description=Microsft Azure Linux Agent
After=multi-user.target
ConditionVirtualization=microsoft

[Service]
ExecStart=/usr/sbin/waagent -daemon

[Install]
WantedBy=multi-user.target
`

// aliasUnit is a unit that can also be reached as waagent.service.
const aliasUnit = `[Unit]
Description=Azure Linux Agent

[Service]
ExecStart=/usr/sbin/waagent -daemon

[Install]
WantedBy=multi-user.target
Alias=waagent.service
`

// staticUnit has no [Install] section.
const staticUnit = "[Unit]\nDescription=static\n[Service]\nExecStart=/bin/true\n"

// tree describes a root: files (path → content) and symlinks (path → target).
type tree struct {
	files map[string]string
	links map[string]string
}

// debianTree is the layout of a merged-/usr Debian 12 root with the waagent
// package installed and enabled, extended by extra.
func debianTree(extra tree) tree {
	t := tree{
		files: map[string]string{"usr/lib/systemd/system/walinuxagent.service": debianUnit},
		links: map[string]string{
			"lib": "usr/lib",
			"etc/systemd/system/multi-user.target.wants/walinuxagent.service": "/lib/systemd/system/walinuxagent.service",
			"etc/systemd/system/timers.target.wants/apt-daily.timer":          "/lib/systemd/system/apt-daily.timer",
		},
	}
	for p, c := range extra.files {
		t.files[p] = c
	}
	for p, l := range extra.links {
		if l == "" {
			delete(t.links, p)
			continue
		}
		t.links[p] = l
	}
	return t
}

func (tr tree) make(t *testing.T) fsroot.Root {
	t.Helper()
	dir := t.TempDir()
	for p, c := range tr.files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for p, target := range tr.links {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, full); err != nil {
			t.Skipf("cannot make symlinks here: %v", err)
		}
		// Wine reports success but makes no link.
		if _, err := os.Readlink(full); err != nil {
			t.Skipf("symlinks do not work here: %v", err)
		}
	}
	return fsroot.New(dir)
}

func TestSystemdOffline(t *testing.T) {
	const wants = "etc/systemd/system/multi-user.target.wants/walinuxagent.service"
	tests := []struct {
		desc       string
		tree       tree
		unit       string
		want       State
		wantDetail string
		wantErr    string
	}{
		{
			desc:       "Debian package installed and enabled, /lib -> usr/lib",
			tree:       debianTree(tree{}),
			unit:       "walinuxagent.service",
			want:       State{Installed: true, Enabled: true, StartType: "enabled"},
			wantDetail: "/lib/systemd/system/walinuxagent.service; enabled (/etc/systemd/system/multi-user.target.wants/walinuxagent.service)",
		},
		{
			desc: "non-merged /usr: unit in a real /lib",
			tree: tree{
				files: map[string]string{"lib/systemd/system/walinuxagent.service": debianUnit},
				links: map[string]string{wants: "/lib/systemd/system/walinuxagent.service"},
			},
			unit: "walinuxagent.service",
			want: State{Installed: true, Enabled: true, StartType: "enabled"},
		},
		{
			desc: "RHEL layout: only /usr/lib, no /lib link",
			tree: tree{
				files: map[string]string{"usr/lib/systemd/system/waagent.service": debianUnit},
				links: map[string]string{"etc/systemd/system/multi-user.target.wants/waagent.service": "/usr/lib/systemd/system/waagent.service"},
			},
			unit: "waagent.service",
			want: State{Installed: true, Enabled: true, StartType: "enabled"},
		},
		{
			desc:       "installed but disabled",
			tree:       debianTree(tree{links: map[string]string{wants: ""}}),
			unit:       "walinuxagent.service",
			want:       State{Installed: true, StartType: "disabled"},
			wantDetail: "/lib/systemd/system/walinuxagent.service; disabled",
		},
		{
			desc: "enabled through a *.requires link",
			tree: debianTree(tree{links: map[string]string{
				wants: "",
				"etc/systemd/system/network-online.target.requires/walinuxagent.service": "/lib/systemd/system/walinuxagent.service",
			}}),
			unit: "walinuxagent.service",
			want: State{Installed: true, Enabled: true, StartType: "enabled"},
		},
		{
			desc: "a *.wants file that is not a directory is ignored",
			tree: debianTree(tree{
				links: map[string]string{wants: ""},
				files: map[string]string{"etc/systemd/system/odd.target.wants": "not a dir"},
			}),
			unit: "walinuxagent.service",
			want: State{Installed: true, StartType: "disabled"},
		},
		{
			desc: "a link for another unit does not enable this one",
			tree: debianTree(tree{links: map[string]string{
				wants: "",
				"etc/systemd/system/multi-user.target.wants/walinuxagent.service.bak": "/lib/systemd/system/walinuxagent.service",
			}}),
			unit: "walinuxagent.service",
			want: State{Installed: true, StartType: "disabled"},
		},
		{
			desc: "enabled for this boot only under /run",
			tree: debianTree(tree{links: map[string]string{
				wants: "",
				"run/systemd/system/multi-user.target.wants/walinuxagent.service": "/lib/systemd/system/walinuxagent.service",
			}}),
			unit: "walinuxagent.service",
			want: State{Installed: true, Enabled: true, StartType: "enabled-runtime"},
		},
		{
			desc:       "masked: /etc link to /dev/null wins over the wants link",
			tree:       debianTree(tree{links: map[string]string{"etc/systemd/system/walinuxagent.service": "/dev/null"}}),
			unit:       "walinuxagent.service",
			want:       State{Installed: true, StartType: "masked"},
			wantDetail: "/lib/systemd/system/walinuxagent.service; masked (/etc/systemd/system/walinuxagent.service -> /dev/null)",
		},
		{
			desc: "masked and no unit file",
			tree: tree{links: map[string]string{"etc/systemd/system/walinuxagent.service": "/dev/null"}},
			unit: "walinuxagent.service",
			want: State{StartType: "masked"},
		},
		{
			desc: "masked for this boot under /run",
			tree: debianTree(tree{links: map[string]string{"run/systemd/system/walinuxagent.service": "/dev/null"}}),
			unit: "walinuxagent.service",
			want: State{Installed: true, StartType: "masked-runtime"},
		},
		{
			desc: "static: no [Install] section",
			tree: tree{files: map[string]string{"usr/lib/systemd/system/walinuxagent.service": staticUnit}},
			unit: "walinuxagent.service",
			want: State{Installed: true, StartType: "static"},
		},
		{
			desc: "indirect: only Also=",
			tree: tree{files: map[string]string{"usr/lib/systemd/system/a.service": "[Install]\nAlso=b.socket\n"}},
			unit: "a.service",
			want: State{Installed: true, StartType: "indirect"},
		},
		{
			desc: "alias link in /etc/systemd/system enables the unit",
			tree: tree{
				files: map[string]string{"usr/lib/systemd/system/walinuxagent.service": aliasUnit},
				links: map[string]string{"lib": "usr/lib", "etc/systemd/system/waagent.service": "/lib/systemd/system/walinuxagent.service"},
			},
			unit:       "walinuxagent.service",
			want:       State{Installed: true, Enabled: true, StartType: "enabled"},
			wantDetail: "/lib/systemd/system/walinuxagent.service; enabled (/etc/systemd/system/waagent.service (alias))",
		},
		{
			desc: "asked by its alias name, enabled by the real name's wants link",
			tree: tree{
				files: map[string]string{"usr/lib/systemd/system/walinuxagent.service": aliasUnit},
				links: map[string]string{
					"etc/systemd/system/waagent.service":                              "/usr/lib/systemd/system/walinuxagent.service",
					"etc/systemd/system/multi-user.target.wants/walinuxagent.service": "/usr/lib/systemd/system/walinuxagent.service",
				},
			},
			unit: "waagent.service",
			want: State{Installed: true, Enabled: true, StartType: "enabled"},
		},
		{
			desc: "asked by a link name without Alias=, enabled by the real name's wants link",
			tree: debianTree(tree{links: map[string]string{
				"etc/systemd/system/waagent.service": "/lib/systemd/system/walinuxagent.service",
			}}),
			unit:       "waagent.service",
			want:       State{Installed: true, Enabled: true, StartType: "enabled"},
			wantDetail: "/etc/systemd/system/waagent.service; enabled (/etc/systemd/system/multi-user.target.wants/walinuxagent.service)",
		},
		{
			desc: "alias name not listed in Alias= does not enable",
			tree: tree{
				files: map[string]string{"usr/lib/systemd/system/walinuxagent.service": debianUnit},
				links: map[string]string{"etc/systemd/system/other.service": "/usr/lib/systemd/system/walinuxagent.service"},
			},
			unit: "walinuxagent.service",
			want: State{Installed: true, StartType: "disabled"},
		},
		{
			desc: "an /etc override file is found first",
			tree: debianTree(tree{files: map[string]string{"etc/systemd/system/walinuxagent.service": staticUnit}}),
			unit: "walinuxagent.service",
			// The wants link still names the unit, so it counts as enabled.
			want:       State{Installed: true, Enabled: true, StartType: "enabled"},
			wantDetail: "/etc/systemd/system/walinuxagent.service; enabled",
		},
		{
			desc: "absolute link escaping the root stays inside it",
			tree: tree{links: map[string]string{"usr/lib/systemd/system/walinuxagent.service": "/../../../../usr/lib/systemd/system/ssh.service"}},
			unit: "walinuxagent.service",
			want: State{},
		},
		{
			desc: "dangling wants link, unit removed",
			tree: debianTree(tree{files: map[string]string{}, links: map[string]string{}}).without("usr/lib/systemd/system/walinuxagent.service"),
			unit: "walinuxagent.service",
			want: State{},
		},
		{desc: "empty root", tree: tree{}, unit: "walinuxagent.service", want: State{}, wantDetail: "no unit file for walinuxagent.service"},
		{desc: "unit name with a slash", tree: tree{}, unit: "../../etc/passwd", wantErr: "invalid systemd unit name"},
		{desc: "empty unit name", tree: tree{}, unit: "", wantErr: "invalid systemd unit name"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			root := tc.tree.make(t)
			got, err := SystemdOffline(root, tc.unit)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Running != nil {
				t.Errorf("Running = %v, want nil offline", *got.Running)
			}
			if tc.wantDetail != "" && !strings.HasPrefix(got.Detail, tc.wantDetail) {
				t.Errorf("Detail = %q, want prefix %q", got.Detail, tc.wantDetail)
			}
			got.Detail = ""
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func (tr tree) without(p string) tree {
	delete(tr.files, p)
	return tr
}

func TestParseInstall(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		want installInfo
	}{
		{desc: "Debian unit", in: debianUnit, want: installInfo{section: true, wantedBy: []string{"multi-user.target"}}},
		{desc: "no install section", in: staticUnit, want: installInfo{}},
		{
			desc: "lists, repeats, reset, comments, continuation",
			in: "[Install]\n# Alias=commented.service\n; Alias=also-commented.service\nWantedBy=a.target b.target\n" +
				"WantedBy=c.target\nAlias=x.service\nAlias=\nAlias=y.service \\\n  z.service\nRequiredBy = r.target\nAlso=s.socket\n",
			want: installInfo{section: true, wantedBy: []string{"a.target", "b.target", "c.target"},
				requiredBy: []string{"r.target"}, alias: []string{"y.service", "z.service"}, also: []string{"s.socket"}},
		},
		{
			desc: "keys outside [Install] are ignored",
			in:   "[Unit]\nAlias=no.service\n[Install]\nWantedBy=m.target\n[X-Extra]\nAlias=nope.service\n",
			want: installInfo{section: true, wantedBy: []string{"m.target"}},
		},
		{desc: "empty install section", in: "[Install]\n", want: installInfo{section: true}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := parseInstall([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Outputs of `systemctl show UNIT --property=LoadState,ActiveState,SubState,UnitFileState`.
// systemctl prints the properties in its own order, not the order asked.
const (
	showRunning  = "LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n"
	showStopped  = "LoadState=loaded\nActiveState=inactive\nSubState=dead\nUnitFileState=disabled\n"
	showFailed   = "ActiveState=failed\nSubState=failed\nLoadState=loaded\nUnitFileState=enabled\n"
	showNotFound = "LoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n"
	showMasked   = "LoadState=masked\nActiveState=inactive\nSubState=dead\nUnitFileState=masked\n"
	showAlias    = "LoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=alias\n"
	showRuntime  = "LoadState=loaded\nActiveState=reloading\nSubState=reload\nUnitFileState=enabled-runtime\n"
	showStatic   = "LoadState=loaded\nActiveState=active\nSubState=exited\nUnitFileState=static\n"
	// notBooted is what systemctl 252 (Debian 12) prints on stderr, with
	// exit status 1, in a container not booted with systemd.
	notBooted = "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n"
)

func TestParseSystemctlShow(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		want map[string]string
	}{
		{desc: "running", in: showRunning, want: map[string]string{"LoadState": "loaded", "ActiveState": "active", "SubState": "running", "UnitFileState": "enabled"}},
		{desc: "empty value kept", in: showNotFound, want: map[string]string{"LoadState": "not-found", "ActiveState": "inactive", "SubState": "dead", "UnitFileState": ""}},
		{desc: "value with =", in: "ExecStart={ path=/usr/sbin/waagent ; argv[]=/usr/sbin/waagent -daemon }\n", want: map[string]string{"ExecStart": "{ path=/usr/sbin/waagent ; argv[]=/usr/sbin/waagent -daemon }"}},
		{desc: "CRLF and junk lines", in: "junk\r\nLoadState=loaded\r\n=x\r\nbad key=1\r\n", want: map[string]string{"LoadState": "loaded"}},
		{desc: "second unit after blank line ignored", in: "LoadState=loaded\n\nLoadState=not-found\nActiveState=inactive\n", want: map[string]string{"LoadState": "loaded"}},
		{desc: "leading blank line skipped", in: "\nLoadState=loaded\n", want: map[string]string{"LoadState": "loaded"}},
		{desc: "empty", in: "", want: map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := parseSystemctlShow([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzParseSystemctlShow(f *testing.F) {
	for _, s := range []string{showRunning, showFailed, showNotFound, notBooted, "A=\n\nB=1", "=\r\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		props := parseSystemctlShow(data)
		for k := range props {
			if k == "" || strings.ContainsAny(k, "= \t\n") {
				t.Fatalf("bad key %q", k)
			}
		}
		if _, ok := props["LoadState"]; ok {
			st := stateFromShow(props)
			if st.Running == nil {
				t.Fatal("Running nil from live output")
			}
			if st.Enabled && !st.Installed {
				t.Fatalf("enabled but not installed: %+v", st)
			}
		}
	})
}

func TestSystemdLive(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		desc      string
		res       run.Result
		runErr    error
		want      State
		wantErr   string
		noSystemd bool
	}{
		{desc: "running and enabled", res: run.Result{Stdout: []byte(showRunning)},
			want: State{Installed: true, Enabled: true, Running: &yes, StartType: "enabled", Detail: "active (running)"}},
		{desc: "stopped and disabled", res: run.Result{Stdout: []byte(showStopped)},
			want: State{Installed: true, Running: &no, StartType: "disabled", Detail: "inactive (dead)"}},
		{desc: "failed", res: run.Result{Stdout: []byte(showFailed)},
			want: State{Installed: true, Enabled: true, Running: &no, StartType: "enabled", Detail: "failed (failed)"}},
		{desc: "not found", res: run.Result{Stdout: []byte(showNotFound)},
			want: State{Running: &no, Detail: "not-found"}},
		{desc: "masked", res: run.Result{Stdout: []byte(showMasked)},
			want: State{Installed: true, Running: &no, StartType: "masked", Detail: "masked; inactive (dead)"}},
		{desc: "alias counts as enabled", res: run.Result{Stdout: []byte(showAlias)},
			want: State{Installed: true, Enabled: true, Running: &yes, StartType: "alias", Detail: "active (running)"}},
		{desc: "runtime enabled and reloading", res: run.Result{Stdout: []byte(showRuntime)},
			want: State{Installed: true, Enabled: true, Running: &yes, StartType: "enabled-runtime", Detail: "reloading (reload)"}},
		{desc: "static oneshot", res: run.Result{Stdout: []byte(showStatic)},
			want: State{Installed: true, Running: &yes, StartType: "static", Detail: "active (exited)"}},
		{desc: "not booted with systemd", res: run.Result{ExitCode: 1, Stderr: []byte(notBooted)},
			wantErr: "System has not been booted with systemd", noSystemd: true},
		{desc: "bus down only", res: run.Result{ExitCode: 1, Stderr: []byte("Failed to connect to bus: No such file or directory\n")},
			wantErr: "Failed to connect to bus", noSystemd: true},
		{desc: "systemctl missing", runErr: fmt.Errorf("systemctl: %w", errNotFoundForTest()),
			wantErr: "systemctl not found", noSystemd: true},
		{desc: "other failure shows output", res: run.Result{ExitCode: 1, Stderr: []byte("Unknown option --no-pager\n")},
			wantErr: "Unknown option --no-pager"},
		{desc: "garbage output", res: run.Result{Stdout: []byte("hello\n")}, wantErr: "no LoadState"},
		{desc: "runner error", runErr: context.DeadlineExceeded, wantErr: "deadline exceeded"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			fake := &run.Fake{Respond: func(run.Cmd) (run.Result, error) { return tc.res, tc.runErr }}
			got, err := SystemdLive(context.Background(), fake, "walinuxagent.service")
			wantArgv := []string{"systemctl", "show", "walinuxagent.service",
				"--property=LoadState,ActiveState,SubState,UnitFileState", "--no-pager"}
			if cmds := fake.Commands(); len(cmds) != 1 || !reflect.DeepEqual(cmds[0].Argv, wantArgv) {
				t.Errorf("commands = %v, want one %q", cmds, wantArgv)
			}
			if errors.Is(err, ErrNoSystemd) != tc.noSystemd {
				t.Errorf("errors.Is(%v, ErrNoSystemd) = %v, want %v", err, !tc.noSystemd, tc.noSystemd)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v (running %v), want %+v (running %v)", got, deref(got.Running), tc.want, deref(tc.want.Running))
			}
		})
	}
	t.Run("bad unit name runs nothing", func(t *testing.T) {
		fake := &run.Fake{}
		if _, err := SystemdLive(context.Background(), fake, "a/b"); err == nil {
			t.Error("no error for a/b")
		}
		if n := len(fake.Commands()); n != 0 {
			t.Errorf("%d commands run", n)
		}
	})
}

func deref(b *bool) any {
	if b == nil {
		return nil
	}
	return *b
}

// errNotFoundForTest is the error run.Exec wraps when a program is not in PATH.
func errNotFoundForTest() error { return &exec.Error{Name: "systemctl", Err: exec.ErrNotFound} }

func FuzzParseInstall(f *testing.F) {
	for _, s := range []string{debianUnit, aliasUnit, staticUnit, "[Install]\nAlias=a \\\n b\nAlias=\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := parseInstall(data)
		for _, l := range [][]string{in.wantedBy, in.requiredBy, in.upheldBy, in.alias, in.also} {
			for _, v := range l {
				if v == "" || strings.ContainsAny(v, " \t\n") {
					t.Fatalf("bad list item %q", v)
				}
			}
		}
		if in.hasRules() && !in.section {
			t.Fatal("rules without an [Install] section")
		}
	})
}
