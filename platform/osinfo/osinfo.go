// Package osinfo tells which operating system a root holds: Linux from
// os-release, Windows from the registry (live) or from the layout of a
// mounted image, and whether the machine is an Azure VM.
package osinfo

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/agentkeeper/agentkeeper/platform/filever"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/registry"
)

// Info is what Detect found.
type Info struct {
	// Family is "linux" or "windows".
	Family string
	// ID is os-release ID ("windows" on Windows); VersionID is VERSION_ID
	// or the Windows version (10.0.20348).
	ID, VersionID string
	// Like is ID_LIKE split on spaces.
	Like []string
	// Name is PRETTY_NAME (or NAME) or the Windows product name.
	Name string
	// Windows only: Build ("20348"), Edition ("ServerDatacenter"), Server.
	Build, Edition string
	Server         bool
	// EditionUnknown is true for an offline Windows image: its build is
	// read from kernel32.dll's version, but not whether it is a server or
	// a client (that is in the registry hive, which is not read).
	EditionUnknown bool
	// Source names the file or registry key read.
	Source string
}

// Families reported in Info.Family.
const (
	FamilyLinux   = "linux"
	FamilyWindows = "windows"
)

// Paths of os-release inside the root, in the order os-release(5) says to
// try them.
const (
	PathEtcOSRelease    = "/etc/os-release"
	PathUsrLibOSRelease = "/usr/lib/os-release"
)

// pathChassisAssetTag holds an Azure VM's SMBIOS chassis asset tag,
// azureChassisAssetTag (the tag Azure sets on every VM; cloud-init's Azure
// data source looks for the same value).
const (
	pathChassisAssetTag  = "/sys/class/dmi/id/chassis_asset_tag"
	azureChassisAssetTag = "7783-7084-3265-9085-8269-3286-77"
)

// maxAssetTagFile caps the read of chassis_asset_tag (sysfs reports 4096).
const maxAssetTagFile = 64 << 10

// ParseOSRelease parses os-release(5) content: KEY=VALUE lines, values
// optionally quoted with shell-style escapes. Comments, blank lines and
// lines that are not valid assignments are skipped; when an assignment is
// repeated the last one wins. Values that are not valid UTF-8 are read as
// Latin-1, so every returned string is valid UTF-8. It fails on content
// that is not os-release at all: empty, binary, UTF-16, or without a single
// assignment.
func ParseOSRelease(data []byte) (map[string]string, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, errors.New("empty: no KEY=VALUE assignments")
	}
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		return nil, errors.New("text is UTF-16 (it starts with a UTF-16 byte order mark): os-release must be UTF-8; convert it, e.g. with iconv -f UTF-16 -t UTF-8")
	}
	if i := bytes.IndexByte(data, 0); i >= 0 {
		if looksUTF16(data) {
			return nil, errors.New("text looks like UTF-16 without a byte order mark: os-release must be UTF-8")
		}
		return nil, fmt.Errorf("binary data, not text: NUL byte at offset %d", i)
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")) // a UTF-8 BOM is harmless
	if bad := invalidUTF8(data); bad >= 16 && bad*10 > len(data) {
		return nil, fmt.Errorf("binary data, not text: %d of %d bytes are not valid UTF-8", bad, len(data))
	}
	m := make(map[string]string)
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			line, data = data, nil
		}
		if k, v, ok := parseAssignment(string(line)); ok {
			m[k] = v
		}
	}
	if len(m) == 0 {
		return nil, errors.New("no KEY=VALUE assignments found")
	}
	return m, nil
}

// parseAssignment parses one os-release line. ok is false for blank lines,
// comments and anything that is not a valid assignment.
func parseAssignment(line string) (key, value string, ok bool) {
	line = strings.Trim(line, " \t\r\f\v")
	if line == "" || line[0] == '#' {
		return "", "", false
	}
	line = strings.TrimPrefix(line, "export ")
	eq := strings.IndexByte(line, '=')
	if eq <= 0 || !validKey(line[:eq]) {
		return "", "", false
	}
	key = line[:eq]
	value, ok = unquote(strings.TrimLeft(line[eq+1:], " \t"))
	if !ok {
		return "", "", false
	}
	if !utf8.ValidString(value) {
		value = latin1Fallback(value)
	}
	return key, value, true
}

// validKey reports whether k is a shell variable name.
func validKey(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return k != ""
}

