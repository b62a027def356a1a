//go:build !windows

package pkgmgr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

func argvs(cmds []run.Cmd) [][]string {
	var out [][]string
	for _, c := range cmds {
		out = append(out, c.Argv)
	}
	return out
}

func newMgr(t *testing.T, installer, root string, f *run.Fake) Manager {
	t.Helper()
	m, err := New(installer, fsroot.New(root), f, Options{LockTimeout: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestInstallArgv(t *testing.T) {
	aptOpts := []string{"install", "-y", "-q", "--no-install-recommends",
		"-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
		"-o", "DPkg::Lock::Timeout=90", "waagent"}
	tests := []struct {
		desc, installer, root string
		want                  [][]string
	}{
		{"apt live", "apt-get", "/", [][]string{
			{"apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=90"},
			append([]string{"apt-get"}, aptOpts...)}},
		{"apt offline", "apt-get", "/img", [][]string{
			{"chroot", "/img", "apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=90"},
			append([]string{"chroot", "/img", "apt-get"}, aptOpts...)}},
		{"dnf live", "dnf", "/", [][]string{
			{"dnf", "--setopt=exit_on_lock=True", "-y", "install", "waagent"},
			{"dnf", "--setopt=exit_on_lock=True", "-y", "upgrade", "waagent"}}},
		{"dnf offline", "dnf", "/img", [][]string{
			{"dnf", "--setopt=exit_on_lock=True", "--installroot=/img", "-y", "install", "waagent"},
			{"dnf", "--setopt=exit_on_lock=True", "--installroot=/img", "-y", "upgrade", "waagent"}}},
		{"yum live", "yum", "/", [][]string{
			{"yum", "--setopt=exit_on_lock=True", "-y", "install", "waagent"},
			{"yum", "--setopt=exit_on_lock=True", "-y", "upgrade", "waagent"}}},
		{"yum offline", "yum", "/img", [][]string{
			{"yum", "--setopt=exit_on_lock=True", "--installroot=/img", "-c", "/img/etc/yum.conf", "-y", "install", "waagent"},
			{"yum", "--setopt=exit_on_lock=True", "--installroot=/img", "-c", "/img/etc/yum.conf", "-y", "upgrade", "waagent"}}},
		{"tdnf live", "tdnf", "/", [][]string{{"tdnf", "-y", "install", "waagent"}}},
		{"tdnf offline", "tdnf", "/img", [][]string{{"tdnf", "--installroot=/img", "-y", "install", "waagent"}}},
		{"zypper live", "zypper", "/", [][]string{
			{"zypper", "--non-interactive", "refresh"},
			{"zypper", "--non-interactive", "install", "--auto-agree-with-licenses", "waagent"}}},
		{"zypper offline", "zypper", "/img", [][]string{
			{"zypper", "--non-interactive", "--root", "/img", "refresh"},
			{"zypper", "--non-interactive", "--root", "/img", "install", "--auto-agree-with-licenses", "waagent"}}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			f := &run.Fake{}
			if tc.root == "/img" {
				// An image with an RPM database (dnf, yum and tdnf refuse
				// to run on one without), its path in place of /img.
				img := t.TempDir()
				writeTestFile(t, filepath.Join(img, "var/lib/rpm/rpmdb.sqlite"), "")
				tc.root = img
				for _, argv := range tc.want {
					for i := range argv {
						argv[i] = strings.ReplaceAll(argv[i], "/img", img)
					}
				}
			}
			m := newMgr(t, tc.installer, tc.root, f)
			if m.Name() != tc.installer {
				t.Errorf("Name() = %q", m.Name())
			}
			plan := m.Plan("waagent")
			if got := argvs(plan); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Plan:\n got %q\nwant %q", got, tc.want)
			}
			if err := m.Install(context.Background(), "waagent"); err != nil {
				t.Fatal(err)
			}
			if got := argvs(f.Commands()); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Install ran:\n got %q\nwant %q", got, tc.want)
			}
			for _, c := range f.Commands() {
				if !contains(c.Env, "LC_ALL=C") {
					t.Errorf("%s: env %q lacks LC_ALL=C", c, c.Env)
				}
			}
		})
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestAptEnv(t *testing.T) {
	f := &run.Fake{}
	m := newMgr(t, "apt-get", "/", f)
	if err := m.Install(context.Background(), "waagent"); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.Commands() {
		if !contains(c.Env, "DEBIAN_FRONTEND=noninteractive") {
			t.Errorf("%s: env %q lacks DEBIAN_FRONTEND=noninteractive", c, c.Env)
		}
	}
}

func TestZypperLockTimeoutEnv(t *testing.T) {
	f := &run.Fake{}
	m := newMgr(t, "zypper", "/", f)
	if err := m.Install(context.Background(), "python-azure-agent"); err != nil {
		t.Fatal(err)
	}
	for _, c := range f.Commands() {
		if !contains(c.Env, "ZYPP_LOCK_TIMEOUT=90") {
			t.Errorf("%s: env %q lacks ZYPP_LOCK_TIMEOUT=90", c, c.Env)
		}
	}
}

// respondTo answers commands whose argv contains word with res, others
// with success.
func respondTo(word string, res run.Result) func(run.Cmd) (run.Result, error) {
	return func(c run.Cmd) (run.Result, error) {
		if contains(c.Argv, word) {
			return res, nil
		}
		return run.Result{}, nil
	}
}

func TestInstallFailureShowsCommandAndTail(t *testing.T) {
	var lines []string
	for i := 1; i <= 30; i++ {
		lines = append(lines, "line "+strings.Repeat("x", i%3)+string(rune('a'+i%26)))
	}
	lines = append(lines, "E: Unable to locate package waagent")
	f := &run.Fake{Respond: respondTo("install", run.Result{ExitCode: 100, Stdout: []byte(strings.Join(lines, "\n"))})}
	m := newMgr(t, "apt-get", "/", f)
	err := m.Install(context.Background(), "waagent")
	var ce *CommandError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *CommandError", err)
	}
	if ce.ExitCode != 100 || ce.Cmd.Argv[1] != "install" {
		t.Errorf("CommandError = %+v", ce)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "apt-get install -y") || !strings.Contains(msg, "exited 100: ") ||
		!strings.Contains(msg, "E: Unable to locate package waagent") {
		t.Errorf("message %q lacks command, exit or tail", msg)
	}
	if n := strings.Count(ce.Tail, "\n") + 1; n != tailLines {
		t.Errorf("tail has %d lines, want %d", n, tailLines)
	}
	if errors.Is(err, ErrLocked) {
		t.Error("a plain failure must not be ErrLocked")
	}
}

func TestAptLocked(t *testing.T) {
	lockMsg := "E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)\n" +
		"E: Unable to acquire the dpkg frontend lock (/var/lib/dpkg/lock-frontend), is another process using it?"
	f := &run.Fake{Respond: respondTo("install", run.Result{ExitCode: 100, Stderr: []byte(lockMsg)})}
	m := newMgr(t, "apt-get", "/", f)
	err := m.Install(context.Background(), "waagent")
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	var ce *CommandError
	if !errors.As(err, &ce) || !strings.Contains(ce.Tail, "held by process 4242") {
		t.Errorf("err = %v, want a CommandError with the lock message", err)
	}
	// apt waits for the lock itself: the timeout is passed, and no retry loop runs.
	cmds := f.Commands()
	if len(cmds) != 2 || !contains(cmds[1].Argv, "DPkg::Lock::Timeout=90") {
		t.Errorf("commands = %q", argvs(cmds))
	}
}

// apt-get does not wait for its lists and archives locks (only for dpkg's
// frontend lock, DPkg::Lock::Timeout): those are retried until the lock
// timeout, then ErrLocked.
func TestAptListsArchivesLocked(t *testing.T) {
	old := lockRetryEvery
	lockRetryEvery = time.Millisecond
	defer func() { lockRetryEvery = old }()
	lists := run.Result{ExitCode: 100, Stderr: []byte("E: Could not get lock /var/lib/apt/lists/lock. It is held by process 77 (apt-get)\nE: Unable to lock directory /var/lib/apt/lists/")}
	archives := run.Result{ExitCode: 100, Stderr: []byte("E: Could not get lock /var/cache/apt/archives/lock. It is held by process 78 (apt-get)\nE: Unable to lock directory /var/cache/apt/archives/")}
	for _, tc := range []struct {
		desc, word string
		res        run.Result
	}{{"lists (apt-get update)", "update", lists}, {"archives (apt-get install)", "install", archives}} {
		t.Run(tc.desc+"/held past timeout", func(t *testing.T) {
			f := &run.Fake{Respond: respondTo(tc.word, tc.res)}
			m, _ := New("apt-get", fsroot.New("/"), f, Options{LockTimeout: 30 * time.Millisecond})
			start := time.Now()
			err := m.Install(context.Background(), "waagent")
			if !errors.Is(err, ErrLocked) {
				t.Fatalf("err = %v, want ErrLocked", err)
			}
			if waited := time.Since(start); waited < 30*time.Millisecond {
				t.Errorf("gave up after %s, before the lock timeout", waited)
			}
			tries := 0
			for _, c := range f.Commands() {
				if contains(c.Argv, tc.word) {
					tries++
				}
			}
			if tries < 2 {
				t.Errorf("apt-get %s ran %d times, want retries", tc.word, tries)
			}
		})
		t.Run(tc.desc+"/released", func(t *testing.T) {
			n := 0
			f := &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
				if contains(c.Argv, tc.word) {
					if n++; n <= 2 {
						return tc.res, nil
					}
				}
				return run.Result{}, nil
			}}
			m, _ := New("apt-get", fsroot.New("/"), f, Options{LockTimeout: time.Minute})
			if err := m.Install(context.Background(), "waagent"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

const dpkgInterrupted = "E: dpkg was interrupted, you must manually run 'dpkg --configure -a' to correct the problem. "

func TestAptDpkgInterrupted(t *testing.T) {
	for _, tc := range []struct {
		desc       string
		failures   int // install attempts that report the interruption
		wantErr    bool
		wantArgv0s []string
	}{
		{"repaired then installed", 1, false, []string{"update", "install", "--force-confdef", "install"}},
		{"still interrupted: no loop", 2, true, []string{"update", "install", "--force-confdef", "install"}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			installs := 0
			f := &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
				if contains(c.Argv, "install") {
					installs++
					if installs <= tc.failures {
						return run.Result{ExitCode: 100, Stderr: []byte(dpkgInterrupted)}, nil
					}
				}
				return run.Result{}, nil
			}}
			m := newMgr(t, "apt-get", "/img", f)
			err := m.Install(context.Background(), "waagent")
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "dpkg was interrupted") {
				t.Errorf("err %q does not show the cause", err)
			}
			var got []string
			for _, c := range f.Commands() {
				if c.Argv[0] != "chroot" || c.Argv[1] != "/img" {
					t.Errorf("%s: not chrooted", c)
				}
				got = append(got, c.Argv[3])
				if c.Argv[2] == "dpkg" {
					if want := []string{"chroot", "/img", "dpkg", "--force-confdef", "--force-confold", "--configure", "-a"}; !reflect.DeepEqual(c.Argv, want) {
						t.Errorf("repair argv %q, want %q", c.Argv, want)
					}
				}
			}
			if !reflect.DeepEqual(got, tc.wantArgv0s) {
				t.Errorf("ran %q, want %q", got, tc.wantArgv0s)
			}
		})
	}
}

