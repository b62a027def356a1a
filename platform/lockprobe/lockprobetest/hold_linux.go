package lockprobetest

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func supported() error { return nil }

func hold(kind Kind, path string) error {
	flag, typ, cmd := os.O_RDWR, int16(unix.F_WRLCK), unix.F_SETLKW
	switch kind {
	case Write:
	case Read:
		flag, typ = os.O_RDONLY, unix.F_RDLCK
	case OFDWrite:
		cmd = unix.F_OFD_SETLKW
	default:
		return fmt.Errorf("unknown lock kind %q", kind)
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return err
	}
	// f stays open (and referenced below) for the life of the process.
	lk := unix.Flock_t{Type: typ}
	if err := unix.FcntlFlock(f.Fd(), cmd, &lk); err != nil {
		return fmt.Errorf("lock %s: %w", path, err)
	}
	keep = f
	return nil
}

// keep holds the locked file so that it is never garbage-collected and
// closed, which would drop the lock.
var keep *os.File
