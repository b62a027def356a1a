//go:build !linux

package lockprobetest

import (
	"errors"
	"os"
	"runtime"
)

func supported() error {
	return errors.New("lock helpers need Linux, not " + runtime.GOOS)
}

func hold(Kind, string) (*os.File, error) { return nil, supported() }