func TestAptDpkgConfigureFails(t *testing.T) {
	f := &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
		switch {
		case contains(c.Argv, "--configure"):
			return run.Result{ExitCode: 1, Stderr: []byte("dpkg: error processing package waagent (--configure)")}, nil
		case contains(c.Argv, "install"):
			return run.Result{ExitCode: 100, Stderr: []byte(dpkgInterrupted)}, nil
		}
		return run.Result{}, nil
	}}
	err := newMgr(t, "apt-get", "/", f).Install(context.Background(), "waagent")
	var ce *CommandError
	if !errors.As(err, &ce) || ce.Cmd.Argv[0] != "dpkg" {
		t.Fatalf("err = %v, want the dpkg --configure -a failure", err)
	}
	if n := len(f.Commands()); n != 3 {
		t.Errorf("ran %d commands, want 3 (update, install, configure)", n)
	}
}

func TestCandidate(t *testing.T) {
	tests := []struct {
		desc, installer string
		respond         func(run.Cmd) (run.Result, error)
		want            string
		wantErr         error
		wantCmds        [][]string
	}{
		{"apt", "apt-get", respondTo("policy", run.Result{Stdout: []byte(aptPolicyCandidate)}), "2.7.3.0-4.1", nil,
			[][]string{{"apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=90"}, {"apt-cache", "policy", "waagent"}}},
		{"apt none", "apt-get", respondTo("policy", run.Result{Stdout: []byte(aptPolicyNone)}), "", ErrNotOffered, nil},
		{"apt unknown package", "apt-get", respondTo("policy", run.Result{Stderr: []byte("N: Unable to locate package waagent\n")}), "", ErrNotOffered, nil},
		{"dnf", "dnf", respondTo("list", run.Result{Stdout: []byte(dnfListBoth)}), "2.7.0.6-6.el8_6.2", nil,
			[][]string{{"dnf", "--setopt=exit_on_lock=True", "-q", "list", "--showduplicates", "waagent"}}},
		{"dnf no match", "dnf", respondTo("list", run.Result{ExitCode: 1, Stderr: []byte("Error: No matching Packages to list\n")}), "", ErrNotOffered, nil},
		{"tdnf", "tdnf", respondTo("list", run.Result{Stdout: []byte(tdnfList)}), "2.9.1.1-1.cm2", nil,
			[][]string{{"tdnf", "list", "waagent"}}},
		{"zypper", "zypper", respondTo("search", run.Result{Stdout: []byte(zypperXMLBoth)}), "2.9.1.1-150100.3.41.1", nil,
			[][]string{{"zypper", "--non-interactive", "refresh"},
				{"zypper", "--non-interactive", "--xmlout", "search", "--details", "--match-exact", "--type", "package", "waagent"}}},
		{"zypper not found", "zypper", respondTo("search", run.Result{ExitCode: 104, Stdout: []byte(zypperXMLNone)}), "", ErrNotOffered, nil},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			f := &run.Fake{Respond: tc.respond}
			// The fixtures name the agent packages; ask for "waagent" in all
			// by rewriting the fixture's package name.
			f.Respond = func(c run.Cmd) (run.Result, error) {
				r, err := tc.respond(c)
				r.Stdout = []byte(renamePkg(string(r.Stdout)))
				return r, err
			}
			m := newMgr(t, tc.installer, "/", f)
			got, err := m.Candidate(context.Background(), "waagent")
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("Candidate = %q, want %q", got, tc.want)
			}
			if tc.wantCmds != nil && !reflect.DeepEqual(argvs(f.Commands()), tc.wantCmds) {
				t.Errorf("ran %q, want %q", argvs(f.Commands()), tc.wantCmds)
			}
		})
	}
}

