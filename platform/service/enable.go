package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// ErrMasked is returned (wrapped) when a unit to enable is masked.
var ErrMasked = errors.New("unit is masked")

// enableDir is where `systemctl enable` writes its links.
const enableDir = "/etc/systemd/system"

// EnableOffline enables a systemd unit inside an image the way
// `systemctl enable` does for the common case: it finds the unit file in the
// same search path SystemdOffline uses, reads its [Install] section and
// creates absolute links, as seen from inside the image:
// /etc/systemd/system/<target>.wants/<unit> for each WantedBy=,
// <target>.requires/ for RequiredBy=, <target>.upholds/ for UpheldBy=, and
// /etc/systemd/system/<alias> for each Alias=, all pointing at the unit
// file (e.g. /lib/systemd/system/walinuxagent.service).
//
// It is idempotent: a link that already leads to the unit file is kept. A
// masked unit (a link to /dev/null) is refused with an error wrapping
// ErrMasked. A unit without install rules (static) needs no links and
// returns nil, as systemctl does. Also= units and template instances are
// not handled.
func EnableOffline(root fsroot.Root, unit string) error {
	if err := checkUnitName(unit); err != nil {
		return err
	}
	for _, d := range linkDirs {
		masked, err := isMaskLink(root, d.dir, unit)
		if err != nil {
			return err
		}
		if masked {
			return fmt.Errorf("enable %s: %w (%s -> /dev/null); unmask it first (systemctl unmask %s, or remove that link)",
				unit, ErrMasked, root.Join(d.dir+"/"+unit), unit)
		}
	}
	file, err := findUnitFile(root, unit)
	if err != nil {
		return fmt.Errorf("enable %s: %w", unit, err)
	}
	if file == "" {
		return fmt.Errorf("enable %s: no unit file in %s under %s: is the package installed?",
			unit, strings.Join(unitDirs, ", "), root.Dir)
	}
	data, err := root.ReadFile(file, fsroot.MaxSmallFile)
	if err != nil {
		return fmt.Errorf("enable %s: %w", unit, err)
	}
	inst := parseInstall(data)

	var links []string
	for _, l := range []struct {
		targets []string
		suffix  string
	}{{inst.wantedBy, ".wants"}, {inst.requiredBy, ".requires"}, {inst.upheldBy, ".upholds"}} {
		for _, t := range l.targets {
			if err := checkUnitName(t); err != nil {
				return fmt.Errorf("enable %s: %s in %s: %w", unit, l.suffix, file, err)
			}
			links = append(links, enableDir+"/"+t+l.suffix+"/"+unit)
		}
	}
	for _, a := range inst.alias {
		if err := checkUnitName(a); err != nil {
			return fmt.Errorf("enable %s: Alias= in %s: %w", unit, file, err)
		}
		if a != unit {
			links = append(links, enableDir+"/"+a)
		}
	}
	for _, l := range links {
		if err := ensureLink(root, l, file); err != nil {
			return fmt.Errorf("enable %s: %w", unit, err)
		}
	}
	return nil
}

// ensureLink makes link (an in-root path) a symbolic link to target (an
// in-root absolute path). An existing link that leads to the same file is
// left alone; anything else in the way is an error.
func ensureLink(root fsroot.Root, link, target string) error {
	dir, name := filepath.Split(filepath.FromSlash(link))
	hostDir, err := root.Resolve(filepath.ToSlash(dir))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(hostDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", root.Join(filepath.ToSlash(dir)), err)
	}
	host := filepath.Join(hostDir, name)
	fi, err := os.Lstat(host)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.Symlink(target, host); err != nil {
			return fmt.Errorf("link %s -> %s: %w", root.Join(link), target, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("stat %s: %w", root.Join(link), err)
	case fi.Mode()&fs.ModeSymlink == 0:
		return fmt.Errorf("%s exists and is not a symbolic link: remove it to enable the unit", root.Join(link))
	}
	old, err := os.Readlink(host)
	if err != nil {
		return fmt.Errorf("read link %s: %w", root.Join(link), err)
	}
	if filepath.ToSlash(old) == target {
		return nil
	}
	// Same file by another path (/usr/lib vs /lib on merged-/usr systems)?
	want, err1 := root.Resolve(target)
	got, err2 := root.Resolve(filepath.ToSlash(dir) + "/" + name)
	if err1 == nil && err2 == nil && want == got {
		return nil
	}
	return fmt.Errorf("%s already links to %s, not %s: remove it to enable the unit", root.Join(link), old, target)
}

// EnableLive runs `systemctl enable --now <unit>` on the running system.
// A failure names the command, its exit status and the end of its output;
// when systemd is not running the error wraps ErrNoSystemd (use
// EnableOffline then).
func EnableLive(ctx context.Context, rn run.Runner, unit string) error {
	if err := checkUnitName(unit); err != nil {
		return err
	}
	c := run.Cmd{Argv: []string{"systemctl", "enable", "--now", unit}, Env: []string{"LC_ALL=C"}}
	res, err := rn.Run(ctx, c)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("%w: systemctl not found: %w", ErrNoSystemd, err)
		}
		return fmt.Errorf("run %s: %w", c, err)
	}
	if res.ExitCode == 0 {
		return nil
	}
	out := string(res.Stdout) + string(res.Stderr)
	tail := strings.TrimSpace(res.Tail(15))
	if tail == "" {
		tail = "(no output)"
	}
	for _, s := range noSystemdMessages {
		if strings.Contains(out, s) {
			return fmt.Errorf("%w: %s exited %d: %s", ErrNoSystemd, c, res.ExitCode, tail)
		}
	}
	return fmt.Errorf("%s exited %d: %s", c, res.ExitCode, tail)
}
