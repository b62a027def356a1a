//go:build !linux

package lockprobe

import (
	"fmt"
	"runtime"
)

func probe(path string) (bool, int, error) {
	return false, 0, fmt.Errorf("probe lock on %s: %w (%s)", path, ErrNotSupported, runtime.GOOS)
}
