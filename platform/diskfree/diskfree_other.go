//go:build !linux && !windows

package diskfree

import (
	"fmt"
	"runtime"
)

// Of is not supported on this operating system.
func Of(p string) (Usage, error) {
	return Usage{}, fmt.Errorf("free space of %s: not supported on %s", p, runtime.GOOS)
}
