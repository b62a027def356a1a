package agent

import (
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// pythonName takes the version from an interpreter's file name: python3.11,
// python2.7, platform-python3.6, python3 (minor unknown).
var pythonName = regexp.MustCompile(`python(\d)(?:\.(\d+))?$`)

// agentScripts are where distributions install the agent's entry point.
var agentScripts = []string{"/usr/sbin/waagent", "/usr/bin/waagent"}

// pythonCandidates are tried, in order, when nothing names the interpreter.
var pythonCandidates = []string{"/usr/bin/python3", "/usr/libexec/platform-python", "/usr/bin/python", "/usr/bin/python2"}

// agentPython is the interpreter the agent runs with, as far as the files
// tell.
type agentPython struct {
	// Interp is the interpreter's path inside the root ("" when none found).
	Interp string
	// Via says what named it.
	Via string
	// Exists is whether Interp is there.
	Exists bool
	// Major and Minor come from the resolved file name; Minor is -1 when
	// the name does not say (python3), Major 0 when unknown.
	Major, Minor int
	// Package is the folder holding the azurelinuxagent package ("" when
	// none was found for this Python).
	Package string
	// Searched lists where the package was looked for.
	Searched []string
}

// Version renders the Python version ("3.11", "3", "unknown").
func (p agentPython) Version() string {
	switch {
	case p.Major == 0:
		return "unknown"
	case p.Minor < 0:
		return strconv.Itoa(p.Major)
	}
	return fmt.Sprintf("%d.%d", p.Major, p.Minor)
}

// findAgentPython finds the interpreter the agent's unit starts (ExecStart
// naming python directly, or the script it names), else the agent script's
// shebang, else the usual places; then its version and the azurelinuxagent
// package for that version.
func findAgentPython(r fsroot.Root, unit string) agentPython {
	var p agentPython
	script := ""
	if unit != "" {
		exec, src := unitExecStart(r, unit)
		if f := strings.Fields(exec); len(f) > 0 {
			bin := strings.TrimLeft(f[0], "-@+!:")
			if pythonName.MatchString(path.Base(bin)) || strings.Contains(path.Base(bin), "python") {
				p.Interp, p.Via = bin, "ExecStart of "+unit+" ("+src+")"
			} else {
				script = bin
			}
		}
	}
	if p.Interp == "" {
		scripts := agentScripts
		if script != "" {
			scripts = append([]string{script}, agentScripts...)
		}
		for _, exe := range scripts {
			interp, ok := shebang(r, exe)
			if !ok {
				continue
			}
			p.Interp, p.Via = interp, "shebang of "+exe
			break
		}
	}
	if p.Interp == "" {
		for _, c := range pythonCandidates {
			if r.Exists(c) {
				p.Interp, p.Via = c, "found in a usual place"
				break
			}
		}
	}
	if p.Interp == "" {
		return p
	}
	p.Exists = r.Exists(p.Interp)
	p.Minor = -1
	name := path.Base(p.Interp)
	if resolved, err := r.Resolve(p.Interp); err == nil {
		name = path.Base(strings.ReplaceAll(resolved, "\\", "/"))
	}
	m := pythonName.FindStringSubmatch(name)
	if m == nil {
		m = pythonName.FindStringSubmatch(path.Base(p.Interp))
	}
	if m != nil {
		p.Major, _ = strconv.Atoi(m[1])
		if m[2] != "" {
			p.Minor, _ = strconv.Atoi(m[2])
		}
	}
	p.Package, p.Searched = findAgentPackage(r, p.Major, p.Minor)
	return p
}

// shebang returns the interpreter a script's "#!" line names; "env NAME"
// is looked up in /usr/local/bin, /usr/bin and /bin.
func shebang(r fsroot.Root, exe string) (string, bool) {
	data, err := readHead(r, exe, 256)
	if err != nil {
		return "", false
	}
	line := strings.SplitN(string(data), "\n", 2)[0]
	if !strings.HasPrefix(line, "#!") {
		return "", false
	}
	f := strings.Fields(strings.TrimPrefix(line, "#!"))
	if len(f) == 0 {
		return "", false
	}
	if path.Base(f[0]) == "env" && len(f) > 1 {
		name := f[1]
		if name == "-S" && len(f) > 2 {
			name = f[2]
		}
		for _, d := range []string{"/usr/local/bin", "/usr/bin", "/bin"} {
			if r.Exists(path.Join(d, name)) {
				return path.Join(d, name), true
			}
		}
		return path.Join("/usr/bin", name), true
	}
	return f[0], true
}

// unitExecStart returns the unit's effective ExecStart (the last one set
// across the unit file and its drop-ins; an empty one resets) and the file
// that set it.
func unitExecStart(r fsroot.Root, unit string) (string, string) {
	exec, src := "", ""
	for _, s := range unitFiles(r, unit) {
		for _, e := range s.entries {
			if e.Section == "Service" && e.Key == "ExecStart" {
				exec, src = e.Value, r.Join(s.path)
			}
		}
	}
	return exec, src
}

// findAgentPackage looks for the azurelinuxagent package where the given
// Python imports from: dist-packages (Debian, Ubuntu) and site-packages
// (RHEL, SLES, Azure Linux, pip), under /usr/lib, /usr/lib64 and
// /usr/local/lib, including setuptools eggs (WALinuxAgent-*.egg). When the
// minor version is unknown, every pythonMAJOR.* folder counts.
func findAgentPackage(r fsroot.Root, major, minor int) (string, []string) {
	var dirs []string
	if major == 3 {
		dirs = append(dirs, "/usr/lib/python3/dist-packages")
	}
	for _, lib := range []string{"/usr/lib", "/usr/lib64", "/usr/local/lib"} {
		var vers []string
		switch {
		case major == 0:
			continue
		case minor >= 0:
			vers = []string{fmt.Sprintf("python%d.%d", major, minor)}
		default:
			ents, _ := r.ReadDir(lib)
			for _, e := range ents {
				if strings.HasPrefix(e.Name(), fmt.Sprintf("python%d.", major)) {
					vers = append(vers, e.Name())
				}
			}
		}
		for _, v := range vers {
			dirs = append(dirs, path.Join(lib, v, "site-packages"), path.Join(lib, v, "dist-packages"))
		}
	}
	for _, d := range dirs {
		if fi, err := r.Stat(path.Join(d, "azurelinuxagent")); err == nil && fi.IsDir() {
			return path.Join(d, "azurelinuxagent"), dirs
		}
		ents, _ := r.ReadDir(d)
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "WALinuxAgent-") && strings.HasSuffix(e.Name(), ".egg") {
				p := path.Join(d, e.Name(), "azurelinuxagent")
				if fi, err := r.Stat(p); err == nil && fi.IsDir() {
					return p, dirs
				}
			}
		}
	}
	return "", dirs
}

