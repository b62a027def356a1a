//go:build !windows

package agent

import (
	"testing"

	"github.com/agentkeeper/agentkeeper/agent/agenttest"
)

func TestAgentPythonDeeper(t *testing.T) {
	const unit = "usr/lib/systemd/system/walinuxagent.service"
	tests := []struct {
		desc   string
		change map[string]string
		drop   []string
		status Status
		msg    string
	}{
		{desc: "Debian: unit runs python3 -> python3.11, package in dist-packages", status: StatusPass,
			msg: "/usr/bin/python3 (Python 3.11, ExecStart of walinuxagent.service"},
		{desc: "unit names the script, its shebang names python", status: StatusPass,
			change: map[string]string{unit: "[Service]\nExecStart=/usr/sbin/waagent -daemon\n"}, msg: "shebang of /usr/sbin/waagent"},
		{desc: "drop-in replaces ExecStart", status: StatusPass,
			change: map[string]string{"etc/systemd/system/walinuxagent.service.d/10-py.conf": "[Service]\nExecStart=\nExecStart=/usr/bin/python3.11 -u /usr/sbin/waagent -daemon\n"},
			msg:    "/usr/bin/python3.11 (Python 3.11, ExecStart of walinuxagent.service"},
		{desc: "package left behind for another Python", status: StatusFail,
			change: map[string]string{"usr/bin/python3": "->python3.12", "usr/bin/python3.12": "ELF",
				"usr/lib/python3.9/site-packages/azurelinuxagent/__init__.py": ""},
			drop: []string{"usr/lib/python3/dist-packages/azurelinuxagent/__init__.py"},
			msg:  "no azurelinuxagent package is installed for it"},
		{desc: "interpreter missing", status: StatusFail, drop: []string{"usr/bin/python3.11"}, msg: "which is missing"},
		{desc: "RHEL: site-packages of python3.9", status: StatusPass,
			change: map[string]string{"usr/bin/python3": "->python3.9", "usr/bin/python3.9": "ELF",
				"usr/lib/python3.9/site-packages/azurelinuxagent/__init__.py": ""},
			drop: []string{"usr/lib/python3/dist-packages/azurelinuxagent/__init__.py"}, msg: "Python 3.9"},
		{desc: "setup.py egg", status: StatusPass,
			change: map[string]string{"usr/bin/python3": "->python3.9", "usr/bin/python3.9": "ELF",
				"usr/lib/python3.9/site-packages/WALinuxAgent-2.9.1.1-py3.9.egg/azurelinuxagent/__init__.py": ""},
			drop: []string{"usr/lib/python3/dist-packages/azurelinuxagent/__init__.py"}, msg: "WALinuxAgent-2.9.1.1-py3.9.egg"},
		{desc: "Python 2.7 warns", status: StatusWarn,
			change: map[string]string{unit: "[Service]\nExecStart=/usr/bin/python2.7 -u /usr/sbin/waagent -daemon\n", "usr/bin/python2.7": "ELF",
				"usr/lib/python2.7/dist-packages/azurelinuxagent/__init__.py": ""},
			msg: "Python 2 is out of support"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			files := agenttest.DebianImage("2.7.3.0-4.1")
			for k, v := range tc.change {
				files[k] = v
			}
			for _, d := range tc.drop {
				if _, changed := tc.change[d]; !changed {
					delete(files, d)
				}
			}
			r := inspectTree(t, files, nil)
			wantCheck(t, r, IDAgentPython, tc.status, tc.msg)
		})
	}
}
