package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/mounts"
)

// PathVMBackupConf is the Linux snapshot extension's own configuration
// (HandlerUtil.get_value_from_configfile in Azure/azure-linux-extensions
// VMBackup: ConfigParser, section [SnapshotThread]).
const PathVMBackupConf = "/etc/azure/vmbackup.conf"

// vmbackupSection is the section the extension reads its settings from.
const vmbackupSection = "SnapshotThread"

// INI is a parsed INI file as Python's configparser reads it: section
// names are case-sensitive, keys are not (they are stored lower-cased).
type INI struct {
	// Sections maps a section name to its keys (lower-cased) and values.
	Sections map[string]map[string]string
	// Order lists the section names as they appear.
	Order []string
}

// Get returns the value of key in section and whether it is set.
func (c INI) Get(section, key string) (string, bool) {
	v, ok := c.Sections[section][strings.ToLower(key)]
	return v, ok
}

// ParseINI parses an INI file with the rules of Python 3's
// configparser.ConfigParser (the extension's reader): "[section]" headers,
// "key = value" or "key: value" (the first "=" or ":" splits), full-line
// "#" and ";" comments, indented lines continuing the previous value, keys
// compared without regard to case. As configparser does, it refuses a
// key before any section header, a line that is neither, and a section or
// key given twice; the extension then ignores the whole file and runs with
// its defaults. An error never quotes a value (it may be a secret).
func ParseINI(data []byte) (INI, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.IndexByte(data, 0) >= 0 {
		return INI{}, errors.New("binary data (NUL bytes)")
	}
	if !utf8.Valid(data) {
		return INI{}, errors.New("not UTF-8 text")
	}
	c := INI{Sections: map[string]map[string]string{}}
	var (
		cur     map[string]string
		lastKey string
		lastInd = -1
	)
	for i, raw := range strings.Split(string(data), "\n") {
		n := i + 1
		line := strings.TrimRight(raw, " \t\r")
		trimmed := strings.TrimLeft(line, " \t")
		indent := len(line) - len(trimmed)
		if trimmed == "" {
			// configparser keeps blank lines inside a multi-line value
			// but they end nothing; a later indented line still continues.
			continue
		}
		if trimmed[0] == '#' || trimmed[0] == ';' {
			continue
		}
		if cur != nil && lastKey != "" && indent > lastInd {
			cur[lastKey] += "\n" + trimmed
			continue
		}
		if strings.HasPrefix(trimmed, "[") {
			end := strings.Index(trimmed, "]")
			if end < 0 {
				return INI{}, fmt.Errorf("line %d: section header without \"]\"", n)
			}
			name := trimmed[1:end]
			if _, dup := c.Sections[name]; dup {
				return INI{}, fmt.Errorf("line %d: section [%s] given twice", n, clip(name, 40))
			}
			cur = map[string]string{}
			c.Sections[name] = cur
			c.Order = append(c.Order, name)
			lastKey, lastInd = "", -1
			continue
		}
		if cur == nil {
			return INI{}, fmt.Errorf("line %d: a setting before any [section] header", n)
		}
		j := strings.IndexAny(trimmed, "=:")
		if j <= 0 {
			return INI{}, fmt.Errorf("line %d: neither [section] nor key = value", n)
		}
		key := strings.ToLower(strings.TrimSpace(trimmed[:j]))
		if key == "" {
			return INI{}, fmt.Errorf("line %d: empty key", n)
		}
		if _, dup := cur[key]; dup {
			return INI{}, fmt.Errorf("line %d: key %q given twice in its section", n, clip(key, 40))
		}
		cur[key] = strings.TrimSpace(trimmed[j+1:])
		lastKey, lastInd = key, indent
	}
	return c, nil
}

// VMBackupConf is what the extension takes from vmbackup.conf's
// [SnapshotThread] section.
type VMBackupConf struct {
	// FSFreeze is the fsfreeze value as written ("" when unset).
	FSFreeze string
	// MountsToSkip are the mount points never frozen.
	MountsToSkip []string
	// SafeFreezeWait is SafeFreezeWaitInSeconds as written.
	SafeFreezeWait string
}

