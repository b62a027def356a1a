// Package privdir makes and checks the directories agentkeeper keeps its
// lock and its downloads in, so that no other local user can plant a file
// or a link there: on Linux a directory owned by root (the effective user)
// that nobody else may write, on Windows one whose ACL grants only SYSTEM
// and Administrators. Files in it are created new (O_EXCL, CREATE_NEW) and
// opened without following links.
package privdir

import (
	"errors"
	"fmt"
	"os"
)

// ErrUnsafe is wrapped by Ensure's error when an existing directory is not
// one agentkeeper may trust: owned by another user, writable by others, or
// a link.
var ErrUnsafe = errors.New("directory is not private to root/SYSTEM and Administrators")

// Ensure creates dir when it is missing (its parent must exist), private
// as the package comment says, and checks an existing one: it must be a
// real directory (not a link or junction), owned by the effective user (root
// when agentkeeper runs as it must) or, on Windows, by SYSTEM, Administrators
// or the running user, and writable by nobody else. A directory that fails
// the check is refused with an error wrapping ErrUnsafe; it is not changed.
func Ensure(dir string) error {
	err := mkdir(dir)
	if err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := check(dir); err != nil {
		return fmt.Errorf("%s: %w: %v", dir, ErrUnsafe, err)
	}
	return nil
}

// CreateNew creates the file at path, which must not exist (O_EXCL,
// CREATE_NEW: a planted file or link there is an error, never followed or
// truncated), for writing, readable and writable only by its owner.
func CreateNew(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
}
