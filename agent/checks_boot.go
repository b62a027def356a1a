package agent

// Will a migrated machine boot in Azure and reach the network (issue 13;
// azure-agent-facts.md "Will a migrated machine boot in Azure?").
// Probes: boot.go (Linux boot), bootnet.go (network.dhcp), bootwin.go
// (Windows, from the registry).

const (
	docLinuxGeneric = "https://learn.microsoft.com/azure/virtual-machines/linux/create-upload-generic"
	docWindowsVHD   = "https://learn.microsoft.com/azure/virtual-machines/windows/prepare-for-upload-vhd-image"
)

const IDBootHyperV CheckID = "boot.hyperv"

var _ = declare(Def{ID: IDBootHyperV, Title: "the kernel that boots has hv_vmbus, hv_storvsc and hv_netvsc built in or in its initramfs",
	Severity: StatusFail, OS: []string{FamilyLinux}, Live: true, Image: true, Doc: docLinuxGeneric, Probe: bootHyperVProbe})

const IDBootFstab CheckID = "boot.fstab"

var _ = declare(Def{ID: IDBootFstab, Title: "/etc/fstab mounts /, /boot, /boot/efi and every mount without nofail by UUID/LABEL, not by /dev/sdX",
	Severity: StatusFail, OS: []string{FamilyLinux}, Live: true, Image: true, Doc: docLinuxGeneric, Probe: bootFstabProbe})

const IDNetworkDHCP CheckID = "network.dhcp"

var _ = declare(Def{ID: IDNetworkDHCP, Title: "the primary interface gets its address by DHCP (Linux: netplan, ifupdown, NetworkManager, ifcfg, networkd; Windows: the DHCP client service is automatic)",
	Severity: StatusFail, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Image: true, Doc: docMigratePrepare, Probe: networkDHCPProbe})

const IDBootConsole CheckID = "boot.console"

var _ = declare(Def{ID: IDBootConsole, Title: "console=ttyS0 is on the kernel command line (serial console, boot diagnostics)",
	Severity: StatusWarn, OS: []string{FamilyLinux}, Live: true, Image: true, Doc: docLinuxGeneric, Probe: bootConsoleProbe})

const IDBootSanPolicy CheckID = "boot.sanpolicy"

var _ = declare(Def{ID: IDBootSanPolicy, Title: "SAN policy is OnlineAll (partmgr SanPolicy = 1), so data disks come up online",
	Severity: StatusWarn, OS: []string{FamilyWindows}, Live: true, Doc: docWindowsVHD, Probe: bootSanPolicyProbe})

const IDBootStorvsc CheckID = "boot.storvsc"

var _ = declare(Def{ID: IDBootStorvsc, Title: "the Hyper-V storage driver (storvsc) starts at boot (Start = 0)",
	Severity: StatusFail, OS: []string{FamilyWindows}, Live: true, Doc: docWindowsVHD, Probe: bootStorvscProbe})

const IDNetworkRDP CheckID = "network.rdp"

var _ = declare(Def{ID: IDNetworkRDP, Title: "Remote Desktop is enabled (fDenyTSConnections = 0, policy included)",
	Severity: StatusWarn, OS: []string{FamilyWindows}, Live: true, Doc: docWindowsVHD, Probe: networkRDPProbe})