// pythonCheck judges the interpreter the agent runs with: it must be in
// the root, have the azurelinuxagent package for its version, and be
// Python 2.6 or later; Python 2 warns (out of support, and the agent needs
// 2.7 behind a proxy).
func pythonCheck(o *Options, rep *Report) {
	p := findAgentPython(o.Root, rep.Agent.Service)
	pkgName := rep.Agent.Package
	if pkgName == "" {
		pkgName = "the agent package"
	}
	switch {
	case p.Interp == "":
		rep.Add(Check{ID: IDAgentPython, Status: StatusFail, Message: "no Python interpreter found (" + strings.Join(pythonCandidates, ", ") + ")",
			Fix: "install Python 3: the agent is a Python program"})
		return
	case !p.Exists:
		rep.Add(Check{ID: IDAgentPython, Status: StatusFail,
			Message: fmt.Sprintf("the agent runs with %s (%s), which is missing in %s", p.Interp, p.Via, o.Root.Dir),
			Fix:     "install Python 3 (the agent needs Python 2.6 or later), or reinstall " + pkgName})
		return
	case p.Package == "":
		rep.Add(Check{ID: IDAgentPython, Status: StatusFail,
			Message: fmt.Sprintf("the agent runs with %s (Python %s, %s), but no azurelinuxagent package is installed for it (looked in %s)",
				p.Interp, p.Version(), p.Via, strings.Join(p.Searched, ", ")),
			Fix: "reinstall " + pkgName + " for this Python (a Python upgrade can leave the agent's package behind for the old version)"})
		return
	case p.Major == 2 && p.Minor >= 0 && p.Minor < 6:
		rep.Add(Check{ID: IDAgentPython, Status: StatusFail,
			Message: fmt.Sprintf("the agent runs with Python %s (%s): it needs 2.6 or later", p.Version(), p.Interp),
			Fix:     "install Python 3 and reinstall " + pkgName})
		return
	}
	msg := fmt.Sprintf("the agent runs with %s (Python %s, %s); azurelinuxagent in %s", p.Interp, p.Version(), p.Via, o.Root.Join(path.Dir(p.Package)))
	if p.Major == 2 {
		rep.Add(Check{ID: IDAgentPython, Status: StatusWarn, Message: msg + ": Python 2 is out of support",
			Fix: "move the agent to Python 3 (a current " + pkgName + " from the distribution)"})
		return
	}
	rep.Add(Check{ID: IDAgentPython, Status: StatusPass, Message: msg})
}