// VMBackupSettings takes the extension's settings from a parsed
// vmbackup.conf. MountsToSkip is split at commas as the extension does
// (fsfreezer.py: mounts_to_skip.split(',')); blanks around names are
// trimmed for the report.
func VMBackupSettings(c INI) VMBackupConf {
	var v VMBackupConf
	v.FSFreeze, _ = c.Get(vmbackupSection, "fsfreeze")
	v.SafeFreezeWait, _ = c.Get(vmbackupSection, "SafeFreezeWaitInSeconds")
	if s, ok := c.Get(vmbackupSection, "MountsToSkip"); ok {
		for _, m := range strings.Split(s, ",") {
			if m = strings.TrimSpace(m); m != "" {
				v.MountsToSkip = append(v.MountsToSkip, m)
			}
		}
	}
	return v
}

// backupConfigProbe reads vmbackup.conf and reports what it sets. A file
// the extension cannot parse fails (its settings are silently ignored); a
// MountsToSkip entry that is not a mount point warns.
func backupConfigProbe(_ context.Context, t *Target) Check {
	file := t.Root.Join(PathVMBackupConf)
	data, err := t.Root.ReadFile(PathVMBackupConf, fsroot.MaxSmallFile)
	if errors.Is(err, fs.ErrNotExist) {
		return Check{Status: StatusPass, Message: file + " is absent: the snapshot extension uses its defaults (fsfreeze on, no mount skipped)"}
	}
	if err != nil {
		return Check{Status: StatusFail, Message: "cannot read the snapshot extension's configuration: " + err.Error(),
			Fix: "make " + PathVMBackupConf + " a readable regular file, or remove it"}
	}
	ini, err := ParseINI(data)
	if err != nil {
		return Check{Status: StatusFail,
			Message: fmt.Sprintf("%s: %v: the snapshot extension ignores the whole file and runs with its defaults", file, err),
			Fix:     "correct " + PathVMBackupConf + ": a [SnapshotThread] section with key = value lines (fsfreeze, MountsToSkip, SafeFreezeWaitInSeconds), each key once"}
	}
	if _, ok := ini.Sections[vmbackupSection]; !ok {
		return Check{Status: StatusWarn,
			Message: fmt.Sprintf("%s has no [%s] section: the snapshot extension reads nothing from it", file, vmbackupSection),
			Fix:     "put the settings under a [" + vmbackupSection + "] header"}
	}
	v := VMBackupSettings(ini)
	desc := fmt.Sprintf("fsfreeze=%s, MountsToSkip=%s, SafeFreezeWaitInSeconds=%s",
		nonEmpty(v.FSFreeze, "(default)"), nonEmpty(strings.Join(v.MountsToSkip, ","), "(none)"), nonEmpty(v.SafeFreezeWait, "(default)"))
	var warns []string
	if v.SafeFreezeWait != "" {
		if n, err := strconv.Atoi(v.SafeFreezeWait); err != nil || n <= 0 {
			warns = append(warns, "SafeFreezeWaitInSeconds is not a positive whole number: the extension falls back to its default")
		}
	}
	if len(v.MountsToSkip) > 0 {
		ms, src, err := mountTable(t)
		if err != nil && len(ms) == 0 {
			warns = append(warns, "cannot tell whether the MountsToSkip entries are mount points: "+err.Error())
		} else {
			targets := map[string]bool{}
			for _, m := range ms {
				targets[path.Clean(m.Target)] = true
			}
			var notMounts []string
			for _, m := range v.MountsToSkip {
				// The extension compares the names as written.
				if !targets[m] {
					notMounts = append(notMounts, m)
				}
			}
			sort.Strings(notMounts)
			if len(notMounts) > 0 {
				warns = append(warns, fmt.Sprintf("MountsToSkip names %s, not a mount point in %s: nothing is skipped for it",
					strings.Join(notMounts, ", "), src))
			}
		}
	}
	if len(warns) > 0 {
		where := "as mounted (findmnt -rno TARGET)"
		if !t.Live {
			where = "as the image's " + t.Root.Join("/etc/fstab") + " names them"
		}
		return Check{Status: StatusWarn, Message: file + ": " + desc + "; " + strings.Join(warns, "; "),
			Fix: "list mount points exactly " + where + " in MountsToSkip, comma-separated, in " + file}
	}
	return Check{Status: StatusPass, Message: file + ": " + desc}
}

// mountTable reads the mounts the snapshot sees: the live mountinfo, or an
// image's fstab. It returns where it read them.
func mountTable(t *Target) ([]mounts.Mount, string, error) {
	if t.Live {
		ms, err := mounts.Live()
		return ms, "/proc/self/mountinfo", err
	}
	ms, err := mounts.Fstab(t.Root)
	return ms, t.Root.Join("/etc/fstab"), err
}
