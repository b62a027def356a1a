package service

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// ErrNoSystemd is returned (wrapped) by SystemdLive when systemd cannot be
// asked: systemctl is missing, or the system (a container, a chroot) was not
// booted with systemd. Callers fall back to SystemdOffline.
var ErrNoSystemd = errors.New("systemd is not running here")

// unitDirs are the directories searched for a unit file, highest priority
// first (systemd.unit(5) "System Unit Search Path"; /lib/systemd/system is
// where Debian's waagent package puts walinuxagent.service, and on
// merged-/usr systems /lib links to usr/lib).
var unitDirs = []string{
	"/etc/systemd/system",
	"/run/systemd/system",
	"/usr/local/lib/systemd/system",
	"/lib/systemd/system",
	"/usr/lib/systemd/system",
}

// linkDirs hold the enablement links (*.wants/, *.requires/, aliases):
// /etc for `systemctl enable`, /run for `systemctl enable --runtime`.
var linkDirs = []struct{ dir, state string }{
	{"/etc/systemd/system", "enabled"},
	{"/run/systemd/system", "enabled-runtime"},
}

// SystemdOffline judges a unit inside an image: installed if its unit file
// exists, enabled if a *.wants link or alias points at it; Running nil.
//
// StartType follows systemctl is-enabled: "masked" (a link to /dev/null in
// /etc/systemd/system; "masked-runtime" in /run), "enabled" (a link named
// after the unit in a *.wants/ or *.requires/ directory, or a link named
// after one of its Alias= names; "enabled-runtime" under /run), "disabled"
// (an [Install] section that nothing has acted on), "indirect" (only
// Also=), "static" (no [Install] rules). StartType is empty when there is
// neither a unit file nor a mask.
func SystemdOffline(r fsroot.Root, unit string) (State, error) {
	if err := checkUnitName(unit); err != nil {
		return State{}, err
	}
	var st State
	masked := ""
	for _, d := range linkDirs {
		ok, err := isMaskLink(r, d.dir, unit)
		if err != nil {
			return State{}, err
		}
		if ok && masked == "" {
			masked = d.dir
			st.StartType = "masked"
			if d.state == "enabled-runtime" {
				st.StartType = "masked-runtime"
			}
		}
	}

	file, err := findUnitFile(r, unit)
	if err != nil {
		return State{}, err
	}
	if file == "" {
		if masked != "" {
			st.Detail = fmt.Sprintf("masked (%s/%s -> /dev/null), no unit file", masked, unit)
			return st, nil
		}
		return State{Detail: "no unit file for " + unit}, nil
	}
	st.Installed = true
	if masked != "" {
		st.Detail = fmt.Sprintf("%s; masked (%s/%s -> /dev/null)", file, masked, unit)
		return st, nil
	}

	data, err := r.ReadFile(file, fsroot.MaxSmallFile)
	if err != nil {
		return State{}, err
	}
	inst := parseInstall(data)

	// The names links may carry: the unit, and the real unit's name when
	// unit is itself an alias link to it.
	names := []string{unit}
	if real, err := r.Resolve(file); err == nil {
		if b := filepath.Base(real); b != unit && checkUnitName(b) == nil {
			names = append(names, b)
		}
	}
	via, state, err := findEnableLink(r, names, inst.alias)
	if err != nil {
		return State{}, err
	}
	switch {
	case via != "":
		st.Enabled = true
		st.StartType = state
		st.Detail = fmt.Sprintf("%s; %s (%s)", file, state, via)
		return st, nil
	case inst.hasRules():
		st.StartType = "disabled"
	case len(inst.also) > 0:
		st.StartType = "indirect"
	default:
		st.StartType = "static"
	}
	st.Detail = fmt.Sprintf("%s; %s", file, st.StartType)
	return st, nil
}

