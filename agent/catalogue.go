package agent

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/osinfo"
	"github.com/agentkeeper/agentkeeper/platform/registry"
	"github.com/agentkeeper/agentkeeper/platform/run"
	"github.com/agentkeeper/agentkeeper/platform/service"
)

// CheckID names a check. IDs are stable across releases; every one is
// declared once in the catalogue (checks_*.go) as a typed constant.
type CheckID string

// The operating-system families a check applies to.
const (
	FamilyLinux   = "linux"
	FamilyWindows = "windows"
)

// Def declares one check: what it is, how bad its failure is, where it
// applies, and which Azure document (or agent source) explains it.
//
// A new check is one declaration in the checks_*.go file of its area, with
// a Probe: Inspect runs it on every target it applies to, after the agent's
// own checks, and skips it (saying why) where its mode does not apply.
type Def struct {
	ID CheckID
	// Title is one line saying what is checked.
	Title string
	// Severity is what the check is when it does not pass: StatusFail
	// (the machine is not ready) or StatusWarn.
	Severity Status
	// OS lists the families it applies to (FamilyLinux, FamilyWindows).
	OS []string
	// Live and Image say whether it runs on the live system and on an
	// offline image (--root).
	Live, Image bool
	// Doc is the URL of the Azure document or agent source behind the rule.
	Doc string
	// Probe, when set, judges the target. The returned Check's ID is
	// filled in when empty. Checks without a Probe are made by the agent's
	// own inspection flow (inspectLinux, inspectWindows, ...).
	Probe func(ctx context.Context, t *Target) Check
}

// AppliesTo reports whether the check is meant for the family.
func (d Def) AppliesTo(family string) bool {
	for _, f := range d.OS {
		if f == family {
			return true
		}
	}
	return false
}

// Modes renders where the check runs: "live", "image" or "live, image".
func (d Def) Modes() string {
	var m []string
	if d.Live {
		m = append(m, "live")
	}
	if d.Image {
		m = append(m, "image")
	}
	return strings.Join(m, ", ")
}

var (
	catalogue []Def
	byID      = map[CheckID]int{}
)

// declare adds a check to the catalogue and returns its ID. It panics on a
// duplicate or incomplete declaration: that is a programming error found by
// any test run, never by a user.
func declare(d Def) CheckID {
	if _, dup := byID[d.ID]; dup {
		panic("agent: check " + string(d.ID) + " declared twice")
	}
	if d.ID == "" || d.Title == "" || d.Doc == "" || len(d.OS) == 0 || (!d.Live && !d.Image) ||
		(d.Severity != StatusFail && d.Severity != StatusWarn) {
		panic(fmt.Sprintf("agent: check %q is incompletely declared", d.ID))
	}
	byID[d.ID] = len(catalogue)
	catalogue = append(catalogue, d)
	return d.ID
}

// Catalogue returns every declared check, sorted by ID.
func Catalogue() []Def {
	out := append([]Def(nil), catalogue...)
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Lookup returns the declaration of a check.
func Lookup(id CheckID) (Def, bool) {
	i, ok := byID[id]
	if !ok {
		return Def{}, false
	}
	return catalogue[i], true
}

// Nearest returns the declared ID closest to s by edit distance, for "did
// you mean" messages: "" when none is within half the length of s, the
// first in sorted order on a tie.
func Nearest(s string) CheckID {
	best, bestD := CheckID(""), len(s)/2+1
	for _, d := range Catalogue() {
		if k := editDistance(s, string(d.ID)); k < bestD {
			best, bestD = d.ID, k
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Target is what a Probe judges: the machine (or image) being inspected,
// with the probes it may use. It is valid only during Inspect.
type Target struct {
	Root fsroot.Root
	// Live is true when Root is the running system.
	Live bool
	OS   osinfo.Info
	// Report holds what the earlier checks found; probes read it, never
	// change it.
	Report *Report
	Runner run.Runner
	Log    *slog.Logger
	Now    func() time.Time
	// Registry reads HKEY_LOCAL_MACHINE (the live registry on Windows).
	Registry registry.Reader
	// WinService reads a Windows service's state.
	WinService func(name string) (service.State, error)
}

// Cmd renders a command for a fix in the target's mode: as it is on the
// live system, run inside the image with chroot under --root, so a fix
// never names a command that would act on the build host.
func (t *Target) Cmd(s string) string { return modeCmd(t.Live, t.Root.Dir, t.OS.Family, s) }

// modeCmd renders a fix command for the mode: as is on the live system;
// for a Linux image "chroot DIR s"; for a Windows image, to be run on the
// running Windows machine (nothing installs into an offline Windows image).
func modeCmd(live bool, dir, family, s string) string {
	if live {
		return s
	}
	if family == FamilyWindows {
		return s + " (on the running Windows machine, not in the image at " + dir + ")"
	}
	return "chroot " + dir + " " + s
}

// ensureCmd is `agentkeeper ensure` for the mode (with --root DIR for an
// image).
func ensureCmd(live bool, dir string) string {
	if live {
		return "`agentkeeper ensure`"
	}
	return "`agentkeeper ensure --root " + dir + "`"
}

// runProbes runs the declared probes that apply to the report's OS family.
func runProbes(ctx context.Context, o *Options, rep *Report, info osinfo.Info) {
	t := &Target{Root: o.Root, Live: o.live(), OS: info, Report: rep, Runner: o.Runner, Log: o.Log,
		Now: o.Now, Registry: o.Registry, WinService: o.WinService}
	for _, d := range catalogue {
		if d.Probe == nil || !d.AppliesTo(info.Family) {
			continue
		}
		switch {
		case rep.skip[d.ID]:
			rep.Add(Check{ID: d.ID}) // Add records it as skipped by configuration
			continue
		case t.Live && !d.Live:
			rep.Add(Check{ID: d.ID, Status: StatusSkip, Message: "checked only in offline images"})
			continue
		case !t.Live && !d.Image:
			rep.Add(Check{ID: d.ID, Status: StatusSkip, Message: "offline image: checked only on the running system"})
			continue
		}
		c := d.Probe(ctx, t)
		if c.ID == "" {
			c.ID = d.ID
		}
		rep.Add(c)
	}
}
