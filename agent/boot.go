package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/bootcfg"
	"github.com/agentkeeper/agentkeeper/platform/initramfs"
	"github.com/agentkeeper/agentkeeper/platform/mounts"
)

// hvDriver is one Hyper-V driver a Linux guest needs at boot.
type hvDriver struct {
	Module, Config, What string
}

// hvDrivers are the drivers Azure needs before the root file system is
// mounted: the bus, the disk and the NIC.
var hvDrivers = []hvDriver{
	{"hv_vmbus", "CONFIG_HYPERV", "the VMBus"},
	{"hv_storvsc", "CONFIG_HYPERV_STORAGE", "the disk"},
	{"hv_netvsc", "CONFIG_HYPERV_NET", "the NIC"},
}

const hvModuleList = "hv_vmbus hv_storvsc hv_netvsc"

// bootHyperVProbe judges whether the kernel that boots can see Azure's disk
// and NIC: each driver built in (/boot/config-<ver> =y, or modules.builtin)
// or, as a module, inside that kernel's initramfs.
func bootHyperVProbe(_ context.Context, t *Target) Check {
	k, err := bootcfg.DefaultKernel(t.Root)
	if errors.Is(err, bootcfg.ErrNoKernel) {
		if t.Live {
			return Check{Status: StatusSkip, Message: "no kernel in /boot: this system starts from a kernel outside its file system (a container, or a VM given its kernel by the host), so there is no boot to check"}
		}
		return Check{Status: StatusSkip, Message: fmt.Sprintf("no kernel in %s (a container root or a minimal chroot): nothing here boots, so there is nothing to check", t.Root.Join("/boot"))}
	}
	if err != nil {
		return Check{Status: StatusWarn, Message: "cannot tell which kernel boots: " + err.Error()}
	}
	who := fmt.Sprintf("kernel %s (%s)", k.Version, k.How)
	var notes []string
	cfg, cfgPath, cfgErr := bootcfg.KernelConfig(t.Root, k.Version)
	builtinDisk, _, _ := bootcfg.BuiltinModules(t.Root, k.Version)
	var builtin, need, absent []string
	for _, d := range hvDrivers {
		switch v := cfg[d.Config]; {
		case v == "y" || builtinDisk[d.Module]:
			builtin = append(builtin, d.Module)
		case cfgErr == nil && v != "m":
			absent = append(absent, fmt.Sprintf("%s (%s is %s)", d.Module, d.Config, orNotSet(v)))
		default:
			need = append(need, d.Module)
		}
	}
	switch {
	case cfgErr == nil:
		notes = append(notes, "configuration "+cfgPath)
	case errors.Is(cfgErr, fs.ErrNotExist):
		notes = append(notes, fmt.Sprintf("no /boot/config-%s: drivers looked for only in the initramfs", k.Version))
	default:
		notes = append(notes, "configuration unreadable: "+cfgErr.Error())
	}
	if len(absent) > 0 {
		return Check{Status: StatusFail,
			Message: fmt.Sprintf("%s was built without %s (%s): it cannot see Azure's disk and NIC", who, strings.Join(absent, ", "), strings.Join(notes, "; ")),
			Fix:     "boot a kernel built with the Hyper-V drivers (every distribution's standard or Azure kernel has them), then check again"}
	}
	if len(need) == 0 {
		return Check{Status: StatusPass, Message: fmt.Sprintf("%s: %s built in (%s)", who, hvModuleList, strings.Join(notes, "; "))}
	}
	if len(k.Initrds) == 0 {
		return Check{Status: StatusFail,
			Message: fmt.Sprintf("%s has no initramfs in /boot, and %s must load from one (%s)", who, strings.Join(need, ", "), strings.Join(notes, "; ")),
			Fix:     initramfsFix(t, k, "", need)}
	}
	found := map[string]string{}
	var unread []string
	builder := ""
	var looked []string
	for _, p := range k.Initrds {
		m, err := findInInitrd(t, p, k.Version, need)
		for mod, where := range m.Files {
			found[mod] = p + ": " + where
		}
		for mod, where := range m.Builtin {
			found[mod] = p + ": built in, listed in " + where
		}
		if builder == "" {
			builder = m.Builder
		}
		looked = append(looked, describeWalk(p, m.Summary))
		if err != nil {
			unread = append(unread, fmt.Sprintf("%s: %v", t.Root.Join(p), err))
		} else if m.Summary.Rest && !m.Summary.Stopped {
			unread = append(unread, fmt.Sprintf("%s: data after the last compressed archive was not read (%s)", t.Root.Join(p), m.Summary.RestErr))
		}
	}
	var missing []string
	for _, mod := range need {
		if _, ok := found[mod]; !ok {
			missing = append(missing, mod)
		}
	}
	if len(missing) == 0 {
		var where []string
		for _, mod := range need {
			where = append(where, mod+" in "+found[mod])
		}
		if len(builtin) > 0 {
			where = append(where, strings.Join(builtin, ", ")+" built in")
		}
		return Check{Status: StatusPass, Message: fmt.Sprintf("%s: %s", who, strings.Join(where, "; "))}
	}
	if len(unread) > 0 {
		return Check{Status: StatusWarn,
			Message: fmt.Sprintf("%s: %s not found in what could be read of the initramfs (%s); %s", who, strings.Join(missing, ", "), strings.Join(looked, "; "), strings.Join(unread, "; ")),
			Fix:     "make sure the initramfs is intact and holds " + strings.Join(missing, ", ") + ": " + initramfsFix(t, k, builder, missing)}
	}
	return Check{Status: StatusFail,
		Message: fmt.Sprintf("%s: %s missing from the initramfs (looked in %s; %s): Azure's %s would not be found at boot",
			who, strings.Join(missing, ", "), strings.Join(looked, "; "), strings.Join(notes, "; "), whatOf(missing)),
		Fix: initramfsFix(t, k, builder, missing)}
}