// checkUnitName refuses names that could leave the unit directories.
func checkUnitName(unit string) error {
	if unit == "" || unit == "." || unit == ".." || strings.ContainsAny(unit, "/\\\x00") {
		return fmt.Errorf("invalid systemd unit name %q", unit)
	}
	return nil
}

// isMaskLink reports whether dir/unit is a symbolic link to /dev/null.
func isMaskLink(r fsroot.Root, dir, unit string) (bool, error) {
	hostDir, err := r.Resolve(dir)
	if err != nil {
		return false, err
	}
	target, err := os.Readlink(filepath.Join(hostDir, unit))
	if err != nil {
		// Missing, or not a link: not masked.
		return false, nil
	}
	return path.Clean(filepath.ToSlash(target)) == "/dev/null", nil
}

// findUnitFile returns the in-root path of the first regular unit file
// named unit in the search path, skipping mask links; "" when there is none.
func findUnitFile(r fsroot.Root, unit string) (string, error) {
	for _, d := range unitDirs {
		p := d + "/" + unit
		if ok, err := isMaskLink(r, d, unit); err != nil {
			return "", err
		} else if ok {
			continue
		}
		fi, err := r.Stat(p)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fsroot.ErrLinkLoop) || isNotDir(err) {
			continue
		}
		if err != nil {
			return "", err
		}
		if fi.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", nil
}

// findEnableLink looks for a link that enables the unit: one named after
// any of names in a *.wants/ or *.requires/ directory, or one named after an
// alias. It returns the in-root path of the link and the resulting state.
func findEnableLink(r fsroot.Root, names, aliases []string) (string, string, error) {
	for _, d := range linkDirs {
		ents, err := r.ReadDir(d.dir)
		if errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
			continue
		}
		if err != nil {
			return "", "", err
		}
		for _, e := range ents {
			n := e.Name()
			if !strings.HasSuffix(n, ".wants") && !strings.HasSuffix(n, ".requires") {
				continue
			}
			sub := d.dir + "/" + n
			links, err := r.ReadDir(sub)
			if errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
				continue
			}
			if err != nil {
				return "", "", err
			}
			for _, l := range links {
				for _, name := range names {
					if l.Name() == name {
						return sub + "/" + name, d.state, nil
					}
				}
			}
		}
		hostDir, err := r.Resolve(d.dir)
		if err != nil {
			return "", "", err
		}
		for _, a := range aliases {
			if checkUnitName(a) != nil {
				continue
			}
			if fi, err := os.Lstat(filepath.Join(hostDir, a)); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
				return d.dir + "/" + a + " (alias)", d.state, nil
			}
		}
	}
	return "", "", nil
}

// isNotDir reports whether err says a path component is not a directory.
func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

// installInfo is the [Install] section of a unit file.
type installInfo struct {
	section               bool
	wantedBy, requiredBy  []string
	upheldBy, alias, also []string
}

// hasRules reports whether enabling the unit would create links.
func (i installInfo) hasRules() bool {
	return len(i.wantedBy)+len(i.requiredBy)+len(i.upheldBy)+len(i.alias) > 0
}

