package run

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestCmdString(t *testing.T) {
	tests := []struct {
		desc string
		cmd  Cmd
		want string
	}{
		{desc: "program only", cmd: Cmd{Argv: []string{"systemctl"}}, want: "systemctl"},
		{desc: "arguments", cmd: Cmd{Argv: []string{"dpkg-query", "-W", "walinuxagent"}}, want: "dpkg-query -W walinuxagent"},
		{desc: "empty", cmd: Cmd{}, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := tc.cmd.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTail(t *testing.T) {
	tests := []struct {
		desc string
		res  Result
		n    int
		want string
	}{
		{desc: "last stderr line", res: Result{Stdout: []byte("out\n"), Stderr: []byte("err\n")}, n: 1, want: "err"},
		{desc: "stdout then stderr", res: Result{Stdout: []byte("out\n"), Stderr: []byte("err\n")}, n: 2, want: "out\nerr"},
		{desc: "more lines asked than there are", res: Result{Stdout: []byte("a\nb\n"), Stderr: []byte("c")}, n: 10, want: "a\nb\nc"},
		{desc: "stdout only", res: Result{Stdout: []byte("one\ntwo\nthree\n")}, n: 2, want: "two\nthree"},
		{desc: "stderr only", res: Result{Stderr: []byte("E: Unable to locate package walinuxagent\n")}, n: 3, want: "E: Unable to locate package walinuxagent"},
		{desc: "no trailing newline on stdout", res: Result{Stdout: []byte("out"), Stderr: []byte("err")}, n: 2, want: "out\nerr"},
		{desc: "CRLF output", res: Result{Stdout: []byte("a\r\nb\r\n")}, n: 2, want: "a\nb"},
		{desc: "indentation kept, blank lines around dropped", res: Result{Stdout: []byte("\n\n  indented\n\n")}, n: 3, want: "  indented"},
		{desc: "no output", res: Result{}, n: 3, want: ""},
		{desc: "zero lines", res: Result{Stdout: []byte("x\n")}, n: 0, want: ""},
		{desc: "negative lines", res: Result{Stdout: []byte("x\n")}, n: -1, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := tc.res.Tail(tc.n); got != tc.want {
				t.Errorf("Tail(%d) = %q, want %q", tc.n, got, tc.want)
			}
		})
	}
}

func TestExecEmptyCommand(t *testing.T) {
	for _, c := range []Cmd{{}, {Argv: []string{}}} {
		if _, err := (Exec{}).Run(context.Background(), c); err == nil || !strings.Contains(err.Error(), "empty command") {
			t.Errorf("Run(%#v) error = %v, want an empty-command error", c, err)
		}
	}
}

func TestFake(t *testing.T) {
	errBusy := errors.New("dpkg lock held")
	respond := func(c Cmd) (Result, error) {
		switch c.Argv[0] {
		case "apt-get":
			return Result{}, errBusy
		case "systemctl":
			return Result{ExitCode: 3, Stdout: []byte("inactive\n")}, nil
		}
		return Result{Stdout: []byte("ok\n")}, nil
	}
	cmds := []Cmd{
		{Argv: []string{"systemctl", "is-active", "walinuxagent.service"}},
		{Argv: []string{"apt-get", "install", "-y", "waagent"}, Env: []string{"DEBIAN_FRONTEND=noninteractive"}},
		{Argv: []string{"dpkg-query", "-W", "waagent"}, Dir: "/"},
	}
	tests := []struct {
		desc     string
		respond  func(Cmd) (Result, error)
		cancel   bool
		want     []Result
		wantErrs []error
	}{
		{
			desc:     "nil Respond answers with zero Results",
			want:     []Result{{}, {}, {}},
			wantErrs: []error{nil, nil, nil},
		},
		{
			desc:    "Respond answers each command",
			respond: respond,
			want: []Result{
				{ExitCode: 3, Stdout: []byte("inactive\n")},
				{},
				{Stdout: []byte("ok\n")},
			},
			wantErrs: []error{nil, errBusy, nil},
		},
		{
			desc:     "cancelled context is an error, and still recorded",
			respond:  respond,
			cancel:   true,
			want:     []Result{{}, {}, {}},
			wantErrs: []error{context.Canceled, context.Canceled, context.Canceled},
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tc.cancel {
				cancel()
			}
			f := &Fake{Respond: tc.respond}
			var r Runner = f
			for i, c := range cmds {
				res, err := r.Run(ctx, c)
				if !errors.Is(err, tc.wantErrs[i]) || (tc.wantErrs[i] == nil) != (err == nil) {
					t.Errorf("Run(%s) error = %v, want %v", c, err, tc.wantErrs[i])
				}
				if !reflect.DeepEqual(res, tc.want[i]) {
					t.Errorf("Run(%s) = %+v, want %+v", c, res, tc.want[i])
				}
			}
			if got := f.Commands(); !reflect.DeepEqual(got, cmds) {
				t.Errorf("Commands() = %v, want %v", got, cmds)
			}
		})
	}
}

func TestFakeCommandsIsACopy(t *testing.T) {
	f := &Fake{}
	if _, err := f.Run(context.Background(), Cmd{Argv: []string{"true"}}); err != nil {
		t.Fatal(err)
	}
	got := f.Commands()
	got[0] = Cmd{Argv: []string{"changed"}}
	if again := f.Commands(); again[0].Argv[0] != "true" {
		t.Errorf("changing Commands()' result changed the record: %v", again)
	}
}

func TestFakeConcurrent(t *testing.T) {
	f := &Fake{}
	done := make(chan struct{})
	for i := 0; i < 8; i++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for j := 0; j < 50; j++ {
				f.Run(context.Background(), Cmd{Argv: []string{"x"}})
			}
		}()
	}
	for i := 0; i < 8; i++ {
		<-done
	}
	if n := len(f.Commands()); n != 400 {
		t.Errorf("recorded %d commands, want 400", n)
	}
}
