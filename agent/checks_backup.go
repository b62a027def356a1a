package agent

// The backup path: whether a snapshot is running now.
const IDBackupIdle CheckID = "backup.idle"

var _ = declare(Def{ID: IDBackupIdle, Title: "no Azure Backup snapshot is running (the agent may be changed now)",
	Severity: StatusWarn, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Image: true, Doc: docBackupPrepare})

// The backup path itself: what the snapshot extension will do and what it
// said last (issue 12; azure-agent-facts.md "Why Azure VM backups fail
// inside the VM").
const IDBackupScripts CheckID = "backup.scripts"

var _ = declare(Def{ID: IDBackupScripts, Title: "app-consistent pre/post scripts are configured as the snapshot extension requires (JSON root 600, scripts root 700, timeouts)",
	Severity: StatusFail, OS: []string{FamilyLinux}, Live: true, Image: true, Doc: docBackupAppLinux, Probe: backupScriptsProbe})

const IDBackupConfig CheckID = "backup.config"

var _ = declare(Def{ID: IDBackupConfig, Title: "/etc/azure/vmbackup.conf parses; its MountsToSkip names mount points",
	Severity: StatusFail, OS: []string{FamilyLinux}, Live: true, Image: true, Doc: docBackupTrouble, Probe: backupConfigProbe})

const IDBackupFreeze CheckID = "backup.freeze"

var _ = declare(Def{ID: IDBackupFreeze, Title: "the file systems the snapshot freezes (ext3/ext4/xfs/btrfs) have no duplicate mount points",
	Severity: StatusFail, OS: []string{FamilyLinux}, Live: true, Image: true, Doc: docVMBackupFreezer, Probe: backupFreezeProbe})

const IDBackupExtension CheckID = "backup.extension"

var _ = declare(Def{ID: IDBackupExtension, Title: "the snapshot extension's last status is not an error (and no agent version is blacklisted)",
	Severity: StatusFail, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Image: true, Doc: docBackupTrouble, Probe: backupExtensionProbe})
