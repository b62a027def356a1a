package ensure

import (
	"context"
	"fmt"
	"slices"

	"github.com/agentkeeper/agentkeeper/agent"
	"github.com/agentkeeper/agentkeeper/platform/install"
)

// OutcomeRolledBack is the outcome of an update that left the agent worse
// than before and was undone: the previous version is back (exit 1, since
// the update the machine needed did not happen).
const OutcomeRolledBack = "rolled-back"

// OutcomeSkipped is the outcome of a run that did not update because the
// repositories offer only Options.SkipVersion, an update already rolled
// back; the package is left as it is.
const OutcomeSkipped = "skipped"

// worse says how the agent after an update is worse than before it, or ""
// when it is not: its package is no longer fully installed, or its unit,
// fine before, now fails, or the package is at another version than the
// candidate the repositories offered ("" when not known). An update that
// changed nothing is not worse.
func worse(before, after *agent.Report, candidate string) string {
	if after.Agent.PackageVersion == before.Agent.PackageVersion && after.Agent.Installed == before.Agent.Installed {
		return ""
	}
	if candidate != "" && after.Agent.Installed && after.Agent.PackageVersion != "" && after.Agent.PackageVersion != candidate {
		return fmt.Sprintf("the package is at %s, not the %s that was installed", after.Agent.PackageVersion, candidate)
	}
	if !after.Agent.Installed {
		c, _ := after.Check(agent.IDAgentInstalled)
		return nonEmpty(c.Message, "the package is not fully installed")
	}
	b, _ := before.Check(agent.IDAgentService)
	a, _ := after.Check(agent.IDAgentService)
	if b.Status != agent.StatusFail && a.Status == agent.StatusFail {
		return a.Message
	}
	return ""
}

// rollback undoes an update that left the agent worse than before, when
// the installer can and the repositories still offer the version that was
// installed before. It returns true when it ended res (rolled-back); false
// leaves res as the failed update ended it, with what was tried in
// actions.
func (o *Options) rollback(ctx context.Context, res *Result, before, after *agent.Report, inst install.Installer) bool {
	if res.Plan.Action != ActionUpdate || ctx.Err() != nil || inst == nil || !before.Agent.Installed || before.Agent.PackageVersion == "" {
		return false
	}
	why := worse(before, after, res.Candidate)
	if why == "" {
		return false
	}
	pkg, prev, bad := before.Agent.Package, before.Agent.PackageVersion, nonEmpty(after.Agent.PackageVersion, "the new version")
	rv, ok := inst.(install.Reverter)
	if !ok {
		res.act("rollback", StepSkip, "%s cannot put %s %s back", inst.Name(), pkg, prev)
		return false
	}
	offered, err := rv.Offered(ctx, pkg)
	if err != nil {
		res.act("rollback", StepFail, "asking which %s versions are offered: %v", pkg, err)
		return false
	}
	if !slices.Contains(offered, prev) {
		res.act("rollback", StepSkip, "the update left the agent worse (%s), but the repositories no longer offer %s %s (they offer %v): not rolled back", why, pkg, prev, offered)
		return false
	}
	o.progress("the update to %s left the agent worse (%s): rolling back to %s", bad, why, prev)
	ir, err := rv.InstallVersion(ctx, pkg, prev)
	res.Actions = append(res.Actions, ir.Steps...)
	if err != nil {
		res.act("rollback", StepFail, "putting %s %s back: %v", pkg, prev, err)
		return false
	}
	if enabler, ok := inst.(install.ServiceEnabler); ok {
		if _, err := enabler.EnableService(ctx, before.Agent.Service); err != nil {
			res.act("enable", StepFail, "%v", err)
		}
	}
	final := agent.Inspect(context.WithoutCancel(ctx), o.Inspect)
	res.Report, res.VersionAfter = final, final.Agent.Version
	res.act("rollback", StepPass, "%s %s → %s: back to the version installed before the update", pkg, bad, final.Agent.PackageVersion)
	state := "ready"
	if !final.Ready {
		state = "not ready: " + failing(final)
	}
	res.RolledBack = nonEmpty(res.Candidate, after.Agent.PackageVersion)
	res.end(OutcomeRolledBack, ExitNotReady, "the update of %s to %s left the agent worse (%s): rolled back to %s; %s",
		pkg, bad, why, nonEmpty(final.Agent.PackageVersion, prev), state)
	if final.Agent.PackageVersion != prev {
		res.Message = fmt.Sprintf("%s (but the package database now says %q)", res.Message, final.Agent.PackageVersion)
	}
	return true
}
