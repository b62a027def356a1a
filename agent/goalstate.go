package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/hashicorp/go-version"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/pkgdb"
	"github.com/agentkeeper/agentkeeper/platform/pkgmgr"
)

// Downloaded agents (WALinuxAgent azurelinuxagent/ga/guestagent.py): a
// folder WALinuxAgent-<ver> is a usable agent when it holds
// HandlerManifest.json and its error.json does not blacklist it (a fatal
// failure, or at least maxAgentFailures failures).
const (
	agentManifestFile = "HandlerManifest.json"
	agentErrorFile    = "error.json"
)

// goalStateAgent is the agent that handles extensions, and where it was
// found.
type goalStateAgent struct {
	v      *version.Version
	source string // GoalStateProcess, GoalStateFolder or GoalStatePackage
	where  string
	// skipped lists the folders passed over, with the reason.
	skipped []string
}

// findGoalState finds the extension handler: on a live system the running
// -run-exthandlers process; else the newest usable downloaded agent when
// it is newer than the package, which is what the daemon would start; else
// the package itself.
func findGoalState(o *Options, pkgV *version.Version) goalStateAgent {
	if o.live() {
		ps, err := o.Processes()
		if err != nil {
			o.Log.Debug("cannot list processes", "err", err)
		}
		var best goalStateAgent
		for _, p := range ps {
			m := goalStateProc.FindStringSubmatch(strings.Join(p.Args, " "))
			if m == nil {
				continue
			}
			if v, err := version.NewVersion(m[1]); err == nil && (best.v == nil || v.GreaterThan(best.v)) {
				best = goalStateAgent{v: v, source: GoalStateProcess, where: fmt.Sprintf("running process %d", p.PID)}
			}
		}
		if best.v != nil {
			return best
		}
	}
	g := goalStateAgent{v: pkgV, source: GoalStatePackage, where: "the packaged agent"}
	ents, err := o.Root.ReadDir(PathWaagentLib)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		o.Log.Debug("cannot list agent folder", "err", err)
	}
	for _, e := range ents {
		m := goalStateDir.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		v, err := version.NewVersion(m[1])
		if err != nil {
			continue
		}
		dir := path.Join(PathWaagentLib, e.Name())
		if why := unusableAgent(o.Root, dir); why != "" {
			g.skipped = append(g.skipped, e.Name()+" ("+why+")")
			continue
		}
		if v.GreaterThan(g.v) {
			g.v, g.source, g.where = v, GoalStateFolder, o.Root.Join(dir)
		}
	}
	return g
}

// unusableAgent says why a downloaded agent folder will not be run, or "".
func unusableAgent(r fsroot.Root, dir string) string {
	if !r.Exists(path.Join(dir, agentManifestFile)) {
		return "no " + agentManifestFile + ": not fully downloaded"
	}
	data, err := r.ReadFile(path.Join(dir, agentErrorFile), fsroot.MaxSmallFile)
	if errors.Is(err, fs.ErrNotExist) {
		return ""
	}
	if err != nil {
		return "unreadable " + agentErrorFile + ": " + err.Error()
	}
	ae, err := ParseAgentError(data)
	if err != nil {
		return "" // the agent deletes an unreadable error.json and trusts the version again
	}
	if ae.Blacklisted() {
		return fmt.Sprintf("blacklisted by the agent in %s: %d failure(s), fatal %v: %s", agentErrorFile, ae.FailureCount, ae.WasFatal, clip(ae.Reason, 120))
	}
	return ""
}

