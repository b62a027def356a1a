// Package lockprobe tells whether another process holds a POSIX record lock
// (fcntl/lockf) or an open-file-description lock on a file, without ever
// taking the lock itself.
package lockprobe

import "errors"

// ErrNotSupported is returned (wrapped) on systems where locks cannot be
// probed.
var ErrNotSupported = errors.New("lock probing not supported on this system")

// Held reports whether a process holds a lock on the regular file at path
// (a host path) that would conflict with an exclusive lock on the whole
// file: a read or a write lock taken with fcntl or lockf, classic or
// open-file-description (OFD). pid is the holder's process id when the
// kernel tells it (classic locks) and 0 otherwise (OFD locks, or a holder
// outside our PID namespace). A missing file is not held and not an error;
// a directory or other non-regular file is an error.
//
// Held never takes a lock. It does open and close the file, and closing any
// descriptor of a file drops the classic POSIX locks the calling process
// holds on it; so do not call Held on a file the calling process itself
// has locked with fcntl or lockf. Locks taken with flock(2) are a separate
// kind and are not seen.
func Held(path string) (held bool, pid int, err error) { return probe(path) }
