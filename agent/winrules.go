package agent

import (
	"fmt"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/osinfo"
)

// Which Windows releases Azure supports, by build. Sources:
// azure-compute-docs virtual-machines/extensions/agent-windows.md and
// SupportArticles KB 4078134 (the agent: x64 Windows 10, 11, Server 2008
// SP2, 2008 R2, 2012, 2012 R2, 2016, 2019, 2022 and later; .NET 4.0+),
// azure-docs articles/backup/backup-support-matrix-iaas.md (Azure Backup:
// Server 2008 R2 and later, Windows 10/11 64-bit clients, no 32-bit OS);
// end of extended support from Microsoft's lifecycle pages.
type winRelease struct {
	// build is the release's build number (the first of a range for
	// Windows 10/11 and servers newer than the table).
	build          int
	server, client string
	// serverOK, clientOK: supported by the agent and by Azure Backup.
	serverOK, clientOK bool
	// serverEnd is the end of the server release's extended support.
	serverEnd time.Time
	// why explains an unsupported release.
	why string
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

var winReleases = []winRelease{
	{build: 6000, server: "Windows Server 2008 (pre-release)", client: "Windows Vista", why: "the Azure VM agent needs Windows Server 2008 SP2 or later, or a Windows 10/11 client"},
	{build: 6001, server: "Windows Server 2008 (RTM/SP1)", client: "Windows Vista SP1", why: "the Azure VM agent needs Windows Server 2008 SP2 or later (install SP2), or a Windows 10/11 client"},
	{build: 6002, server: "Windows Server 2008 SP2", client: "Windows Vista SP2", serverOK: true, serverEnd: day(2020, time.January, 14)},
	{build: 7600, server: "Windows Server 2008 R2", client: "Windows 7", serverOK: true, serverEnd: day(2020, time.January, 14)},
	{build: 9200, server: "Windows Server 2012", client: "Windows 8", serverOK: true, serverEnd: day(2023, time.October, 10)},
	{build: 9600, server: "Windows Server 2012 R2", client: "Windows 8.1", serverOK: true, serverEnd: day(2023, time.October, 10)},
	{build: 10240, server: "Windows Server (pre-release of 2016)", client: "Windows 10", serverOK: true, clientOK: true},
	{build: 14393, server: "Windows Server 2016", client: "Windows 10", serverOK: true, clientOK: true, serverEnd: day(2027, time.January, 12)},
	{build: 17763, server: "Windows Server 2019", client: "Windows 10", serverOK: true, clientOK: true, serverEnd: day(2029, time.January, 9)},
	{build: 20348, server: "Windows Server 2022", client: "Windows 10", serverOK: true, clientOK: true, serverEnd: day(2031, time.October, 14)},
	{build: 22000, server: "Windows Server", client: "Windows 11", serverOK: true, clientOK: true},
	{build: 26100, server: "Windows Server 2025", client: "Windows 11", serverOK: true, clientOK: true, serverEnd: day(2034, time.November, 14)},
}

// winReleaseFor returns the table row of a build: the newest release whose
// build is at most it (Server 2008 SP2 reports 6002 or 6003, 2008 R2 SP1
// 7601, ...). ok is false below the table.
func winReleaseFor(build int) (winRelease, bool) {
	var r winRelease
	ok := false
	for _, x := range winReleases {
		if build >= x.build {
			r, ok = x, true
		}
	}
	return r, ok
}

// windowsSupport judges a Windows release by Azure's rules: the os.supported
// check, and whether the agent can be supported there at all.
func windowsSupport(info osinfo.Info, bits int, now time.Time) (Check, bool) {
	var build int
	fmt.Sscan(info.Build, &build)
	name := nonEmpty(info.Name, "Windows")
	if bits == 32 {
		return Check{ID: IDOSSupported, Status: StatusFail,
			Message: fmt.Sprintf("%s is 32-bit: the Azure VM agent and Azure Backup support 64-bit (x64) Windows only", name),
			Fix:     "move to a 64-bit Windows before migrating"}, false
	}
	if build == 0 {
		return Check{ID: IDOSSupported, Status: StatusWarn,
			Message: name + ": the build could not be read (no version resource in Windows/System32/kernel32.dll): Azure supports x64 Windows Server 2008 SP2 and later and Windows 10/11 clients",
			Fix:     "check the machine itself with `agentkeeper check`, or make sure the image's Windows/System32 is complete"}, true
	}
	rel, ok := winReleaseFor(build)
	if !ok {
		return Check{ID: IDOSSupported, Status: StatusFail,
			Message: fmt.Sprintf("%s (build %d) is older than any Windows the Azure VM agent supports (Server 2008 SP2 and later, Windows 10/11 clients)", name, build),
			Fix:     "upgrade Windows before migrating"}, false
	}
	judge := func(server bool) Check {
		if !server {
			if !rel.clientOK {
				return Check{ID: IDOSSupported, Status: StatusFail,
					Message: fmt.Sprintf("%s (build %d) is a %s client: the Azure VM agent and Azure Backup support Windows 10 and 11 clients, not %s", name, build, rel.client, rel.client),
					Fix:     "upgrade to Windows 10 or 11 (64-bit) before migrating"}
			}
			return Check{ID: IDOSSupported, Status: StatusPass, Message: fmt.Sprintf("%s (build %d): %s is supported", name, build, rel.client)}
		}
		if !rel.serverOK {
			return Check{ID: IDOSSupported, Status: StatusFail, Message: fmt.Sprintf("%s (build %d, %s): %s", name, build, rel.server, rel.why),
				Fix: "install Windows Server 2008 SP2 or upgrade Windows before migrating"}
		}
		if !rel.serverEnd.IsZero() && now.After(rel.serverEnd) {
			return Check{ID: IDOSSupported, Status: StatusWarn,
				Message: fmt.Sprintf("%s (build %d): %s is supported by the Azure VM agent and Azure Backup, but Microsoft's extended support for it ended on %s", name, build, rel.server, rel.serverEnd.Format("2006-01-02")),
				Fix:     "plan an upgrade to a Windows Server in support (or Extended Security Updates on Azure)"}
		}
		return Check{ID: IDOSSupported, Status: StatusPass, Message: fmt.Sprintf("%s (build %d): %s is supported", name, build, rel.server)}
	}
	if !info.EditionUnknown {
		c := judge(info.Server)
		return c, c.Status != StatusFail
	}
	// An offline image: the build is known, server or client is not.
	sc, cc := judge(true), judge(false)
	if sc.Status == cc.Status && sc.Status != StatusWarn {
		return Check{ID: IDOSSupported, Status: sc.Status,
			Message: fmt.Sprintf("Windows build %d (%s or %s; the image does not say which offline): %s", build, rel.server, rel.client,
				map[Status]string{StatusPass: "supported either way", StatusFail: "not supported either way"}[sc.Status]),
			Fix: sc.Fix}, sc.Status != StatusFail
	}
	return Check{ID: IDOSSupported, Status: StatusWarn,
		Message: fmt.Sprintf("Windows build %d is %s or %s, which an offline image does not tell apart: as a server: %s; as a client: %s", build, rel.server, rel.client, sc.Message, cc.Message),
		Fix:     "run `agentkeeper check` on the machine itself, or make sure it is the server edition before migrating"}, true
}