func renamePkg(s string) string {
	for _, n := range []string{"WALinuxAgent", "python-azure-agent"} {
		s = strings.ReplaceAll(s, n, "waagent")
	}
	return s
}

func TestPlanAfterCandidateSkipsRefresh(t *testing.T) {
	for _, inst := range []string{"apt-get", "zypper"} {
		f := &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
			return run.Result{Stdout: []byte(renamePkg(aptPolicyCandidate + zypperXMLBoth))}, nil
		}}
		m := newMgr(t, inst, "/", f)
		if len(m.Plan("waagent")) != 2 {
			t.Fatalf("%s: fresh plan %q", inst, argvs(m.Plan("waagent")))
		}
		if _, err := m.Candidate(context.Background(), "waagent"); err != nil {
			t.Fatalf("%s: %v", inst, err)
		}
		plan := m.Plan("waagent")
		if len(plan) != 1 || !contains(plan[0].Argv, "install") {
			t.Errorf("%s: plan after Candidate %q, want the install alone", inst, argvs(plan))
		}
		n := len(f.Commands())
		if err := m.Install(context.Background(), "waagent"); err != nil {
			t.Fatal(err)
		}
		if got := argvs(f.Commands()[n:]); !reflect.DeepEqual(got, argvs(plan)) {
			t.Errorf("%s: Install ran %q, plan said %q", inst, got, argvs(plan))
		}
	}
}

