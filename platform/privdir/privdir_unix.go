//go:build !windows

package privdir

import (
	"fmt"
	"os"
	"syscall"
)

// noFollow makes open fail on a symbolic link in the last component.
const noFollow = syscall.O_NOFOLLOW

func mkdir(dir string) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	// The umask cannot widen 0700, but make sure of the mode anyway.
	return os.Chmod(dir, 0o700)
}

func check(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	return checkInfo(fi, os.Geteuid())
}

// checkInfo judges a directory's Lstat result for the owner uid.
func checkInfo(fi os.FileInfo, uid int) error {
	if fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("it is a symbolic link")
	}
	if !fi.IsDir() {
		return fmt.Errorf("it is not a directory (%s)", fi.Mode().Type())
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("cannot read its owner")
	}
	if int(st.Uid) != uid {
		return fmt.Errorf("it is owned by uid %d, not %d: check what is in it, then chown it to %d (or remove it: agentkeeper makes it again)", st.Uid, uid, uid)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("it is writable by group or others (mode %04o): check what is in it, then chmod 0700 it (or remove it: agentkeeper makes it again)", fi.Mode().Perm())
	}
	return nil
}
