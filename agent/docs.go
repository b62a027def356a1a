package agent

// The documents the catalogue's rules come from (azure-agent-facts.md names
// each source). One constant per document, so a moved page is one edit.
const (
	docBackupPrepare   = "https://learn.microsoft.com/azure/backup/backup-azure-arm-vms-prepare"
	docBackupMatrix    = "https://learn.microsoft.com/azure/backup/backup-support-matrix-iaas"
	docBackupSnapshot  = "https://learn.microsoft.com/azure/backup/backup-azure-troubleshoot-vm-backup-fails-snapshot-timeout"
	docBackupTrouble   = "https://learn.microsoft.com/azure/backup/backup-azure-vms-troubleshoot"
	docBackupAppLinux  = "https://learn.microsoft.com/azure/backup/backup-azure-linux-app-consistent"
	docAgentLinux      = "https://learn.microsoft.com/azure/virtual-machines/extensions/agent-linux"
	docAgentWindows    = "https://learn.microsoft.com/azure/virtual-machines/extensions/agent-windows"
	docUpdateLinux     = "https://learn.microsoft.com/azure/virtual-machines/extensions/update-linux-agent"
	docAgentVersionKB  = "https://learn.microsoft.com/troubleshoot/azure/virtual-machines/windows/support-extensions-agent-version"
	docWireServer      = "https://learn.microsoft.com/azure/virtual-network/what-is-ip-address-168-63-129-16"
	docIMDS            = "https://learn.microsoft.com/azure/virtual-machines/instance-metadata-service"
	docAzureDetect     = "https://learn.microsoft.com/azure/virtual-machines/linux/create-upload-generic"
	docWALinuxAgentSrc = "https://github.com/Azure/WALinuxAgent"
	docMigratePrepare  = "https://learn.microsoft.com/azure/migrate/prepare-for-migration"
	docGoWindows       = "https://go.dev/wiki/MinimumRequirements#windows"
	docVMBackupFreezer = "https://github.com/Azure/azure-linux-extensions/blob/master/VMBackup/main/fsfreezer.py"
	docAgentProxy      = "https://github.com/Azure/WALinuxAgent/blob/master/azurelinuxagent/common/utils/restutil.py"
	docVMAssist        = "https://github.com/Azure/azure-support-scripts/tree/master/vmassist"
)
