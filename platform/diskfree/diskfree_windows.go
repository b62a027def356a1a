package diskfree

import (
	"fmt"
	"strings"

	"golang.org/x/sys/windows"
)

// Of returns the usage of the volume holding the path p (C:\ for the
// system drive), with GetDiskFreeSpaceEx: Avail is the space free to the
// caller.
func Of(p string) (Usage, error) {
	ptr, err := windows.UTF16PtrFromString(p)
	if err != nil {
		return Usage{}, fmt.Errorf("path %q: %w", p, err)
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(ptr, &avail, &total, &free); err != nil {
		return Usage{}, fmt.Errorf("GetDiskFreeSpaceEx %s: %w", p, err)
	}
	id := strings.ToUpper(p)
	if len(id) >= 2 && id[1] == ':' {
		id = id[:2]
	}
	return Usage{Total: total, Avail: avail, ID: id}, nil
}
