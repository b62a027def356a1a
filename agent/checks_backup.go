package agent

// The backup path: whether a snapshot is running now.
const IDBackupIdle CheckID = "backup.idle"

var _ = declare(Def{ID: IDBackupIdle, Title: "no Azure Backup snapshot is running (the agent may be changed now)",
	Severity: StatusWarn, OS: []string{FamilyLinux, FamilyWindows}, Live: true, Image: true, Doc: docBackupPrepare})
