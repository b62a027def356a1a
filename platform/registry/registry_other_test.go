//go:build !windows

package registry

import (
	"errors"
	"testing"
)

func TestLiveNotSupported(t *testing.T) {
	_, err1 := Live.String(`SOFTWARE\x`, "y")
	_, err2 := Live.Uint(`SOFTWARE\x`, "y")
	_, err3 := Live.Binary(`SOFTWARE\x`, "y")
	_, err4 := Live.SubKeys(`SOFTWARE\x`)
	for i, err := range []error{err1, err2, err3, err4} {
		if !errors.Is(err, ErrNotSupported) {
			t.Errorf("read %d: %v, want ErrNotSupported", i, err)
		}
	}
}
