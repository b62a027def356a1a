//go:build !linux && !windows

package proc

import (
	"fmt"
	"runtime"
)

func list() ([]Process, error) {
	return nil, fmt.Errorf("list processes: not supported on %s", runtime.GOOS)
}
