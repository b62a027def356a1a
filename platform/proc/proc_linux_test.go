package proc

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseCmdline(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		want []string
	}{
		{desc: "kernel thread", in: "", want: nil},
		{desc: "only NULs", in: "\x00\x00", want: nil},
		{desc: "usual", in: "python3\x00-u\x00/usr/sbin/waagent\x00-daemon\x00", want: []string{"python3", "-u", "/usr/sbin/waagent", "-daemon"}},
		{desc: "no trailing NUL", in: "sleep\x0031.5", want: []string{"sleep", "31.5"}},
		{desc: "empty argument kept", in: "a\x00\x00b\x00", want: []string{"a", "", "b"}},
		{desc: "rewritten with spaces", in: "nginx: master process /usr/sbin/nginx", want: []string{"nginx: master process /usr/sbin/nginx"}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := parseCmdline([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestListDir runs the scanner on a made-up proc tree.
func TestListDir(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"1/comm":      "init\n",
		"1/cmdline":   "/sbin/init\x00",
		"2/comm":      "kthreadd\n",
		"2/cmdline":   "",
		"77/cmdline":  "vanished before comm was read\x00", // no comm: exited mid-scan
		"self/comm":   "not a pid\n",
		"big/comm":    "x\n",
		"900/comm":    "huge\n",
		"900/cmdline": "huge\x00" + strings.Repeat("a", maxCmdline+100),
	}
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "88"), 0o755); err != nil { // empty: exited
		t.Fatal(err)
	}
	ps, err := listDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	byPID := map[int]Process{}
	for _, p := range ps {
		byPID[p.PID] = p
	}
	tests := []struct {
		desc    string
		pid     int
		present bool
		name    string
		args    []string
	}{
		{desc: "process with args", pid: 1, present: true, name: "init", args: []string{"/sbin/init"}},
		{desc: "kernel thread without args", pid: 2, present: true, name: "kthreadd"},
		{desc: "vanished without comm", pid: 77},
		{desc: "vanished empty dir", pid: 88},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			p, ok := byPID[tc.pid]
			if ok != tc.present {
				t.Fatalf("pid %d present = %v, want %v", tc.pid, ok, tc.present)
			}
			if ok && (p.Name != tc.name || !reflect.DeepEqual(p.Args, tc.args)) {
				t.Errorf("got %#v, want name %q args %q", p, tc.name, tc.args)
			}
		})
	}
	t.Run("huge command line is capped", func(t *testing.T) {
		p := byPID[900]
		if n := len(strings.Join(p.Args, "\x00")); n != maxCmdline {
			t.Errorf("command line kept %d bytes, want %d", n, maxCmdline)
		}
	})
	if len(ps) != 3 {
		t.Errorf("got %d processes, want 3: %#v", len(ps), ps)
	}
}

// TestListReal starts a real child and looks for it in the real /proc.
func TestListReal(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep binary")
	}
	const arg = "31.5" // distinctive: nothing else should sleep that long
	cmd := exec.Command("sleep", arg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	isChild := func(p Process) bool {
		return p.PID == pid && len(p.Args) == 2 && p.Args[1] == arg
	}
	ps, err := List()
	if err != nil {
		t.Fatal(err)
	}
	got := Match(ps, isChild)
	if len(got) != 1 {
		t.Fatalf("child pid %d (sleep %s) found %d times among %d processes", pid, arg, len(got), len(ps))
	}
	if got[0].Name != "sleep" {
		t.Errorf("child name = %q, want sleep", got[0].Name)
	}
	if self := Match(ps, func(p Process) bool { return p.PID == os.Getpid() }); len(self) != 1 {
		t.Errorf("own pid %d not listed", os.Getpid())
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // reap, so the pid disappears from /proc
	deadline := time.Now().Add(5 * time.Second)
	for {
		ps, err := List()
		if err != nil {
			t.Fatal(err)
		}
		if len(Match(ps, isChild)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("killed child pid %d still listed", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
