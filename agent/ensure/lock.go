package ensure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/privdir"
)

// errLockUnsafe is wrapped when the lock's directory or file is not one
// only root (SYSTEM, Administrators) controls: ensure refuses it.
var errLockUnsafe = errors.New("the lock cannot be trusted")

// lockPoll is how often a held lock is tried again.
const lockPoll = 200 * time.Millisecond

// lock takes the single-instance lock, waiting up to LockTimeout. The
// lock's directory is made private (privdir.Ensure: created 0700, refused
// when another user owns it or may write it) and the file is opened without
// following links and created with O_EXCL, so that no other local user can
// hold it or make root create a file elsewhere. gofrs/flock is not used
// for this: it opens with O_CREATE and follows links.
func (o *Options) lock(ctx context.Context) (io.Closer, error) {
	dir := filepath.Dir(o.LockFile)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", o.LockFile, err)
	}
	if err := privdir.Ensure(dir); err != nil {
		return nil, fmt.Errorf("%w: %w", errLockUnsafe, err)
	}
	f, err := openLockFile(o.LockFile)
	if err != nil {
		return nil, fmt.Errorf("%w: open %s: %w", errLockUnsafe, o.LockFile, err)
	}
	ok, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", o.LockFile, err)
	}
	if ok {
		return f, nil
	}
	if o.LockTimeout <= 0 {
		f.Close()
		return nil, fmt.Errorf("%s is held by another agentkeeper (ensure or the service)", o.LockFile)
	}
	o.progress("waiting up to %s for %s (another agentkeeper is installing)", o.LockTimeout, o.LockFile)
	lctx, cancel := context.WithTimeout(ctx, o.LockTimeout)
	defer cancel()
	t := time.NewTicker(lockPoll)
	defer t.Stop()
	for {
		select {
		case <-lctx.Done():
			f.Close()
			if ctx.Err() != nil {
				return nil, fmt.Errorf("interrupted while waiting for %s: %w", o.LockFile, ctx.Err())
			}
			return nil, fmt.Errorf("%s still held by another agentkeeper after %s", o.LockFile, o.LockTimeout)
		case <-t.C:
		}
		if ok, err := tryLock(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", o.LockFile, err)
		} else if ok {
			return f, nil
		}
	}
}

// openLockFile opens the lock file at p, creating it (O_EXCL) when it is
// missing, never through a link, and checks it is a regular file.
func openLockFile(p string) (*os.File, error) {
	for range 3 {
		f, err := openExisting(p)
		if errors.Is(err, os.ErrNotExist) {
			f, err = privdir.CreateNew(p)
			if errors.Is(err, os.ErrExist) {
				continue // made by another run meanwhile: open that one
			}
		}
		if err != nil {
			return nil, err
		}
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			f.Close()
			return nil, fmt.Errorf("not a regular file")
		}
		return f, nil
	}
	return nil, fmt.Errorf("it keeps appearing and disappearing")
}
