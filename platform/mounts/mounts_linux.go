package mounts

import (
	"fmt"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// maxMountinfo caps how much of /proc/self/mountinfo is read; hosts with many
// containers can have thousands of mounts.
const maxMountinfo = 16 << 20

// Live returns the mounts of the running system, from /proc/self/mountinfo.
func Live() ([]Mount, error) {
	const p = "/proc/self/mountinfo"
	data, err := fsroot.New("/").ReadFile(p, maxMountinfo)
	if err != nil {
		return nil, err
	}
	ms, err := ParseMountinfo(data)
	if err != nil {
		return ms, fmt.Errorf("parse %s: %w", p, err)
	}
	return ms, nil
}