// unquote reads a shell-style value: '...' is literal, "..." honours the
// escapes \" \\ \$ \` (a backslash before anything else is kept), and outside
// quotes a backslash escapes the next character. Unlike a shell it keeps
// unquoted inner whitespace; unquoted whitespace followed by '#' starts a
// comment. ok is false for an unterminated quote.
func unquote(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return "", false
			}
			b.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				}
				b.WriteByte(s[i])
			}
			if i >= len(s) {
				return "", false
			}
		case '\\':
			if i+1 < len(s) {
				i++
			}
			b.WriteByte(s[i])
		case ' ', '\t':
			rest := strings.TrimLeft(s[i:], " \t")
			if rest == "" || rest[0] == '#' {
				return b.String(), true
			}
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), true
}

// latin1Fallback keeps the valid UTF-8 sequences of s and reads every other
// byte as Latin-1 (ISO 8859-1), the usual legacy encoding of such files.
func latin1Fallback(s string) string {
	var b strings.Builder
	for len(s) > 0 {
		r, n := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && n == 1 {
			r = rune(s[0])
		}
		b.WriteRune(r)
		s = s[n:]
	}
	return b.String()
}

// invalidUTF8 counts the bytes of b that are not part of valid UTF-8.
func invalidUTF8(b []byte) int {
	bad := 0
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n == 1 {
			bad++
		}
		b = b[n:]
	}
	return bad
}

// looksUTF16 reports whether b looks like ASCII text in UTF-16 without a
// byte order mark: NULs in every other byte.
func looksUTF16(b []byte) bool {
	if len(b) < 4 {
		return false
	}
	n := min(len(b), 256) &^ 1
	even, odd := 0, 0
	for i := 0; i < n; i += 2 {
		if b[i] == 0 {
			even++
		}
		if b[i+1] == 0 {
			odd++
		}
	}
	half := n / 2
	return (odd*10 >= half*9 && even == 0) || (even*10 >= half*9 && odd == 0)
}

// currentVersionKey holds the running Windows' product name and build.
const currentVersionKey = `SOFTWARE\Microsoft\Windows NT\CurrentVersion`

// productOptionsKey holds ProductType: WinNT on clients, ServerNT or
// LanmanNT (a domain controller) on servers.
const productOptionsKey = `SYSTEM\CurrentControlSet\Control\ProductOptions`