func TestYumLock(t *testing.T) {
	old := lockRetryEvery
	lockRetryEvery = time.Millisecond
	defer func() { lockRetryEvery = old }()
	lockRes := run.Result{ExitCode: 200, Stderr: []byte("Existing lock /var/run/yum.pid: another copy is running as pid 31337.\nAnother app is currently holding the yum lock; exiting as configured by exit_on_lock")}

	t.Run("released", func(t *testing.T) {
		calls := 0
		f := &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
			calls++
			if calls <= 2 {
				return lockRes, nil
			}
			return run.Result{}, nil
		}}
		m, _ := New("yum", fsroot.New("/"), f, Options{LockTimeout: time.Minute})
		if err := m.Install(context.Background(), "WALinuxAgent"); err != nil {
			t.Fatal(err)
		}
		if n := len(f.Commands()); n != 4 {
			t.Errorf("ran %d commands, want 4 (2 locked, install, upgrade)", n)
		}
	})
	t.Run("held past timeout", func(t *testing.T) {
		f := &run.Fake{Respond: func(run.Cmd) (run.Result, error) { return lockRes, nil }}
		m, _ := New("yum", fsroot.New("/"), f, Options{LockTimeout: 20 * time.Millisecond})
		err := m.Install(context.Background(), "WALinuxAgent")
		if !errors.Is(err, ErrLocked) {
			t.Fatalf("err = %v, want ErrLocked", err)
		}
		var ce *CommandError
		if !errors.As(err, &ce) || ce.ExitCode != 200 {
			t.Errorf("err = %v, want the CommandError", err)
		}
	})
}

