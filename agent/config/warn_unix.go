//go:build !windows

package config

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// fileWarnings warns when someone other than root (or the user running
// agentkeeper) can change the config file: the file itself, or a directory
// on its path, is owned by another user or writable by other users or a
// group other than root's. A directory with the sticky bit (/tmp) is fine
// when the entry below it belongs to root or the user: others cannot
// rename it.
func fileWarnings(file string) []string {
	abs, err := filepath.Abs(file)
	if err == nil {
		abs, err = filepath.EvalSymlinks(abs)
	}
	if err != nil {
		return nil
	}
	me := uint32(os.Geteuid())
	var out []string
	say := func(what, why string) {
		out = append(out, fmt.Sprintf("config %s: %s %s: whoever can change it steers agentkeeper, which runs as root; make it owned by root and writable by root only (chown root:root, chmod go-w)", file, what, why))
	}
	path := abs
	childSafe := true // whether the entry below path is owned by root or me
	for first := true; ; first = false {
		fi, err := os.Lstat(path)
		if err != nil {
			return out
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return out
		}
		what := "it"
		if !first {
			what = "its directory " + path
		}
		mode := fi.Mode()
		owned := st.Uid == 0 || st.Uid == me
		sticky := mode&os.ModeSticky != 0 && mode.IsDir()
		switch {
		case !owned:
			say(what, fmt.Sprintf("is owned by uid %d", st.Uid))
		case mode.Perm()&0o002 != 0 && !(sticky && childSafe):
			say(what, fmt.Sprintf("is writable by every user (mode %04o)", mode.Perm()))
		case mode.Perm()&0o020 != 0 && st.Gid != 0 && !(sticky && childSafe):
			say(what, fmt.Sprintf("is writable by group %d (mode %04o)", st.Gid, mode.Perm()))
		}
		childSafe = owned
		parent := filepath.Dir(path)
		if parent == path {
			return out
		}
		path = parent
	}
}
