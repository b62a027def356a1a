package agent

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/mounts"
)

// freezeTypes are the file system types the Linux snapshot extension
// freezes (FsFreezer.should_skip in Azure/azure-linux-extensions
// VMBackup/main/fsfreezer.py); every other mount is skipped.
var freezeTypes = map[string]bool{"ext3": true, "ext4": true, "xfs": true, "btrfs": true}

// pseudoTypes are kernel and memory file systems that hold no disk data,
// left out of the "not frozen" report.
var pseudoTypes = map[string]bool{
	"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "tmpfs": true, "ramfs": true,
	"cgroup": true, "cgroup2": true, "pstore": true, "bpf": true, "tracefs": true, "debugfs": true,
	"securityfs": true, "configfs": true, "fusectl": true, "mqueue": true, "hugetlbfs": true,
	"autofs": true, "binfmt_misc": true, "efivarfs": true, "rpc_pipefs": true, "nsfs": true,
	"selinuxfs": true, "swap": true, "overlay": true, "squashfs": true, "iso9660": true,
	"fuse.gvfsd-fuse": true, "fuse.portal": true, "none": true,
}

// FreezePlan is what the snapshot will do with a mount table.
type FreezePlan struct {
	// Frozen are the mount points that will be frozen.
	Frozen []string
	// Duplicates are frozen mount points that appear more than once: the
	// second freeze of the same file system fails (UserErrorFsFreezeFailed).
	Duplicates []string
	// Unfrozen are disk-backed mounts of other types, "target (type)".
	Unfrozen []string
	// Skipped are freezable mounts listed in MountsToSkip.
	Skipped []string
}

// PlanFreeze works out, as the extension does, which mounts the snapshot
// freezes: ext3, ext4, xfs and btrfs mounts that are not loop devices and
// not in skip (compared as written, as the extension does). An fstab entry
// whose type is "auto" or empty is reported as unknown.
func PlanFreeze(ms []mounts.Mount, skip []string) FreezePlan {
	skipSet := map[string]bool{}
	for _, s := range skip {
		skipSet[s] = true
	}
	var p FreezePlan
	seen := map[string]int{}
	for _, m := range ms {
		if !strings.HasPrefix(m.Target, "/") {
			continue // fstab swap ("none", "swap")
		}
		t := path.Clean(m.Target)
		typ := m.FSType
		switch {
		case freezeTypes[typ] && !strings.HasPrefix(m.Source, "/dev/loop") && !m.HasOption("loop"):
			if skipSet[m.Target] || skipSet[t] {
				p.Skipped = append(p.Skipped, t)
				continue
			}
			seen[t]++
			if seen[t] == 1 {
				p.Frozen = append(p.Frozen, t)
			} else if seen[t] == 2 {
				p.Duplicates = append(p.Duplicates, t)
			}
		case freezeTypes[typ]:
			p.Unfrozen = append(p.Unfrozen, t+" ("+typ+" on a loop device)")
		case pseudoTypes[typ] || strings.HasPrefix(typ, "fuse.") && pseudoTypes[typ]:
		case typ == "" || typ == "auto":
			p.Unfrozen = append(p.Unfrozen, t+" (type not given: frozen only if it turns out ext3/ext4/xfs/btrfs)")
		default:
			p.Unfrozen = append(p.Unfrozen, t+" ("+typ+")")
		}
	}
	sort.Strings(p.Duplicates)
	return p
}

// backupFreezeProbe reports the file systems the snapshot will freeze.
// Duplicate mount points among them fail (UserErrorFsFreezeFailed); mounts
// of other types are listed as not frozen (crash-consistent only).
func backupFreezeProbe(_ context.Context, t *Target) Check {
	ms, src, err := mountTable(t)
	if err != nil && len(ms) == 0 {
		return Check{Status: StatusWarn, Message: "cannot read the mount table: " + err.Error()}
	}
	var skip []string
	if data, err := t.Root.ReadFile(PathVMBackupConf, 1<<20); err == nil {
		if ini, err := ParseINI(data); err == nil {
			skip = VMBackupSettings(ini).MountsToSkip
		}
	}
	p := PlanFreeze(ms, skip)
	var extra []string
	if len(p.Skipped) > 0 {
		extra = append(extra, "skipped by MountsToSkip: "+strings.Join(p.Skipped, ", "))
	}
	if len(p.Unfrozen) > 0 {
		extra = append(extra, "not frozen (crash-consistent only): "+strings.Join(p.Unfrozen, ", "))
	}
	tail := ""
	if len(extra) > 0 {
		tail = "; " + strings.Join(extra, "; ")
	}
	switch {
	case len(p.Duplicates) > 0:
		return Check{Status: StatusFail,
			Message: fmt.Sprintf("UserErrorFsFreezeFailed: %s mounted more than once (%s): the second freeze of the same file system fails%s",
				strings.Join(p.Duplicates, ", "), src, tail),
			Fix: dupFix(t)}
	case len(p.Frozen) == 0 && !t.Live && len(ms) == 0:
		return Check{Status: StatusPass, Message: "no file systems listed in " + src + ": the snapshot freezes what is mounted when the image boots (ext3, ext4, xfs, btrfs)"}
	case len(p.Frozen) == 0:
		return Check{Status: StatusWarn,
			Message: "no ext3, ext4, xfs or btrfs file system to freeze (" + src + "): backups are crash-consistent only" + tail,
			Fix:     "use ext4, xfs or btrfs for the data Azure Backup must capture consistently"}
	}
	return Check{Status: StatusPass, Message: fmt.Sprintf("the snapshot freezes %s (%s)%s", strings.Join(p.Frozen, ", "), src, tail)}
}

func dupFix(t *Target) string {
	if t.Live {
		return "unmount the extra mounts and remove the duplicate lines from /etc/fstab (findmnt -D lists duplicates), or add the mount point to MountsToSkip in " + PathVMBackupConf
	}
	return "remove the duplicate lines from " + t.Root.Join("/etc/fstab") + ", or add the mount point to MountsToSkip in " + t.Root.Join(PathVMBackupConf)
}
