package initramfs

import (
	"bufio"
	"io"
	"path"
	"strings"
)

// moduleSuffixes are the ways a kernel module file is stored.
var moduleSuffixes = []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"}

// maxBuiltinList caps how much of a modules.builtin list is read.
const maxBuiltinList = 1 << 20

// ModuleName returns the module name of a module file path
// (".../hv_vmbus.ko.zst" is "hv_vmbus"), with '-' written as '_' as the
// kernel does, or "" when p is not a module file.
func ModuleName(p string) string {
	base := path.Base(p)
	for _, s := range moduleSuffixes {
		if strings.HasSuffix(base, s) && len(base) > len(s) {
			return NormModule(strings.TrimSuffix(base, s))
		}
	}
	return ""
}

// NormModule writes a module name the way the kernel compares them: '-'
// and '_' are the same.
func NormModule(name string) string { return strings.ReplaceAll(name, "-", "_") }

// Modules is what FindModules found.
type Modules struct {
	// Files maps each wanted module found as a file to its path in the image.
	Files map[string]string
	// Builtin maps each wanted module that the image's modules.builtin
	// lists (compiled into the kernel) to that list's path.
	Builtin map[string]string
	// Builder is the tool that made the image, told by its own files:
	// "dracut" (usr/lib/dracut), "initramfs-tools" (conf/initramfs.conf,
	// scripts/init-top), or "" when no entry read said so.
	Builder string
	// Summary is what the walk read.
	Summary Summary
}

// builderOf names the initramfs generator an entry belongs to, if any.
func builderOf(name string) string {
	switch {
	case strings.HasPrefix(name, "usr/lib/dracut/"), strings.HasPrefix(name, "lib/dracut/"):
		return "dracut"
	case name == "conf/initramfs.conf", strings.HasPrefix(name, "scripts/init-top/"):
		return "initramfs-tools"
	}
	return ""
}

// Has reports whether module is in the image as a file or listed as built in.
func (m Modules) Has(module string) bool {
	module = NormModule(module)
	_, f := m.Files[module]
	_, b := m.Builtin[module]
	return f || b
}

// FindModules walks the image read from r for the named kernel modules
// and stops as soon as every one is found, as a module file or in a
// modules.builtin list. With kver set, only files under
// lib/modules/<kver>/ count (modules of another kernel cannot be loaded).
// On error the result still holds what was found before it.
func FindModules(r io.Reader, lim Limits, kver string, names []string) (Modules, error) {
	m := Modules{Files: map[string]string{}, Builtin: map[string]string{}}
	want := map[string]bool{}
	for _, n := range names {
		want[NormModule(n)] = true
	}
	left := len(want)
	found := func(mod string) bool { return want[mod] && !m.Has(mod) }
	sum, err := Walk(r, lim, func(h Header, body io.Reader) (bool, error) {
		if left == 0 {
			return true, nil
		}
		if m.Builder == "" {
			m.Builder = builderOf(h.Name)
		}
		if !h.Regular() || !underKernel(h.Name, kver) {
			return false, nil
		}
		if mod := ModuleName(h.Name); mod != "" {
			if found(mod) {
				m.Files[mod] = h.Name
				left--
			}
			return left == 0, nil
		}
		if path.Base(h.Name) == "modules.builtin" && h.Size <= maxBuiltinList {
			sc := bufio.NewScanner(body)
			sc.Buffer(make([]byte, 0, 4096), 4096)
			for sc.Scan() {
				if mod := ModuleName(strings.TrimSpace(sc.Text())); mod != "" && found(mod) {
					m.Builtin[mod] = h.Name
					left--
				}
			}
			// A line too long for the scanner ends the list early; what
			// was read counts, the rest of the file is skipped by Walk.
			return left == 0, nil
		}
		return false, nil
	})
	m.Summary = sum
	return m, err
}

// underKernel reports whether name is under lib/modules/<kver>/ (or
// anywhere when kver is empty).
func underKernel(name, kver string) bool {
	if kver == "" {
		return true
	}
	dir := "lib/modules/" + kver + "/"
	return strings.HasPrefix(name, dir) || strings.HasPrefix(name, "usr/"+dir)
}
