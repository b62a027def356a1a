//go:build !linux

package lockprobe_test

import (
	"errors"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/lockprobe"
)

func TestHeldNotSupported(t *testing.T) {
	held, _, err := lockprobe.Held("SafeFreezeLockFile")
	if held || !errors.Is(err, lockprobe.ErrNotSupported) {
		t.Errorf("Held = %v, %v; want false, ErrNotSupported", held, err)
	}
}
