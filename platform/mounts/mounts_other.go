//go:build !linux

package mounts

import (
	"fmt"
	"runtime"
)

// Live returns the mounts of the running system. It reads
// /proc/self/mountinfo and so is only supported on Linux.
func Live() ([]Mount, error) {
	return nil, fmt.Errorf("live mount table: not supported on %s", runtime.GOOS)
}
