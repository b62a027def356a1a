package msi

import (
	"os"

	"golang.org/x/sys/windows"
)

// openLocal opens a local MSI for reading.
func openLocal(p string) (*os.File, error) { return os.Open(p) }

// openHeld opens the verified MSI for reading with a share mode that lets
// others read it (msiexec) but not write, delete or rename it, and without
// following a reparse point.
func openHeld(p string) (*os.File, error) {
	name, err := windows.UTF16PtrFromString(p)
	if err != nil {
		return nil, err
	}
	h, err := windows.CreateFile(name, windows.GENERIC_READ, windows.FILE_SHARE_READ, nil,
		windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(h), p), nil
}
