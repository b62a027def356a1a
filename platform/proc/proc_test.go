package proc

import (
	"reflect"
	"strings"
	"testing"
)

func TestMatch(t *testing.T) {
	ps := []Process{
		{PID: 1, Name: "systemd"},
		{PID: 42, Name: "python3", Args: []string{"python3", "-u", "/usr/sbin/waagent", "-daemon"}},
		{PID: 43, Name: "python3", Args: []string{"python3", "-u", "bin/WALinuxAgent-2.9.1.1-py3.8.egg", "-run-exthandlers"}},
	}
	hasArg := func(s string) func(Process) bool {
		return func(p Process) bool { return strings.Contains(strings.Join(p.Args, " "), s) }
	}
	tests := []struct {
		desc string
		pred func(Process) bool
		want []int
	}{
		{desc: "none match", pred: hasArg("nothing"), want: nil},
		{desc: "one matches", pred: hasArg("-run-exthandlers"), want: []int{43}},
		{desc: "several keep order", pred: func(p Process) bool { return p.Name == "python3" }, want: []int{42, 43}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var got []int
			for _, p := range Match(ps, tc.pred) {
				got = append(got, p.PID)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got PIDs %v, want %v", got, tc.want)
			}
		})
	}
}

// Match returns the processes for which pred is true, in order.
func Match(ps []Process, pred func(Process) bool) []Process {
	var out []Process
	for _, p := range ps {
		if pred(p) {
			out = append(out, p)
		}
	}
	return out
}
