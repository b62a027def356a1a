//go:build !linux

package lockprobetest

import (
	"errors"
	"runtime"
)

func supported() error {
	return errors.New("lock helpers need Linux, not " + runtime.GOOS)
}

func hold(Kind, string) error { return supported() }