func TestZypperExitCodes(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		code    int
		wantErr error
		ok      bool
	}{
		{"locked", 7, ErrLocked, false},
		{"not found", 104, ErrNotOffered, false},
		{"reboot needed is success", 102, nil, true},
		{"rpm scriptlet failed", 107, ErrScriptlet, false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			f := &run.Fake{Respond: respondTo("install", run.Result{ExitCode: tc.code, Stdout: []byte("zypper says something")})}
			err := newMgr(t, "zypper", "/", f).Install(context.Background(), "python-azure-agent")
			if tc.ok {
				if err != nil {
					t.Fatalf("err = %v, want success", err)
				}
				return
			}
			var ce *CommandError
			if !errors.As(err, &ce) || ce.ExitCode != tc.code {
				t.Fatalf("err = %v, want CommandError exit %d", err, tc.code)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want %v", err, tc.wantErr)
			}
		})
	}
}

func TestDnfFailureNeverSuccess(t *testing.T) {
	f := &run.Fake{Respond: respondTo("upgrade", run.Result{ExitCode: 1, Stderr: []byte("Error: Transaction test error:\n  file /usr/sbin/waagent conflicts")})}
	err := newMgr(t, "dnf", "/", f).Install(context.Background(), "WALinuxAgent")
	var ce *CommandError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "dnf --setopt=exit_on_lock=True -y upgrade WALinuxAgent exited 1: Error: Transaction test error") {
		t.Fatalf("err = %v", err)
	}
}

func TestContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, inst := range []string{"apt-get", "dnf", "yum", "zypper", "tdnf"} {
		f := &run.Fake{}
		m := newMgr(t, inst, "/", f)
		if err := m.Install(ctx, "waagent"); !errors.Is(err, context.Canceled) {
			t.Errorf("%s Install: err = %v, want context.Canceled", inst, err)
		}
		if _, err := m.Candidate(ctx, "waagent"); !errors.Is(err, context.Canceled) {
			t.Errorf("%s Candidate: err = %v, want context.Canceled", inst, err)
		}
		if n := len(f.Commands()); n != 0 {
			t.Errorf("%s: ran %d commands after cancel", inst, n)
		}
	}
}

func TestRunnerErrorIsCommandError(t *testing.T) {
	boom := errors.New("exec: \"apt-get\": executable file not found in $PATH")
	f := &run.Fake{Respond: func(run.Cmd) (run.Result, error) { return run.Result{}, boom }}
	err := newMgr(t, "apt-get", "/", f).Install(context.Background(), "waagent")
	var ce *CommandError
	if !errors.As(err, &ce) || !errors.Is(err, boom) || ce.ExitCode != -1 {
		t.Fatalf("err = %v", err)
	}
}

func TestBadInput(t *testing.T) {
	if _, err := New("pacman", fsroot.New("/"), &run.Fake{}, Options{}); err == nil {
		t.Error("New(pacman) succeeded")
	}
	f := &run.Fake{}
	m := newMgr(t, "apt-get", "/", f)
	for _, p := range []string{"", "-o=APT::Foo", "a b", "x;rm", "pkg/../x"} {
		if err := m.Install(context.Background(), p); err == nil {
			t.Errorf("Install(%q) succeeded", p)
		}
	}
	if len(f.Commands()) != 0 {
		t.Errorf("ran %q for invalid names", argvs(f.Commands()))
	}
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Offline, dnf, yum and tdnf are told the image's RPM database directory
// through a private HOME's .rpmmacros (the host's %_dbpath may be elsewhere:
// Debian's is ~/.rpmdb); an image without a database is refused.
func TestRPMOfflineDBPath(t *testing.T) {
	for _, tc := range []struct {
		desc, dbDir, link, want string
	}{
		{"RHEL", "var/lib/rpm", "", "%_dbpath /var/lib/rpm\n"},
		{"SUSE: var/lib/rpm links to the sysimage", "usr/lib/sysimage/rpm", "var/lib/rpm", "%_dbpath /usr/lib/sysimage/rpm\n"},
	} {
		for _, tool := range []string{"dnf", "yum", "tdnf"} {
			t.Run(tc.desc+"/"+tool, func(t *testing.T) {
				img := t.TempDir()
				writeTestFile(t, filepath.Join(img, tc.dbDir, "rpmdb.sqlite"), "")
				if tc.link != "" {
					if err := os.MkdirAll(filepath.Dir(filepath.Join(img, tc.link)), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.Symlink("../../"+tc.dbDir, filepath.Join(img, tc.link)); err != nil {
						t.Fatal(err)
					}
				}
				var macros []string
				f := &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
					for _, e := range c.Env {
						if home, ok := strings.CutPrefix(e, "HOME="); ok {
							b, err := os.ReadFile(filepath.Join(home, ".rpmmacros"))
							if err != nil {
								t.Errorf("%s: %v", c, err)
							}
							macros = append(macros, string(b))
						}
					}
					return run.Result{}, nil
				}}
				if err := newMgr(t, tool, img, f).Install(context.Background(), "WALinuxAgent"); err != nil {
					t.Fatal(err)
				}
				if len(macros) != len(f.Commands()) || len(macros) == 0 {
					t.Fatalf("%d of %d commands had a HOME with .rpmmacros", len(macros), len(f.Commands()))
				}
				for _, m := range macros {
					if m != tc.want {
						t.Errorf(".rpmmacros = %q, want %q", m, tc.want)
					}
				}
			})
		}
	}
	t.Run("no database", func(t *testing.T) {
		f := &run.Fake{}
		err := newMgr(t, "dnf", t.TempDir(), f).Install(context.Background(), "WALinuxAgent")
		if err == nil || !strings.Contains(err.Error(), "without an RPM database") {
			t.Errorf("err = %v, want a refusal", err)
		}
		if n := len(f.Commands()); n != 0 {
			t.Errorf("ran %d commands", n)
		}
	})
	t.Run("live: the host's own database", func(t *testing.T) {
		f := &run.Fake{}
		if err := newMgr(t, "dnf", "/", f).Install(context.Background(), "WALinuxAgent"); err != nil {
			t.Fatal(err)
		}
		for _, c := range f.Commands() {
			for _, e := range c.Env {
				if strings.HasPrefix(e, "HOME=") {
					t.Errorf("%s: live run got %s", c, e)
				}
			}
		}
	})
}

