// Package bootcfg finds out which Linux kernel a machine or image will boot
// and how: the default GRUB entry (grub.cfg menu entries and submenus, the
// saved entry in grubenv, BootLoaderSpec entries), else the newest
// /boot/vmlinuz-*; that kernel's initramfs, its build configuration
// (/boot/config-<ver>) and its command line, and the command line
// /etc/default/grub gives the next grub-mkconfig. Parsers take bytes;
// the readers take an fsroot.Root.
package bootcfg

import (
	"strconv"
	"strings"
)

// Entry is one bootable GRUB menu entry (or BootLoaderSpec entry).
type Entry struct {
	// Title is the menu title; ID the --id (or the BLS file name).
	Title, ID string
	// Path is the position in the menu: "2" or "1>0" inside a submenu.
	Path string
	// Linux is the kernel image as the entry names it, relative to the
	// file system GRUB reads it from ("/vmlinuz-6.1.0-13-amd64" or
	// "/boot/vmlinuz-...").
	Linux string
	// Args is the kernel command line of the entry (after the image).
	Args string
	// Initrds are the initrd files the entry loads, in order.
	Initrds []string
}

// Menu is what a grub.cfg says.
type Menu struct {
	// Entries in menu order, submenus flattened (their Path says where).
	Entries []Entry
	// Top counts top-level items (entries and submenus) for Path "N".
	Top int
	// Default is the value of `set default=` that applies when no one-time
	// entry is pending: "0", "${saved_entry}", a title or id, "1>2".
	Default string
	// BLS is true when the file loads BootLoaderSpec entries (blscfg).
	BLS bool
	// Vars are the plain `set NAME=VALUE` assignments (last one wins).
	Vars map[string]string
	// Submenus maps each submenu's position ("1") to its title and id.
	Submenus map[string][2]string
}

// ParseGrubCfg reads a grub.cfg as grub-mkconfig writes it: menuentry and
// submenu blocks, `set default=`, `set NAME=VALUE`, blscfg. It is a
// reader of that output, not a GRUB script interpreter: conditions are
// not evaluated (the one-time ${next_entry} default is ignored).
func ParseGrubCfg(data []byte) Menu {
	m := Menu{Vars: map[string]string{}, Submenus: map[string][2]string{}}
	type frame struct {
		kind  string // "menuentry", "submenu", "other"
		entry *Entry
		path  string
		n     int // children seen (for submenus)
	}
	var stack []frame
	inMenu := func() (*frame, bool) {
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i].kind == "menuentry" {
				return &stack[i], true
			}
		}
		return nil, false
	}
	parentPath := func() (string, *int) {
		for i := len(stack) - 1; i >= 0; i-- {
			if stack[i].kind == "submenu" {
				return stack[i].path + ">", &stack[i].n
			}
		}
		return "", &m.Top
	}
	for _, line := range strings.Split(string(data), "\n") {
		words := shellWords(line)
		if len(words) == 0 {
			continue
		}
		opens := strings.HasSuffix(strings.TrimSpace(line), "{")
		switch w := words[0]; {
		case w == "menuentry" || w == "submenu":
			pre, n := parentPath()
			e := Entry{Path: pre + strconv.Itoa(*n)}
			*n++
			args := words[1:]
			if len(args) > 0 && args[len(args)-1] == "{" {
				args = args[:len(args)-1]
			}
			for i := 0; i < len(args); i++ {
				a := args[i]
				switch {
				case a == "--id" || a == "$menuentry_id_option":
					if i+1 < len(args) {
						e.ID = args[i+1]
						i++
					}
				case strings.HasPrefix(a, "--id="):
					e.ID = strings.TrimPrefix(a, "--id=")
				case strings.HasPrefix(a, "--"):
					// --class X, --unrestricted, --users X: skip the value of
					// those that take one.
					if (a == "--class" || a == "--users" || a == "--hotkey") && i+1 < len(args) {
						i++
					}
				case e.Title == "":
					e.Title = a
				}
			}
			if w == "submenu" {
				stack = append(stack, frame{kind: "submenu", path: e.Path})
				m.Submenus[e.Path] = [2]string{e.Title, e.ID}
				continue
			}
			stack = append(stack, frame{kind: "menuentry", entry: &e, path: e.Path})
			continue
		case w == "}":
			if len(stack) == 0 {
				continue
			}
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if top.kind == "menuentry" {
				m.Entries = append(m.Entries, *top.entry)
			}
			continue
		case w == "linux" || w == "linux16" || w == "linuxefi" || w == "kernel":
			if f, ok := inMenu(); ok && len(words) > 1 {
				f.entry.Linux = words[1]
				f.entry.Args = strings.Join(words[2:], " ")
			}
		case w == "initrd" || w == "initrd16" || w == "initrdefi":
			if f, ok := inMenu(); ok {
				f.entry.Initrds = append(f.entry.Initrds, words[1:]...)
			}
		case w == "blscfg":
			m.BLS = true
		case w == "set" && len(words) > 1:
			name, val, ok := strings.Cut(words[1], "=")
			if !ok {
				break
			}
			if _, in := inMenu(); in {
				break
			}
			if name == "default" {
				if val != "${next_entry}" && val != "$next_entry" {
					m.Default = val
				}
				break
			}
			m.Vars[name] = val
		}
		if opens && words[0] != "menuentry" && words[0] != "submenu" {
			// if/function/for blocks: tracked so their "}" is not taken
			// for an entry's end.
			stack = append(stack, frame{kind: "other"})
		}
	}
	return m
}

// Find returns the entry that a GRUB default value names: a menu
// position ("0", "1>2"), an entry's id or title, or "submenu>entry" by
// titles or ids.
func (m Menu) Find(def string) (Entry, bool) {
	if def == "" {
		def = "0"
	}
	for _, e := range m.Entries {
		if e.Path == def || e.ID == def || e.Title == def {
			return e, true
		}
	}
	// "Advanced options for Debian GNU/Linux>Debian GNU/Linux, with Linux
	// 6.1.0-13-amd64" or ids joined by ">": translate each part.
	parts := strings.Split(def, ">")
	if len(parts) < 2 {
		return Entry{}, false
	}
	for _, e := range m.Entries {
		p := strings.Split(e.Path, ">")
		if len(p) != len(parts) {
			continue
		}
		ok := true
		for i := range p {
			pos := strings.Join(p[:i+1], ">")
			if parts[i] == p[i] {
				continue
			}
			if i == len(p)-1 {
				if parts[i] != e.ID && parts[i] != e.Title {
					ok = false
				}
				continue
			}
			sm := m.Submenus[pos]
			if parts[i] != sm[0] && parts[i] != sm[1] {
				ok = false
			}
		}
		if ok {
			return e, true
		}
	}
	return Entry{}, false
}

// ParseGrubEnv reads a grubenv block (NAME=VALUE lines, '#' padding).
func ParseGrubEnv(data []byte) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok && k != "" {
			out[k] = v
		}
	}
	return out
}

// shellWords splits a GRUB script line into words as GRUB does for the
// commands read here: single and double quotes, backslash escapes, '#'
// comments at a word start.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	in := false
	var quote byte
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			} else if c == '\\' && quote == '"' && i+1 < len(line) {
				i++
				cur.WriteByte(line[i])
			} else {
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote = c
			in = true
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			in = true
		case c == ' ' || c == '\t' || c == '\r' || c == ';':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case c == '#' && !in:
			i = len(line)
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words
}