// parseInstall reads the [Install] section of a unit file
// (systemd.unit(5)): list settings are blank-separated and may repeat; an
// empty assignment clears the list. Comments start with # or ;, and a
// trailing backslash continues a line.
func parseInstall(data []byte) installInfo {
	var in installInfo
	inInstall := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), fsroot.MaxSmallFile+1)
	var cont string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cont != "" {
			line = cont + " " + line
			cont = ""
		}
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		if strings.HasSuffix(line, `\`) {
			cont = strings.TrimSuffix(line, `\`)
			continue
		}
		if strings.HasPrefix(line, "[") {
			inInstall = strings.TrimSpace(line) == "[Install]"
			in.section = in.section || inInstall
			continue
		}
		if !inInstall {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		var list *[]string
		switch strings.TrimSpace(k) {
		case "WantedBy":
			list = &in.wantedBy
		case "RequiredBy":
			list = &in.requiredBy
		case "UpheldBy":
			list = &in.upheldBy
		case "Alias":
			list = &in.alias
		case "Also":
			list = &in.also
		default:
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			*list = nil
			continue
		}
		*list = append(*list, fields...)
	}
	return in
}

// SystemdBooted reports whether the system under r was booted with systemd,
// as sd_booted(3) decides: /run/systemd/system is a directory. It is false in
// a chroot, in most containers and under other init systems, where
// systemctl cannot start, stop or query anything.
func SystemdBooted(r fsroot.Root) bool {
	fi, err := r.Stat("/run/systemd/system")
	return err == nil && fi.IsDir()
}

// systemctlProps are the properties SystemdLive asks for.
const systemctlProps = "LoadState,ActiveState,SubState,UnitFileState"

// SystemdLive asks systemctl about a unit on the running system.
//
// Installed is false when systemd does not know the unit (LoadState
// not-found). Enabled follows UnitFileState: enabled, enabled-runtime or
// alias. Running is true while the unit is active (or reloading). Detail
// reads like systemctl status: "active (running)". When systemd cannot be
// asked the error wraps ErrNoSystemd.
func SystemdLive(ctx context.Context, rn run.Runner, unit string) (State, error) {
	if err := checkUnitName(unit); err != nil {
		return State{}, err
	}
	cmd := run.Cmd{Argv: []string{"systemctl", "show", unit, "--property=" + systemctlProps, "--no-pager"}}
	res, err := rn.Run(ctx, cmd)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return State{}, fmt.Errorf("%w: systemctl not found: %w", ErrNoSystemd, err)
		}
		return State{}, fmt.Errorf("run %s: %w", cmd, err)
	}
	out := string(res.Stdout) + string(res.Stderr)
	for _, s := range noSystemdMessages {
		if strings.Contains(out, s) {
			return State{}, fmt.Errorf("%w: %s: %s", ErrNoSystemd, cmd, strings.ReplaceAll(res.Tail(3), "\n", "; "))
		}
	}
	props := parseSystemctlShow(res.Stdout)
	load, ok := props["LoadState"]
	if !ok || (res.ExitCode != 0 && load == "") {
		return State{}, fmt.Errorf("%s: exit status %d, no LoadState in output: %s", cmd, res.ExitCode, res.Tail(5))
	}
	return stateFromShow(props), nil
}

// noSystemdMessages are what systemctl prints when there is no systemd to
// talk to (containers, chroots, image builds).
var noSystemdMessages = []string{
	"System has not been booted with systemd",
	"Failed to connect to bus",
	"Running in chroot, ignoring",
}

// stateFromShow turns systemctl show properties into a State.
func stateFromShow(p map[string]string) State {
	load, active, sub, file := p["LoadState"], p["ActiveState"], p["SubState"], p["UnitFileState"]
	st := State{StartType: file}
	if load == "not-found" {
		st.Detail = "not-found"
		st.Running = boolPtr(false)
		return st
	}
	st.Installed = true
	switch file {
	case "enabled", "enabled-runtime", "alias":
		st.Enabled = true
	}
	if load == "masked" && st.StartType == "" {
		st.StartType = "masked"
	}
	st.Running = boolPtr(active == "active" || active == "reloading")
	st.Detail = active
	if sub != "" {
		st.Detail += " (" + sub + ")"
	}
	if load != "loaded" && load != "" {
		st.Detail = load + "; " + st.Detail
	}
	return st
}

// parseSystemctlShow reads `systemctl show` output: KEY=VALUE lines, the
// value being everything after the first "=". Lines without "=" are
// ignored; a repeated key keeps its first value (systemctl separates units
// with a blank line, and only the first unit is asked about).
func parseSystemctlShow(data []byte) map[string]string {
	props := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" && len(props) > 0 {
			break
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			continue
		}
		if _, seen := props[k]; !seen {
			props[k] = v
		}
	}
	return props
}