// The lock messages the real tools print (recorded from dnf 4.14, rpm 4.18
// and zypper 1.14 on Debian 12, see real_linux_test.go) are retried until
// the lock timeout, then reported as ErrLocked.
func TestRPMLocks(t *testing.T) {
	old := lockRetryEvery
	lockRetryEvery = time.Millisecond
	defer func() { lockRetryEvery = old }()
	rpmLock := run.Result{ExitCode: 1, Stdout: []byte("Running transaction check\nTransaction check succeeded.\nRunning transaction test\nTransaction test succeeded.\nRunning transaction\n"),
		Stderr: []byte("RPM: error: can't create transaction lock on /img/var/lib/rpm/.rpm.lock (Resource temporarily unavailable)\nError: Could not run transaction.\n")}
	dnfLock := run.Result{ExitCode: 200, Stderr: []byte("RPMDB already locked by 16811\n  The application with PID 16811 is: bash\n")}
	zypperRPMLock := run.Result{ExitCode: 8, Stdout: []byte("(1/1) Installing: python-azure-agent-9.9.9.9-150100.3.1.noarch [.error]\n"),
		Stderr: []byte("Installation of python-azure-agent-9.9.9.9-150100.3.1.noarch failed:\nError: Subprocess failed. Error: RPM failed: error: can't create transaction lock on /img/usr/lib/sysimage/rpm/.rpm.lock (Resource temporarily unavailable)\n")}
	for _, tc := range []struct {
		desc, tool, pkg string
		res             run.Result
	}{
		{"dnf, rpm lock", "dnf", "WALinuxAgent", rpmLock},
		{"dnf, its own lock", "dnf", "WALinuxAgent", dnfLock},
		{"yum, rpm lock", "yum", "WALinuxAgent", rpmLock},
		{"tdnf, rpm lock", "tdnf", "WALinuxAgent", rpmLock},
		{"zypper, rpm lock", "zypper", "python-azure-agent", zypperRPMLock},
	} {
		t.Run(tc.desc+"/released", func(t *testing.T) {
			installs := 0
			f := &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
				if contains(c.Argv, "install") {
					if installs++; installs <= 2 {
						return tc.res, nil
					}
				}
				return run.Result{}, nil
			}}
			m, _ := New(tc.tool, fsroot.New("/"), f, Options{LockTimeout: time.Minute})
			if err := m.Install(context.Background(), tc.pkg); err != nil {
				t.Fatal(err)
			}
			if installs != 3 {
				t.Errorf("ran install %d times, want 3 (2 locked, then done)", installs)
			}
		})
		t.Run(tc.desc+"/held past timeout", func(t *testing.T) {
			f := &run.Fake{Respond: respondTo("install", tc.res)}
			m, _ := New(tc.tool, fsroot.New("/"), f, Options{LockTimeout: 30 * time.Millisecond})
			start := time.Now()
			err := m.Install(context.Background(), tc.pkg)
			if !errors.Is(err, ErrLocked) {
				t.Fatalf("err = %v, want ErrLocked", err)
			}
			if waited := time.Since(start); waited < 30*time.Millisecond {
				t.Errorf("gave up after %s, before the 30ms lock timeout", waited)
			}
			var ce *CommandError
			if !errors.As(err, &ce) || ce.ExitCode != tc.res.ExitCode {
				t.Errorf("err = %v, want the CommandError", err)
			}
		})
	}
}