// linuxVersionCheck judges the agent by KB 4049215: the goal-state agent
// (the one that runs extensions) against the minimum, the package beside
// it. Without a newer goal-state agent, a package below the minimum passes
// with a warning only when it is newer than 2.1.7, auto-update is on and
// the repositories do not offer the minimum (as far as their package lists
// can be read); otherwise it fails.
func linuxVersionCheck(o *Options, rep *Report, la LinuxAgent, pkgV *version.Version, pkgRaw, fix string) {
	g := findGoalState(o, pkgV)
	rep.Agent.GoalStateVersion = g.v.String()
	rep.Agent.GoalStateSource = g.source
	min := o.MinLinux
	pkgNote := "package " + pkgRaw
	if len(g.skipped) > 0 {
		pkgNote += "; passed over: " + strings.Join(g.skipped, ", ")
	}
	if g.source != GoalStatePackage {
		if g.v.LessThan(min) {
			rep.Add(Check{ID: IDAgentVersion, Status: StatusFail,
				Message: fmt.Sprintf("goal-state agent %s (%s) is older than the minimum %s (%s)", g.v, g.where, min, pkgNote), Fix: fix})
			return
		}
		rep.Add(Check{ID: IDAgentVersion, Status: StatusPass,
			Message: fmt.Sprintf("goal-state agent %s (%s) meets the minimum %s (%s)", g.v, g.where, min, pkgNote)})
		return
	}
	if !pkgV.LessThan(min) {
		rep.Add(Check{ID: IDAgentVersion, Status: StatusPass,
			Message: fmt.Sprintf("agent %s meets the minimum %s (%s)", pkgV, min, pkgNote)})
		return
	}
	// No newer goal-state agent and a package below the minimum.
	var why []string
	floor := version.Must(version.NewVersion(LinuxAutoUpdateFloor))
	if !pkgV.GreaterThan(floor) {
		why = append(why, fmt.Sprintf("it is not newer than %s", floor))
	}
	conf, cerr := readWaagentConf(o)
	on, known := autoUpdateOn(conf, cerr)
	switch {
	case !known:
		why = append(why, "auto-update is unknown ("+PathWaagentConf+" cannot be read)")
	case !on:
		why = append(why, "auto-update is off")
	}
	offered, oerr := offeredUpstream(o, la)
	switch {
	case oerr != nil:
		why = append(why, "which versions the repositories offer is not known ("+oerr.Error()+")")
	case offered != nil && !offered.LessThan(min):
		why = append(why, fmt.Sprintf("the repositories offer %s", offered))
	}
	if len(why) > 0 {
		rep.Add(Check{ID: IDAgentVersion, Status: StatusFail,
			Message: fmt.Sprintf("agent %s is older than the minimum %s and no newer goal-state agent is there (%s): %s", pkgV, min, pkgNote, strings.Join(why, "; ")),
			Fix:     fix})
		return
	}
	have := "nothing"
	if offered != nil {
		have = "at most " + offered.String()
	}
	rep.Add(Check{ID: IDAgentVersion, Status: StatusWarn,
		Message: fmt.Sprintf("package agent %s is below the minimum %s, but it is newer than %s, auto-update is on and the repositories offer %s: the agent downloads a current goal-state agent when it runs on Azure (KB 4049215) (%s)",
			pkgV, min, floor, have, pkgNote),
		Fix: "keep AutoUpdate on; update the package when the distribution offers " + min.String() + " or later"})
}

// offeredUpstream is the newest upstream version the repositories offer,
// read from the root's package lists without running the package manager
// (apt: var/lib/apt/lists). nil with no error means they offer none. An
// error means it cannot be known (no lists; RPM repositories, whose
// metadata only the package manager reads).
func offeredUpstream(o *Options, la LinuxAgent) (*version.Version, error) {
	if la.Installer != InstallerApt {
		return nil, fmt.Errorf("check does not query %s repositories", la.Installer)
	}
	off, err := pkgmgr.AptOffered(o.Root, la.Package)
	if err != nil {
		return nil, err
	}
	var best *version.Version
	for _, s := range off.Versions {
		if v, err := pkgdb.Upstream(s); err == nil && (best == nil || v.GreaterThan(best)) {
			best = v
		}
	}
	return best, nil
}
