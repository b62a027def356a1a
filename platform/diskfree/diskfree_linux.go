package diskfree

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Of returns the usage of the file system holding the host path p.
func Of(p string) (Usage, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return Usage{}, fmt.Errorf("statfs %s: %w", p, err)
	}
	bs := uint64(st.Bsize)
	if st.Frsize > 0 {
		bs = uint64(st.Frsize)
	}
	return Usage{Total: st.Blocks * bs, Avail: st.Bavail * bs,
		ID: fmt.Sprintf("%x:%x", uint32(st.Fsid.Val[0]), uint32(st.Fsid.Val[1]))}, nil
}
