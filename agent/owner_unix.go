//go:build unix

package agent

import (
	"io/fs"
	"syscall"
)

// fileOwner returns the numeric owner of a file.
func fileOwner(fi fs.FileInfo) (uint32, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return st.Uid, true
}