// dnf exits 0 when a %post failed; the stderr line is what tells.
func TestDnfScriptletFailure(t *testing.T) {
	res := run.Result{Stdout: []byte("  Running scriptlet: WALinuxAgent-9.9.9.9-1.el9.noarch  1/2\nwaagent post: cannot set up /var/lib/waagent (test failure)\nwarning: %post(WALinuxAgent-9.9.9.9-1.el9.noarch) scriptlet failed, exit status 1\nComplete!\n"),
		Stderr: []byte("Error in POSTIN scriptlet in rpm package WALinuxAgent\n")}
	f := &run.Fake{Respond: respondTo("install", res)}
	err := newMgr(t, "dnf", "/", f).Install(context.Background(), "WALinuxAgent")
	if !errors.Is(err, ErrScriptlet) {
		t.Fatalf("err = %v, want ErrScriptlet", err)
	}
	var ce *CommandError
	if !errors.As(err, &ce) || !strings.Contains(ce.Tail, "Error in POSTIN scriptlet") {
		t.Errorf("err = %v, want the CommandError with the message", err)
	}
	if n := len(f.Commands()); n != 1 {
		t.Errorf("ran %d commands, want 1 (no upgrade after a failed scriptlet)", n)
	}
}

// dpkg does not wait for its own locks: dpkg --configure -a after an
// interrupted run is retried while they are held (messages recorded from
// dpkg 1.21 on Debian 12), then ErrLocked.
func TestDpkgConfigureLocked(t *testing.T) {
	old := lockRetryEvery
	lockRetryEvery = time.Millisecond
	defer func() { lockRetryEvery = old }()
	for _, msg := range []string{
		"dpkg: error: dpkg frontend lock was locked by another process with pid 12775\nNote: removing the lock file is always wrong, can damage the locked area\nand the entire system. See <https://wiki.debian.org/Teams/Dpkg/FAQ#db-lock>.",
		"dpkg: error: dpkg database lock was locked by another process with pid 13006\nNote: removing the lock file is always wrong, can damage the locked area\nand the entire system. See <https://wiki.debian.org/Teams/Dpkg/FAQ#db-lock>.",
	} {
		locks := 0
		respond := func(held int) func(run.Cmd) (run.Result, error) {
			installs := 0
			return func(c run.Cmd) (run.Result, error) {
				switch {
				case contains(c.Argv, "--configure"):
					if locks++; locks <= held {
						return run.Result{ExitCode: 2, Stderr: []byte(msg)}, nil
					}
				case contains(c.Argv, "install"):
					if installs++; installs == 1 {
						return run.Result{ExitCode: 100, Stderr: []byte(dpkgInterrupted)}, nil
					}
				}
				return run.Result{}, nil
			}
		}
		m, _ := New("apt-get", fsroot.New("/"), &run.Fake{Respond: respond(2)}, Options{LockTimeout: time.Minute})
		if err := m.Install(context.Background(), "waagent"); err != nil {
			t.Errorf("released: %v", err)
		}
		if locks != 3 {
			t.Errorf("dpkg --configure -a ran %d times, want 3 (2 locked)", locks)
		}
		locks = 0
		m, _ = New("apt-get", fsroot.New("/"), &run.Fake{Respond: respond(1 << 30)}, Options{LockTimeout: 20 * time.Millisecond})
		if err := m.Install(context.Background(), "waagent"); !errors.Is(err, ErrLocked) {
			t.Errorf("held: err = %v, want ErrLocked", err)
		}
	}
}
