//go:build !unix

package run

import "os/exec"

// ownGroup leaves the default: the context's end kills the process.
func ownGroup(cmd *exec.Cmd) {}