// WindowsFromRegistry reads a running Windows' version from its registry
// (HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion and ProductOptions):
// registry.Live on the machine itself, a registry.Fake in tests.
func WindowsFromRegistry(reg registry.Reader) (Info, error) {
	source := `HKLM\` + currentVersionKey
	str := func(key, name string) string {
		s, err := reg.String(key, name)
		if err != nil {
			return ""
		}
		return s
	}
	v := windowsVersion{
		ProductName:      str(currentVersionKey, "ProductName"),
		EditionID:        str(currentVersionKey, "EditionID"),
		InstallationType: str(currentVersionKey, "InstallationType"),
		DisplayVersion:   str(currentVersionKey, "DisplayVersion"),
		CurrentVersion:   str(currentVersionKey, "CurrentVersion"),
		ProductType:      str(productOptionsKey, "ProductType"),
	}
	build, err := reg.String(currentVersionKey, "CurrentBuildNumber")
	if build == "" {
		if b, err2 := reg.String(currentVersionKey, "CurrentBuild"); err2 == nil {
			build, err = b, nil
		}
	}
	if build == "" && err != nil && !errors.Is(err, registry.ErrNotFound) {
		return Info{}, fmt.Errorf("read %s: %w", source, err)
	}
	if build == "" && err != nil {
		if _, kerr := reg.SubKeys(currentVersionKey); kerr != nil {
			return Info{}, fmt.Errorf("open registry key %s: %w", source, kerr)
		}
	}
	v.Build = build
	major, errMajor := reg.Uint(currentVersionKey, "CurrentMajorVersionNumber")
	minor, errMinor := reg.Uint(currentVersionKey, "CurrentMinorVersionNumber")
	if errMajor == nil && errMinor == nil {
		v.Major, v.Minor, v.HasMajorMinor = major, minor, true
	}
	return windowsInfo(v, source)
}

// DetectLive is Detect for a root that is the running system (live): a
// Windows one is read from reg, the running Windows' registry, whether it
// is this host (reg is then registry.Live) or a tree standing for it in a
// test; anything else as Detect does.
func DetectLive(r fsroot.Root, live bool, reg registry.Reader) (Info, error) {
	if live && reg != nil && (runtime.GOOS == "windows" && r.IsHost() || IsWindowsLayout(r)) {
		return WindowsFromRegistry(reg)
	}
	return Detect(r)
}

// IsWindowsLayout reports whether r holds Windows/System32 at its top (in
// any letter case).
func IsWindowsLayout(r fsroot.Root) bool {
	ents, err := r.ReadDir("/")
	if err != nil {
		return false
	}
	_, ok := findWindowsSystem32(r, ents)
	return ok
}

// Detect finds the operating system under r. On the live Windows host it
// reads the registry; otherwise a root holding Windows/System32 (in any
// letter case) is a Windows image, and anything else is read as Linux from
// /etc/os-release, falling back to /usr/lib/os-release.
func Detect(r fsroot.Root) (Info, error) {
	if runtime.GOOS == "windows" && r.IsHost() {
		return detectLiveWindows()
	}
	ents, err := r.ReadDir("/")
	if err != nil {
		return Info{}, fmt.Errorf("detect OS under %s: %w", r.Dir, err)
	}
	if sys, ok := findWindowsSystem32(r, ents); ok {
		info := Info{
			Family:         FamilyWindows,
			ID:             "windows",
			Name:           "Windows (offline image)",
			Source:         r.Join(sys),
			EditionUnknown: true,
		}
		if ver, build, src, ok := imageWindowsVersion(r, sys); ok {
			info.VersionID, info.Build = ver, build
			info.Source += "; version from " + src
		}
		return info, nil
	}
	return detectLinux(r)
}

// findWindowsSystem32 looks for a Windows/System32 directory at the top of
// r, matching names case-insensitively (mounted NTFS images vary). It
// returns the path inside the root with the names as found.
func findWindowsSystem32(r fsroot.Root, top []fs.DirEntry) (string, bool) {
	for _, e := range top {
		if !strings.EqualFold(e.Name(), "windows") || !isDir(r, "/"+e.Name()) {
			continue
		}
		win := "/" + e.Name()
		sub, err := r.ReadDir(win)
		if err != nil {
			continue
		}
		for _, s := range sub {
			if strings.EqualFold(s.Name(), "system32") && isDir(r, win+"/"+s.Name()) {
				return win + "/" + s.Name(), true
			}
		}
	}
	return "", false
}

// imageVersionFiles are the System32 files whose file version is the
// Windows version of an offline image (major.minor.build.revision).
var imageVersionFiles = []string{"kernel32.dll", "ntdll.dll"}

// imageWindowsVersion reads an offline image's Windows version ("6.3.9600")
// and build ("9600") from the version resource of kernel32.dll (or
// ntdll.dll) in sys.
func imageWindowsVersion(r fsroot.Root, sys string) (ver, build, source string, ok bool) {
	for _, name := range imageVersionFiles {
		p, found := findFold(r, sys, name)
		if !found {
			continue
		}
		host, err := r.Resolve(p)
		if err != nil {
			continue
		}
		fi, err := filever.ParseFile(host)
		if err != nil {
			continue
		}
		if v, b, ok := WindowsFileVersion(fi.FileVersion); ok {
			return v, b, "the file version of " + host, true
		}
	}
	return "", "", "", false
}

// WindowsFileVersion splits a system file's version "6.3.9600.17415" into
// the Windows version "6.3.9600" and build "9600"; ok is false when it is
// not a.b.c.d with a build of at least 1000 (no Windows NT build is lower).
func WindowsFileVersion(fv string) (ver, build string, ok bool) {
	f := strings.Split(fv, ".")
	if len(f) != 4 {
		return "", "", false
	}
	for _, x := range f {
		if _, err := strconv.ParseUint(x, 10, 16); err != nil {
			return "", "", false
		}
	}
	if n, _ := strconv.Atoi(f[2]); n < 1000 {
		return "", "", false
	}
	return f[0] + "." + f[1] + "." + f[2], f[2], true
}

func isDir(r fsroot.Root, p string) bool {
	fi, err := r.Stat(p)
	return err == nil && fi.IsDir()
}

// detectLinux reads os-release under r.
func detectLinux(r fsroot.Root) (Info, error) {
	var notFound []string
	for _, p := range []string{PathEtcOSRelease, PathUsrLibOSRelease} {
		data, err := r.ReadFile(p, fsroot.MaxSmallFile)
		if errors.Is(err, fs.ErrNotExist) {
			notFound = append(notFound, describeMissing(r, p))
			continue
		}
		if err != nil {
			return Info{}, fmt.Errorf("detect OS: %w", err)
		}
		kv, err := ParseOSRelease(data)
		if err != nil {
			return Info{}, fmt.Errorf("parse %s: %w", r.Join(p), err)
		}
		return infoFromOSRelease(kv, r.Join(p)), nil
	}
	return Info{}, fmt.Errorf("detect OS under %s: no os-release and no Windows/System32 (%s): is this an OS root, and is the image mounted?",
		r.Dir, strings.Join(notFound, "; "))
}

// describeMissing says why p is missing: absent, or a link to nothing.
func describeMissing(r fsroot.Root, p string) string {
	host := r.Join(p)
	if target, err := os.Readlink(host); err == nil {
		return fmt.Sprintf("%s is a broken symbolic link to %s", host, target)
	}
	return host + " does not exist"
}

// infoFromOSRelease fills Info from parsed os-release values.
func infoFromOSRelease(kv map[string]string, source string) Info {
	name := kv["PRETTY_NAME"]
	if name == "" {
		name = strings.TrimSpace(kv["NAME"] + " " + kv["VERSION"])
	}
	if name == "" {
		name = "Linux" // the os-release(5) default for NAME
	}
	like := strings.Fields(strings.ToLower(kv["ID_LIKE"]))
	return Info{
		Family:    FamilyLinux,
		ID:        strings.ToLower(strings.TrimSpace(kv["ID"])),
		VersionID: strings.TrimSpace(kv["VERSION_ID"]),
		Like:      like,
		Name:      name,
		Source:    source,
	}
}

// windowsVersion holds the values read from
// HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion.
type windowsVersion struct {
	ProductName, EditionID, InstallationType, DisplayVersion string
	// ProductType is ProductOptions' WinNT (client), ServerNT or LanmanNT.
	ProductType string
	// CurrentBuildNumber, and CurrentVersion ("6.3") for systems without
	// the numeric major/minor values.
	Build, CurrentVersion string
	Major, Minor          uint64
	HasMajorMinor         bool
}

// windowsInfo turns registry values into Info.
func windowsInfo(v windowsVersion, source string) (Info, error) {
	build := strings.TrimSpace(v.Build)
	if build == "" {
		return Info{}, fmt.Errorf("read %s: no CurrentBuildNumber value", source)
	}
	ver := "10.0"
	switch {
	case v.HasMajorMinor:
		ver = fmt.Sprintf("%d.%d", v.Major, v.Minor)
	case strings.TrimSpace(v.CurrentVersion) != "":
		ver = strings.TrimSpace(v.CurrentVersion)
	}
	// InstallationType (Client, Server, Server Core) where Windows has it,
	// else ProductType, else the edition's name.
	server := v.InstallationType != "Client"
	switch {
	case v.InstallationType != "":
	case v.ProductType != "":
		server = !strings.EqualFold(v.ProductType, "WinNT")
	default:
		server = strings.Contains(strings.ToLower(v.EditionID), "server")
	}
	name := strings.TrimSpace(v.ProductName)
	if name == "" {
		name = "Windows"
	}
	// Windows 11 kept "Windows 10" in ProductName; build 22000 is its first.
	if n, err := strconv.Atoi(build); err == nil && n >= 22000 && !server && strings.HasPrefix(name, "Windows 10") {
		name = "Windows 11" + strings.TrimPrefix(name, "Windows 10")
	}
	return Info{
		Family:    FamilyWindows,
		ID:        "windows",
		VersionID: ver + "." + build,
		Name:      name,
		Build:     build,
		Edition:   v.EditionID,
		Server:    server,
		Source:    source,
	}, nil
}

// OnAzure reports whether the machine is an Azure VM by its SMBIOS chassis
// asset tag. On an offline root it is always false. On Windows it reads the
// SMBIOS table from the firmware; elsewhere it reads
// /sys/class/dmi/id/chassis_asset_tag (a system without that file is not
// an Azure VM).
func OnAzure(r fsroot.Root) (bool, error) {
	if !r.IsHost() {
		return false, nil
	}
	if runtime.GOOS == "windows" {
		return onAzureWindows()
	}
	return onAzureLinux(r)
}

// onAzureLinux reads the chassis asset tag through r; tests give it a
// temporary root.
func onAzureLinux(r fsroot.Root) (bool, error) {
	data, err := r.ReadFile(pathChassisAssetTag, maxAssetTagFile)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read SMBIOS chassis asset tag: %w", err)
	}
	return isAzureAssetTag(string(data)), nil
}

// isAzureAssetTag compares a chassis asset tag, ignoring surrounding
// whitespace and padding, with Azure's.
func isAzureAssetTag(tag string) bool {
	return strings.Trim(tag, " \t\r\n\x00") == azureChassisAssetTag
}
