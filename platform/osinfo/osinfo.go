// Package osinfo tells which operating system a root holds: Linux from
// os-release, Windows from the registry (live) or from the layout of a
// mounted image, and whether the machine is an Azure VM.
package osinfo

import (
	"errors"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// Info is what Detect found.
type Info struct {
	// Family is "linux" or "windows".
	Family string
	// ID is os-release ID ("windows" on Windows); VersionID is VERSION_ID
	// or the Windows version (10.0.20348).
	ID, VersionID string
	// Like is ID_LIKE split on spaces.
	Like []string
	// Name is PRETTY_NAME (or NAME) or the Windows product name.
	Name string
	// Windows only: Build ("20348"), Edition ("ServerDatacenter"), Server.
	Build, Edition string
	Server         bool
	// Source names the file or registry key read.
	Source string
}

// ParseOSRelease parses os-release(5) content: KEY=VALUE lines, values
// optionally quoted with shell-style escapes.
func ParseOSRelease(data []byte) (map[string]string, error) {
	return nil, errors.New("not implemented")
}

// Detect finds the operating system under r.
func Detect(r fsroot.Root) (Info, error) {
	return Info{}, errors.New("not implemented")
}

// OnAzure reports whether the machine is an Azure VM by its SMBIOS chassis
// asset tag. On an offline root it is always false.
func OnAzure(r fsroot.Root) (bool, error) {
	return false, errors.New("not implemented")
}
