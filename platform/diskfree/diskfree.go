// Package diskfree reports how much space a file system has left: statfs
// on Linux, GetDiskFreeSpaceEx on Windows.
package diskfree

// Usage is a file system's size and the space left to an unprivileged
// writer (what df reports as Avail).
type Usage struct {
	// Total and Avail are bytes.
	Total, Avail uint64
	// ID tells file systems apart (the statfs f_fsid; the volume path on
	// Windows), so that paths on the same one are judged once.
	ID string
}

// FreePercent is Avail as a percentage of Total (0 when Total is 0).
func (u Usage) FreePercent() float64 {
	if u.Total == 0 {
		return 0
	}
	return float64(u.Avail) * 100 / float64(u.Total)
}
