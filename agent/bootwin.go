package agent

import (
	"context"
	"errors"
	"fmt"

	"github.com/agentkeeper/agentkeeper/platform/registry"
)

// The registry keys the Windows boot checks read (HKLM).
const (
	regPartmgr     = `SYSTEM\CurrentControlSet\Services\partmgr\Parameters`
	regStorvsc     = `SYSTEM\CurrentControlSet\Services\storvsc`
	regDhcp        = `SYSTEM\CurrentControlSet\Services\Dhcp`
	regTerminal    = `SYSTEM\CurrentControlSet\Control\Terminal Server`
	regTerminalGPO = `SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services`
)

// sanPolicies names the partmgr SanPolicy values.
var sanPolicies = map[uint64]string{1: "OnlineAll", 2: "OfflineShared", 3: "OfflineAll", 4: "OfflineInternal"}

// startTypes names a service's Start value.
var startTypes = map[uint64]string{0: "boot", 1: "system", 2: "automatic", 3: "manual", 4: "disabled"}

// regDWORD reads a DWORD; found is false when the key or value is absent.
func regDWORD(t *Target, path, name string) (v uint64, found bool, err error) {
	if t.Registry == nil {
		return 0, false, errors.New("no registry reader")
	}
	v, err = t.Registry.Uint(path, name)
	if errors.Is(err, registry.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return v, true, nil
}

func regAdd(path, name string, v int) string {
	return fmt.Sprintf(`reg add "HKLM\%s" /v %s /t REG_DWORD /d %d /f`, path, name, v)
}

func bootSanPolicyProbe(_ context.Context, t *Target) Check {
	v, found, err := regDWORD(t, regPartmgr, "SanPolicy")
	fix := "run: " + t.Cmd(regAdd(regPartmgr, "SanPolicy", 1)) + ` (or in diskpart: san policy=onlineall)`
	switch {
	case err != nil:
		return Check{Status: StatusWarn, Message: `cannot read HKLM\` + regPartmgr + ` SanPolicy: ` + err.Error()}
	case !found:
		return Check{Status: StatusWarn, Message: `HKLM\` + regPartmgr + ` has no SanPolicy: Windows Server then uses OfflineShared, and Azure data disks come up offline`, Fix: fix}
	case v == 1:
		return Check{Status: StatusPass, Message: "SanPolicy is 1 (OnlineAll): data disks come up online"}
	}
	name := sanPolicies[v]
	if name == "" {
		name = "unknown"
	}
	return Check{Status: StatusWarn, Message: fmt.Sprintf("SanPolicy is %d (%s): Azure data disks would come up offline", v, name), Fix: fix}
}

func bootStorvscProbe(_ context.Context, t *Target) Check {
	v, found, err := regDWORD(t, regStorvsc, "Start")
	switch {
	case err != nil:
		return Check{Status: StatusWarn, Message: `cannot read HKLM\` + regStorvsc + ` Start: ` + err.Error()}
	case !found:
		return Check{Status: StatusFail, Message: `the Hyper-V storage driver is not installed (no HKLM\` + regStorvsc + ` Start): Windows would not find its disk in Azure`,
			Fix: "install the Hyper-V integration drivers (in-box since Windows Server 2012), then check again"}
	case v == 0:
		return Check{Status: StatusPass, Message: "storvsc starts at boot (Start = 0)"}
	}
	return Check{Status: StatusFail, Message: fmt.Sprintf("storvsc starts %s (Start = %d), not at boot: Windows would not find its disk in Azure (INACCESSIBLE_BOOT_DEVICE)", startTypes[v], v),
		Fix: "run: " + t.Cmd(regAdd(regStorvsc, "Start", 0))}
}

func networkRDPProbe(_ context.Context, t *Target) Check {
	fix := "run: " + t.Cmd(regAdd(regTerminal, "fDenyTSConnections", 0))
	if v, found, err := regDWORD(t, regTerminalGPO, "fDenyTSConnections"); err == nil && found {
		// Group Policy wins over the local setting.
		if v == 0 {
			return Check{Status: StatusPass, Message: "Remote Desktop is enabled by Group Policy (fDenyTSConnections = 0)"}
		}
		return Check{Status: StatusWarn, Message: fmt.Sprintf(`Group Policy disables Remote Desktop (HKLM\%s fDenyTSConnections = %d): no RDP in Azure`, regTerminalGPO, v),
			Fix: "allow \"Allow users to connect remotely by using Remote Desktop Services\" in the Group Policy that sets it"}
	}
	v, found, err := regDWORD(t, regTerminal, "fDenyTSConnections")
	switch {
	case err != nil:
		return Check{Status: StatusWarn, Message: `cannot read HKLM\` + regTerminal + ` fDenyTSConnections: ` + err.Error()}
	case !found:
		return Check{Status: StatusWarn, Message: `HKLM\` + regTerminal + ` has no fDenyTSConnections: Remote Desktop is off by default`, Fix: fix}
	case v == 0:
		return Check{Status: StatusPass, Message: "Remote Desktop is enabled (fDenyTSConnections = 0)"}
	}
	return Check{Status: StatusWarn, Message: fmt.Sprintf("Remote Desktop is disabled (fDenyTSConnections = %d): no RDP in Azure", v), Fix: fix}
}

// windowsDHCPProbe is network.dhcp on Windows: the DHCP client service
// must start automatically, or no interface gets an address in Azure.
func windowsDHCPProbe(_ context.Context, t *Target) Check {
	if !t.Live {
		return Check{Status: StatusSkip, Message: "offline Windows image: the registry is read only on the running system"}
	}
	v, found, err := regDWORD(t, regDhcp, "Start")
	fix := "run: " + t.Cmd(regAdd(regDhcp, "Start", 2)) + " (or: sc config Dhcp start= auto), then start it: net start Dhcp"
	switch {
	case err != nil:
		return Check{Status: StatusWarn, Message: `cannot read HKLM\` + regDhcp + ` Start: ` + err.Error()}
	case !found:
		return Check{Status: StatusFail, Message: `the DHCP client service is not installed (no HKLM\` + regDhcp + ` Start): no address in Azure`, Fix: fix}
	case v == 2:
		return Check{Status: StatusPass, Message: "the DHCP client service (Dhcp) starts automatically"}
	}
	return Check{Status: StatusFail, Message: fmt.Sprintf("the DHCP client service (Dhcp) starts %s (Start = %d), not automatically: no address in Azure", startTypes[v], v), Fix: fix}
}
