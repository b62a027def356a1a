// Package filever reads the version resource of Windows PE files
// (WaAppAgent.exe): through GetFileVersionInfo on Windows, and with a pure-Go
// parser of the PE file everywhere (mounted images, tests).
package filever

import (
	"errors"
	"io"
)

// Info is a file's version resource.
type Info struct {
	// FileVersion and ProductVersion are the fixed (binary) versions, a.b.c.d.
	FileVersion, ProductVersion string
	// ProductVersionString is the "ProductVersion" string-table value, when present.
	ProductVersionString string
}

// ParsePE reads the version resource of a PE file.
func ParsePE(r io.ReaderAt, size int64) (Info, error) {
	return Info{}, errors.New("not implemented")
}

// Read returns the version resource of the file at host path p.
func Read(p string) (Info, error) {
	return Info{}, errors.New("not implemented")
}
