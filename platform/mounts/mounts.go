// Package mounts reads mount tables (the live /proc/self/mountinfo, an
// image's /etc/fstab) and answers which mount a path lives on.
package mounts

import "errors"

// Mount is one mounted (or to-be-mounted) file system.
type Mount struct {
	Target  string
	Source  string
	FSType  string
	Options []string
}

// ParseMountinfo parses /proc/self/mountinfo.
func ParseMountinfo(data []byte) ([]Mount, error) { return nil, errors.New("not implemented") }

// ParseFstab parses fstab(5).
func ParseFstab(data []byte) ([]Mount, error) { return nil, errors.New("not implemented") }

// For returns the mount that holds path (longest matching target).
func For(ms []Mount, path string) (Mount, bool) { return Mount{}, false }

// HasOption reports whether m has the mount option opt (noexec, ro, ...).
func (m Mount) HasOption(opt string) bool { return false }
