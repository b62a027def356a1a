package lockprobetest

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func supported() error { return nil }

// hold locks path and returns the open file: the caller keeps it (and so
// the lock) until it exits.
func hold(kind Kind, path string) (*os.File, error) {
	flag, typ, cmd := os.O_RDWR, int16(unix.F_WRLCK), unix.F_SETLKW
	switch kind {
	case Write:
	case Read:
		flag, typ = os.O_RDONLY, unix.F_RDLCK
	case OFDWrite:
		cmd = unix.F_OFD_SETLKW
	default:
		return nil, fmt.Errorf("unknown lock kind %q", kind)
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		return nil, err
	}
	lk := unix.Flock_t{Type: typ}
	if err := unix.FcntlFlock(f.Fd(), cmd, &lk); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}
