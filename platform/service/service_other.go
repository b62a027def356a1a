//go:build !windows

package service

import (
	"fmt"
	"runtime"
)

// Windows asks the service control manager about a service. It is only
// supported on Windows.
func Windows(name string) (State, error) {
	return State{}, fmt.Errorf("query Windows service %s: not supported on %s", name, runtime.GOOS)
}
