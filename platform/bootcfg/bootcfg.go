package bootcfg

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// ErrNoKernel is returned when the root has no kernel image in /boot.
var ErrNoKernel = errors.New("no kernel image (/boot/vmlinuz-*)")

// Kernel is the kernel a machine will boot.
type Kernel struct {
	// Version is the kernel release ("6.1.0-13-amd64").
	Version string
	// Image is its path inside the root ("/boot/vmlinuz-6.1.0-13-amd64").
	Image string
	// Initrds are the initramfs files that boot with it (paths inside the
	// root), from the GRUB entry or the distribution's naming; only files
	// that exist.
	Initrds []string
	// Args is the command line of the GRUB entry ("" when the kernel was
	// not chosen through GRUB).
	Args string
	// FromGrub is true when the kernel is the default GRUB entry's.
	FromGrub bool
	// How says in words how the kernel was chosen, for messages.
	How string
	// GrubCfg is the grub.cfg that was read ("" when none was found).
	GrubCfg string
}

// grubCfgs are where distributions keep grub.cfg (Debian/Ubuntu,
// RHEL/SUSE/Fedora); EFI system partition copies are looked at after.
var grubCfgs = []string{"/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"}

// DefaultKernel returns the kernel root boots: the default GRUB entry's
// when grub.cfg can be read and names a kernel that is there, else the
// newest /boot/vmlinuz-*. It returns ErrNoKernel (wrapped) when /boot
// holds no kernel at all.
func DefaultKernel(root fsroot.Root) (Kernel, error) {
	images, err := kernelImages(root)
	if err != nil {
		return Kernel{}, err
	}
	if len(images) == 0 {
		return Kernel{}, fmt.Errorf("%s: %w", root.Join("/boot"), ErrNoKernel)
	}
	newest := images[len(images)-1]
	k := Kernel{Image: "/boot/" + newest, Version: imageVersion(newest)}
	k.How = "the newest kernel in /boot"
	cfg, data := findGrubCfg(root)
	if cfg != "" {
		k.GrubCfg = cfg
		e, how, ok := defaultEntry(root, cfg, data)
		if ok {
			if img := resolveBoot(root, e.Linux); img != "" {
				k = Kernel{Image: img, Version: imageVersion(path.Base(img)), Args: e.Args, FromGrub: true, How: how, GrubCfg: cfg}
				for _, i := range e.Initrds {
					if p := resolveBoot(root, i); p != "" {
						k.Initrds = append(k.Initrds, p)
					}
				}
			} else {
				k.How = fmt.Sprintf("the newest kernel in /boot (%s names %s, which is not there)", how, e.Linux)
			}
		} else {
			k.How = fmt.Sprintf("the newest kernel in /boot (%s: %s)", cfg, how)
		}
	}
	if len(k.Initrds) == 0 {
		k.Initrds = initrdsFor(root, k.Version)
	}
	return k, nil
}

// kernelImages lists /boot/vmlinuz-* (rescue images left out), oldest
// version first.
func kernelImages(root fsroot.Root) ([]string, error) {
	ents, err := root.ReadDir("/boot")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if !strings.HasPrefix(n, "vmlinuz-") || strings.Contains(n, "rescue") || n == "vmlinuz-" {
			continue
		}
		if fi, err := root.Stat("/boot/" + n); err != nil || !fi.Mode().IsRegular() {
			continue
		}
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool { return VersionLess(imageVersion(out[i]), imageVersion(out[j])) })
	return out, nil
}

func imageVersion(base string) string {
	for _, p := range []string{"vmlinuz-", "vmlinux-", "kernel-"} {
		if strings.HasPrefix(base, p) {
			return strings.TrimPrefix(base, p)
		}
	}
	return base
}

// VersionLess compares kernel releases the way `sort -V` does: runs of
// digits as numbers, the rest as text ("6.1.0-9" < "6.1.0-13").
func VersionLess(a, b string) bool {
	for a != "" && b != "" {
		da, ra := splitRun(a)
		db, rb := splitRun(b)
		if isDigit(da[0]) && isDigit(db[0]) {
			x, y := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if len(x) != len(y) {
				return len(x) < len(y)
			}
			if x != y {
				return x < y
			}
		} else if da != db {
			return da < db
		}
		a, b = ra, rb
	}
	return len(a) < len(b)
}

