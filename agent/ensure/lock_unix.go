//go:build !windows

package ensure

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openExisting opens p for locking without following a link (and without
// blocking on a FIFO planted there: the caller refuses anything irregular).
func openExisting(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}

// tryLock takes an exclusive flock(2) without waiting; false when another
// process holds it.
func tryLock(f *os.File) (bool, error) {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}
