//go:build !windows

package msi

import (
	"os"
	"syscall"
)

// openLocal opens a local MSI for reading without blocking on a FIFO
// (O_NONBLOCK; it changes nothing for a regular file) and without
// following a link in the last component.
func openLocal(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// openHeld opens the verified MSI for reading without following a link.
// Linux has no share modes: the directory's permissions (privdir) are what
// keep others from replacing it, and Hold re-hashes what it opened.
func openHeld(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
}
