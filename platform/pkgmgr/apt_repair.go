package pkgmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// A postinst that runs `mkdir DIR` without -p fails when DIR is there
// already, and dpkg leaves the package half-configured. Debian 12's waagent
// does that with /var/lib/waagent, which an earlier install (a GitHub or
// source install, a removed but not purged package, a migrated machine)
// leaves behind. The remedy, applied once: move DIR aside, let dpkg
// configure the package again (its postinst now creates DIR), then move
// every entry that was in DIR back into the new one. Nothing is deleted:
// an entry whose name the postinst created meanwhile stays in the aside
// folder, which is then kept and named in the message.

// mkdirExistsRe matches coreutils' message for that mkdir.
var mkdirExistsRe = regexp.MustCompile(`mkdir: cannot create directory '([^'\n]+)': File exists`)

// dpkgConfigureErrRe matches dpkg's message for the failed configuration.
var dpkgConfigureErrRe = regexp.MustCompile(`dpkg: error processing package ([a-z0-9][a-z0-9+.:-]*) \(--configure\)`)

// mkdirRepairDirs are the only places where a directory is moved aside:
// package state directories, never /etc or a user's files.
var mkdirRepairDirs = []string{"/var/lib/"}

// mkdirExists is what parseMkdirExists found.
type mkdirExists struct {
	// Dir is the directory the postinst could not create (a clean absolute path).
	Dir string
	// Pkg is the package dpkg could not configure.
	Pkg string
}

// parseMkdirExists reads apt-get/dpkg output and reports the one
// directory a failed postinst could not create because it existed, with
// the package left unconfigured. ok is false unless exactly one such
// directory and one such package are named, and the directory is under
// mkdirRepairDirs.
func parseMkdirExists(out string) (mkdirExists, bool) {
	dirs := map[string]bool{}
	for _, m := range mkdirExistsRe.FindAllStringSubmatch(out, -1) {
		dirs[m[1]] = true
	}
	pkgs := map[string]bool{}
	for _, m := range dpkgConfigureErrRe.FindAllStringSubmatch(out, -1) {
		pkgs[m[1]] = true
	}
	if len(dirs) != 1 || len(pkgs) != 1 {
		return mkdirExists{}, false
	}
	var r mkdirExists
	for d := range dirs {
		r.Dir = d
	}
	for p := range pkgs {
		r.Pkg = p
	}
	if !path.IsAbs(r.Dir) || path.Clean(r.Dir) != r.Dir || strings.ContainsFunc(r.Dir, func(c rune) bool { return c < ' ' || c == 0x7f }) {
		return mkdirExists{}, false
	}
	for _, base := range mkdirRepairDirs {
		if rest, ok := strings.CutPrefix(r.Dir, base); ok && rest != "" && !strings.Contains(rest, "/") {
			return r, true
		}
	}
	return mkdirExists{}, false
}

// repairMkdirExists applies the remedy for f (see above) and returns what
// it did, for the record. The error, if any, says what is where.
func (a *apt) repairMkdirExists(ctx context.Context, f mkdirExists) (string, error) {
	parent, err := a.root.Resolve(path.Dir(f.Dir))
	if err != nil {
		return "", fmt.Errorf("repair %s: %w", f.Dir, err)
	}
	dir := filepath.Join(parent, path.Base(f.Dir))
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("repair %s: %w", f.Dir, err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("repair %s: it is a %s, not a directory: left as it is", f.Dir, fsroot.Kind(fi.Mode()))
	}
	asideName := path.Base(f.Dir) + ".agentkeeper-" + time.Now().UTC().Format("20060102T150405")
	aside := filepath.Join(parent, asideName)
	if err := os.Rename(dir, aside); err != nil {
		return "", fmt.Errorf("repair %s: move it aside: %w", f.Dir, err)
	}
	asideIn := path.Join(path.Dir(f.Dir), asideName)
	a.opts.Log.Warn("a postinst could not create a directory that was left behind: moved it aside, configuring again",
		"package", f.Pkg, "dir", f.Dir, "aside", asideIn)

	c := a.configureCmd()
	res, cerr := a.run(ctx, c)
	if cerr == nil && res.ExitCode != 0 {
		cerr = fail(c, res)
		if containsAny(output(res), aptLockMessages...) {
			cerr = locked(fail(c, res))
		}
	}
	// Put the old entries back whatever dpkg did, so nothing is lost.
	moved, kept, merr := mergeBack(aside, dir)
	did := fmt.Sprintf("%s's postinst could not create %s (left behind by an earlier install): moved it aside to %s, ran %s, moved its %d entries back",
		f.Pkg, f.Dir, asideIn, c, moved)
	if merr == nil && len(kept) == 0 {
		if err := os.Remove(aside); err != nil {
			merr = err
		}
	} else if len(kept) > 0 {
		did += fmt.Sprintf("; %d entries whose names the package created again stay in %s: %s", len(kept), asideIn, strings.Join(kept, ", "))
	}
	if merr != nil {
		return did, fmt.Errorf("%s; moving them back failed, what is left is in %s: %w", did, asideIn, merr)
	}
	if cerr != nil {
		return did, fmt.Errorf("%s; but dpkg still failed: %w", did, cerr)
	}
	return did, nil
}

// mergeBack moves every entry of from into to (creating to when the
// package did not), never replacing an entry of to; those are listed in
// kept and stay in from.
func mergeBack(from, to string) (moved int, kept []string, err error) {
	ents, err := os.ReadDir(from)
	if err != nil {
		return 0, nil, err
	}
	fi, err := os.Lstat(to)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.Mkdir(to, 0o700); err != nil {
			return 0, nil, err
		}
	case err != nil:
		return 0, nil, err
	case !fi.IsDir():
		return 0, nil, fmt.Errorf("%s is a %s now, not a directory", to, fsroot.Kind(fi.Mode()))
	}
	for _, e := range ents {
		dst := filepath.Join(to, e.Name())
		if _, err := os.Lstat(dst); err == nil {
			kept = append(kept, e.Name())
			continue
		}
		if err := os.Rename(filepath.Join(from, e.Name()), dst); err != nil {
			return moved, kept, err
		}
		moved++
	}
	return moved, kept, nil
}
