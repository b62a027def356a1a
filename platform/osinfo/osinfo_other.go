//go:build !windows

package osinfo

import "errors"

// errNotWindows is returned by the Windows-only paths, which Detect and
// OnAzure never take on other systems.
var errNotWindows = errors.New("reading the live Windows host is only supported on Windows")

func detectLiveWindows() (Info, error) { return Info{}, errNotWindows }

func onAzureWindows() (bool, error) { return false, errNotWindows }
