// Package registry reads values from the live Windows registry (HKLM). On
// other operating systems every read returns ErrNotSupported.
package registry

import (
	"errors"
	"runtime"
)

// ErrNotSupported is returned on operating systems without a registry.
var ErrNotSupported = errors.New("the Windows registry is not available on " + runtime.GOOS)

// ErrNotFound is returned (wrapped) when the key or value does not exist.
var ErrNotFound = errors.New("not found in the registry")