func orNotSet(v string) string {
	if v == "" || v == "n" {
		return "not set"
	}
	return v
}

// whatOf names what the missing drivers drive ("disk and NIC").
func whatOf(mods []string) string {
	var w []string
	for _, d := range hvDrivers {
		for _, m := range mods {
			if m == d.Module {
				w = append(w, strings.TrimPrefix(d.What, "the "))
			}
		}
	}
	if len(w) > 1 {
		return strings.Join(w[:len(w)-1], ", ") + " and " + w[len(w)-1]
	}
	return strings.Join(w, "")
}

// findInInitrd opens one initramfs inside the root and looks for mods.
func findInInitrd(t *Target, p, kver string, mods []string) (initramfs.Modules, error) {
	f, _, err := t.Root.Open(p)
	if err != nil {
		return initramfs.Modules{}, err
	}
	defer f.Close()
	return initramfs.FindModules(f, initramfs.Limits{}, kver, mods)
}

// describeWalk says what was read of one initramfs: "/boot/initrd.img-X
// (zstd, 1174 entries)".
func describeWalk(p string, s initramfs.Summary) string {
	var segs []string
	for _, sg := range s.Segments {
		segs = append(segs, string(sg.Compression))
	}
	if len(segs) == 0 {
		return p + " (empty)"
	}
	return fmt.Sprintf("%s (%s, %d entries)", p, strings.Join(segs, " + "), s.Entries)
}

// initramfsFix is the exact command that rebuilds the initramfs of kernel
// k with mods, for the tool that made it (told by the image's own files)
// or, when that is unknown, the one the system has.
func initramfsFix(t *Target, k bootcfg.Kernel, builder string, mods []string) string {
	list := strings.Join(mods, " ")
	if builder == "" {
		builder = initramfsTool(t)
	}
	initrd := "/boot/initrd.img-" + k.Version
	if len(k.Initrds) > 0 {
		initrd = k.Initrds[len(k.Initrds)-1]
	}
	switch builder {
	case "initramfs-tools":
		return fmt.Sprintf("add %s to %s (one a line), then run: %s",
			list, t.Root.Join("/etc/initramfs-tools/modules"), t.Cmd("update-initramfs -u -k "+k.Version))
	case "mkinitrd":
		return fmt.Sprintf("add %s to INITRD_MODULES in %s, then run: %s",
			list, t.Root.Join("/etc/sysconfig/kernel"), t.Cmd(fmt.Sprintf("mkinitrd -k /boot/vmlinuz-%s -i %s -m %q", k.Version, initrd, list)))
	default:
		if len(k.Initrds) == 0 {
			initrd = "/boot/initramfs-" + k.Version + ".img"
		}
		return fmt.Sprintf("run: %s; to keep them in images built later, add the line add_drivers+=\" %s \" to %s",
			t.Cmd(fmt.Sprintf("dracut -f --add-drivers %q %s %s", list, initrd, k.Version)), list, t.Root.Join("/etc/dracut.conf.d/azure-hyperv.conf"))
	}
}