func splitRun(s string) (string, string) {
	d := isDigit(s[0])
	i := 1
	for i < len(s) && isDigit(s[i]) == d {
		i++
	}
	return s[:i], s[i:]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// findGrubCfg returns the first grub.cfg that has menu entries or loads
// BLS entries, and its contents.
func findGrubCfg(root fsroot.Root) (string, []byte) {
	cands := append([]string(nil), grubCfgs...)
	if ents, err := root.ReadDir("/boot/efi/EFI"); err == nil {
		for _, e := range ents {
			cands = append(cands, "/boot/efi/EFI/"+e.Name()+"/grub.cfg")
		}
	}
	for _, c := range cands {
		data, err := root.ReadFile(c, fsroot.MaxSmallFile)
		if err != nil {
			continue
		}
		m := ParseGrubCfg(data)
		if len(m.Entries) > 0 || m.BLS {
			return c, data
		}
	}
	return "", nil
}

// defaultEntry picks the entry GRUB boots by default, and says how.
func defaultEntry(root fsroot.Root, cfg string, data []byte) (Entry, string, bool) {
	m := ParseGrubCfg(data)
	env := map[string]string{}
	if b, err := root.ReadFile(path.Join(path.Dir(cfg), "grubenv"), 64<<10); err == nil {
		env = ParseGrubEnv(b)
	}
	def := m.Default
	how := fmt.Sprintf("the default entry of %s", cfg)
	if def == "${saved_entry}" || def == "$saved_entry" || (m.BLS && def == "") {
		def = env["saved_entry"]
		if def != "" {
			how = fmt.Sprintf("the saved entry %q (%s)", def, path.Join(path.Dir(cfg), "grubenv"))
		}
	}
	if m.BLS {
		entries := blsEntries(root, env)
		if len(entries) > 0 {
			m.Entries = append(entries, m.Entries...)
		}
	}
	if def == "" {
		def = "0"
	}
	e, ok := m.Find(def)
	if !ok && def != "0" {
		// GRUB falls back to the first entry when the default names none.
		if e, ok = m.Find("0"); ok {
			how = fmt.Sprintf("the first entry of %s (its default %q names no entry)", cfg, def)
		}
	}
	if !ok {
		return Entry{}, "no bootable entry", false
	}
	if e.Title != "" {
		how += fmt.Sprintf(": %q", e.Title)
	}
	// $kernelopts (RHEL 8) and other grubenv variables on the command line.
	e.Args = expandVars(e.Args, func(name string) string {
		if v, ok := m.Vars[name]; ok {
			return v
		}
		return env[name]
	})
	return e, how, true
}

// blsEntries reads /boot/loader/entries/*.conf as GRUB's blscfg does,
// newest version first (its sort order), as entries 0, 1, ...
func blsEntries(root fsroot.Root, env map[string]string) []Entry {
	ents, err := root.ReadDir("/boot/loader/entries")
	if err != nil {
		return nil
	}
	type bls struct {
		e   Entry
		ver string
	}
	var all []bls
	for _, d := range ents {
		if !strings.HasSuffix(d.Name(), ".conf") {
			continue
		}
		data, err := root.ReadFile("/boot/loader/entries/"+d.Name(), 64<<10)
		if err != nil {
			continue
		}
		e, ver := ParseBLS(data)
		e.ID = strings.TrimSuffix(d.Name(), ".conf")
		all = append(all, bls{e, ver})
	}
	sort.SliceStable(all, func(i, j int) bool { return VersionLess(all[j].ver, all[i].ver) })
	out := make([]Entry, len(all))
	for i, b := range all {
		b.e.Path = fmt.Sprint(i)
		out[i] = b.e
	}
	return out
}

// ParseBLS reads one BootLoaderSpec entry: title, version, linux, initrd
// (repeatable), options.
func ParseBLS(data []byte) (Entry, string) {
	var e Entry
	var ver string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, " ")
		v = strings.TrimSpace(v)
		switch k {
		case "title":
			e.Title = v
		case "version":
			ver = v
		case "linux":
			e.Linux = v
		case "initrd":
			e.Initrds = append(e.Initrds, strings.Fields(v)...)
		case "options":
			e.Args = strings.TrimSpace(e.Args + " " + v)
		}
	}
	if ver == "" {
		ver = imageVersion(path.Base(e.Linux))
	}
	return e, ver
}

// expandVars replaces $NAME and ${NAME} with get(NAME).
func expandVars(s string, get func(string) string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		j, name := i+1, ""
		if s[j] == '{' {
			k := strings.IndexByte(s[j:], '}')
			if k < 0 {
				b.WriteByte(s[i])
				continue
			}
			name, i = s[j+1:j+k], j+k
		} else {
			k := j
			for k < len(s) && (s[k] == '_' || isDigit(s[k]) || (s[k]|0x20 >= 'a' && s[k]|0x20 <= 'z')) {
				k++
			}
			if k == j {
				b.WriteByte(s[i])
				continue
			}
			name, i = s[j:k], k-1
		}
		b.WriteString(get(name))
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// resolveBoot finds a file a GRUB entry names inside root: GRUB reads it
// from the partition it was installed for, which is /boot when /boot is
// its own file system ("/vmlinuz-X") or / ("/boot/vmlinuz-X"). A device
// prefix ("(hd0,gpt2)") is dropped. It returns "" when it is not there.
func resolveBoot(root fsroot.Root, p string) string {
	if i := strings.Index(p, ")"); strings.HasPrefix(p, "(") && i > 0 {
		p = p[i+1:]
	}
	if p == "" {
		return ""
	}
	p = path.Clean("/" + p)
	for _, c := range []string{p, path.Join("/boot", p)} {
		if fi, err := root.Stat(c); err == nil && fi.Mode().IsRegular() {
			return c
		}
	}
	return ""
}

// initrdsFor returns the initramfs of kernel ver under the names the
// distributions use: initrd.img-<ver> (Debian, Ubuntu),
// initramfs-<ver>.img (RHEL, Fedora, Arch-like), initrd-<ver> (SUSE).
func initrdsFor(root fsroot.Root, ver string) []string {
	for _, n := range []string{"initrd.img-" + ver, "initramfs-" + ver + ".img", "initrd-" + ver, "initrd-" + ver + ".img"} {
		p := "/boot/" + n
		if fi, err := root.Stat(p); err == nil && fi.Mode().IsRegular() {
			return []string{p}
		}
	}
	return nil
}
