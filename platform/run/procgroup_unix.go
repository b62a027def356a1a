//go:build unix

package run

import (
	"os/exec"
	"syscall"
)

// ownGroup starts the command in a process group of its own, and makes the
// context's end stop the whole group (SIGTERM; Go kills the leader after
// WaitDelay): a package manager's children must not outlive a cancelled run.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
}
