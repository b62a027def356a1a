package lockprobe

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func probe(path string) (bool, int, error) {
	// O_NONBLOCK so that a FIFO planted at the path cannot hang the open;
	// such files are refused right after.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
			return false, 0, nil
		}
		return false, 0, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(fd)

	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false, 0, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return false, 0, fmt.Errorf("probe lock on %s: not a regular file", path)
	}

	// F_OFD_GETLK: our descriptor is a fresh open file description, so every
	// lock on the file, of any process, is tested. It reports pid -1 for OFD
	// locks and the holder's pid for classic ones.
	lk, err := getlk(fd, unix.F_OFD_GETLK)
	ofdWorks := err == nil
	if err != nil && !errors.Is(err, unix.EINVAL) {
		return false, 0, fmt.Errorf("probe lock on %s: %w", path, err)
	}
	if ofdWorks && lk.Type == unix.F_UNLCK {
		return false, 0, nil
	}
	self := int32(os.Getpid())
	if ofdWorks && lk.Pid > 0 && lk.Pid != self {
		return true, int(lk.Pid), nil
	}

	// Either the kernel predates OFD locks (EINVAL), or the conflict is an
	// OFD lock (pid unknown), or it is a classic lock of this very process.
	// F_GETLK skips this process's own classic locks and names the holder
	// of a classic lock.
	lk2, err := getlk(fd, unix.F_GETLK)
	if err != nil {
		return false, 0, fmt.Errorf("probe lock on %s: %w", path, err)
	}
	if lk2.Type == unix.F_UNLCK {
		if ofdWorks && lk.Pid != self {
			// An OFD lock that F_GETLK did not report (cannot normally
			// happen, as F_GETLK also sees OFD locks): still held.
			return true, 0, nil
		}
		return false, 0, nil
	}
	if lk2.Pid > 0 {
		return true, int(lk2.Pid), nil
	}
	return true, 0, nil
}

// getlk asks whether an exclusive lock on the whole file could be placed.
func getlk(fd int, cmd int) (unix.Flock_t, error) {
	lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 0}
	for {
		err := unix.FcntlFlock(uintptr(fd), cmd, &lk)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return lk, err
	}
}