// initramfsTool names the initramfs generator installed in the root.
func initramfsTool(t *Target) string {
	has := func(ps ...string) bool {
		for _, p := range ps {
			if t.Root.Exists(p) {
				return true
			}
		}
		return false
	}
	it := has("/usr/sbin/update-initramfs", "/sbin/update-initramfs")
	dr := has("/usr/bin/dracut", "/usr/sbin/dracut", "/sbin/dracut")
	switch {
	case it && !dr:
		return "initramfs-tools"
	case dr:
		if it && isDebianLike(t) {
			return "initramfs-tools"
		}
		return "dracut"
	case has("/sbin/mkinitrd", "/usr/sbin/mkinitrd"):
		return "mkinitrd"
	case isDebianLike(t):
		return "initramfs-tools"
	}
	return "dracut"
}

func isDebianLike(t *Target) bool {
	if t.OS.ID == "debian" || t.OS.ID == "ubuntu" {
		return true
	}
	for _, l := range t.OS.Like {
		if l == "debian" || l == "ubuntu" {
			return true
		}
	}
	return false
}

// kernelDevice matches the device names that change in Azure.
var kernelDevice = regexp.MustCompile(`^/dev/(sd|vd|xvd|hd)[a-z]+[0-9]*$`)

// bootFstabProbe fails fstab entries that mount by a kernel device name
// where a wrong or missing device stops the boot.
func bootFstabProbe(_ context.Context, t *Target) Check {
	ms, err := mounts.Fstab(t.Root)
	fstab := t.Root.Join("/etc/fstab")
	if err != nil && len(ms) == 0 {
		if errors.Is(err, fs.ErrNotExist) {
			return Check{Status: StatusPass, Message: "no /etc/fstab: nothing is mounted by device name"}
		}
		return Check{Status: StatusWarn, Message: "cannot read /etc/fstab: " + err.Error()}
	}
	var bad []string
	for _, m := range ms {
		if !kernelDevice.MatchString(m.Source) || hasOpt(m.Options, "noauto") {
			continue
		}
		critical := m.Target == "/" || m.Target == "/boot" || m.Target == "/boot/efi"
		if critical || !hasOpt(m.Options, "nofail") {
			bad = append(bad, fmt.Sprintf("%s on %s", m.Source, m.Target))
		}
	}
	if len(bad) == 0 {
		msg := fmt.Sprintf("%d fstab entries, none that stops the boot mounts by a kernel device name", len(ms))
		if len(ms) == 0 {
			msg = "fstab has no entries"
		}
		if err != nil {
			msg += " (lines skipped: " + err.Error() + ")"
		}
		return Check{Status: StatusPass, Message: msg}
	}
	find := "find each one's UUID with blkid on the machine the disk belongs to"
	if t.Live {
		find = "find each one's UUID with: blkid -s UUID -o value DEVICE"
	}
	return Check{Status: StatusFail,
		Message: fmt.Sprintf("%s mounts %s by kernel device name: device names change in Azure (the OS disk is not always sda, the resource disk takes a name), so the boot can stop", fstab, strings.Join(bad, ", ")),
		Fix:     fmt.Sprintf("in %s replace each device with UUID=... (or LABEL=...); %s; add nofail to mounts the machine can boot without", fstab, find)}
}

func hasOpt(opts []string, o string) bool {
	for _, x := range opts {
		if x == o {
			return true
		}
	}
	return false
}

