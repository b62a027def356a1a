package agent

// The Azure host endpoints, reachable only on a live Azure VM.
const IDNetworkWireServer CheckID = "network.wireserver"

var _ = declare(Def{ID: IDNetworkWireServer, Title: "the WireServer (168.63.129.16) answers",
	Severity: StatusFail, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Doc: docWireServer})

const IDNetworkHostGAPlugin CheckID = "network.hostgaplugin"

var _ = declare(Def{ID: IDNetworkHostGAPlugin, Title: "the HostGAPlugin (168.63.129.16:32526) answers",
	Severity: StatusFail, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Doc: docWireServer})

const IDNetworkIMDS CheckID = "network.imds"

var _ = declare(Def{ID: IDNetworkIMDS, Title: "the Instance Metadata Service (169.254.169.254) answers",
	Severity: StatusWarn, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Doc: docIMDS})

const IDNetworkProxy CheckID = "network.proxy"

var _ = declare(Def{ID: IDNetworkProxy, Title: "the proxy the agent uses needs no credentials (and, on Linux, Python 2.7 or later)",
	Severity: StatusFail, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Image: true, Doc: docAgentProxy, Probe: networkProxyProbe})