// bootConsoleProbe warns when console=ttyS0 is not on the kernel command
// line that will boot: the default GRUB entry's, else what
// /etc/default/grub gives grub-mkconfig, else (live) the running kernel's.
func bootConsoleProbe(_ context.Context, t *Target) Check {
	const arg = "console=ttyS0"
	k, kerr := bootcfg.DefaultKernel(t.Root)
	dg := bootcfg.ReadDefaultGrub(t.Root)
	inDefault := bootcfg.HasArg(dg.Cmdline(), arg)
	fix := consoleFix(t, k, dg)
	switch {
	case kerr == nil && k.FromGrub && bootcfg.HasArg(k.Args, arg):
		return Check{Status: StatusPass, Message: fmt.Sprintf("%s is on the command line of %s in %s", arg, k.How, k.GrubCfg)}
	case kerr == nil && k.FromGrub && inDefault:
		return Check{Status: StatusWarn,
			Message: fmt.Sprintf("%s is in %s but not on the command line of %s in %s: grub.cfg was not regenerated", arg, strings.Join(dg.Files, ", "), k.How, k.GrubCfg),
			Fix:     "regenerate grub.cfg; run: " + grubMkconfig(t, k)}
	case kerr == nil && k.FromGrub:
		return Check{Status: StatusWarn,
			Message: fmt.Sprintf("%s is not on the command line of %s in %s: no serial console or boot diagnostics in Azure", arg, k.How, k.GrubCfg), Fix: fix}
	case inDefault:
		return Check{Status: StatusPass, Message: fmt.Sprintf("%s is in GRUB_CMDLINE_LINUX of %s (no grub.cfg to compare)", arg, strings.Join(dg.Files, ", "))}
	case len(dg.Files) > 0:
		return Check{Status: StatusWarn, Message: fmt.Sprintf("%s is not in GRUB_CMDLINE_LINUX of %s", arg, strings.Join(dg.Files, ", ")), Fix: fix}
	}
	if t.Live {
		if b, err := t.Root.ReadFile("/proc/cmdline", 64<<10); err == nil {
			if bootcfg.HasArg(string(b), arg) {
				return Check{Status: StatusPass, Message: arg + " is on the running kernel's command line (no GRUB configuration found)"}
			}
			return Check{Status: StatusWarn, Message: arg + " is not on the running kernel's command line, and no GRUB configuration was found to check", Fix: "add " + arg + ",115200n8 to the kernel command line of the boot loader"}
		}
	}
	return Check{Status: StatusSkip, Message: "no GRUB configuration (/boot/grub/grub.cfg, /boot/grub2/grub.cfg, /etc/default/grub): the kernel command line cannot be told"}
}

// consoleFix says how to put console=ttyS0 on the command line for good.
func consoleFix(t *Target, k bootcfg.Kernel, dg bootcfg.DefaultGrub) string {
	if t.Root.Exists("/usr/sbin/grubby") || t.Root.Exists("/sbin/grubby") {
		return "run: " + t.Cmd("grubby --update-kernel=ALL --args=console=ttyS0,115200n8") + " and add console=ttyS0,115200n8 to GRUB_CMDLINE_LINUX in " + t.Root.Join("/etc/default/grub")
	}
	return "add console=ttyS0,115200n8 to GRUB_CMDLINE_LINUX in " + t.Root.Join("/etc/default/grub") + ", then run: " + grubMkconfig(t, k)
}

// grubMkconfig is the command that regenerates grub.cfg on this system.
// In an image it needs the devices: grub-mkconfig probes the root device.
func grubMkconfig(t *Target, k bootcfg.Kernel) string {
	cfg := k.GrubCfg
	var cmd string
	switch {
	case t.Root.Exists("/usr/sbin/update-grub"):
		cmd = "update-grub"
	case t.Root.Exists("/usr/sbin/grub2-mkconfig") || t.Root.Exists("/sbin/grub2-mkconfig"):
		if cfg == "" {
			cfg = "/boot/grub2/grub.cfg"
		}
		cmd = "grub2-mkconfig -o " + cfg
	default:
		if cfg == "" {
			cfg = "/boot/grub/grub.cfg"
		}
		cmd = "grub-mkconfig -o " + cfg
	}
	if t.Live {
		return cmd
	}
	return t.Cmd(cmd) + " (with /dev, /proc and /sys bind-mounted into " + t.Root.Dir + ": grub-mkconfig probes the root device)"
}
