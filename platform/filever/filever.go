// Package filever reads the version resource of Windows PE files
// (WaAppAgent.exe): through GetFileVersionInfo on Windows, and with a pure-Go
// parser of the PE file everywhere (mounted images, tests).
package filever

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"unicode/utf16"
)

// Info is a file's version resource.
type Info struct {
	// FileVersion and ProductVersion are the fixed (binary) versions, a.b.c.d.
	FileVersion, ProductVersion string
	// ProductVersionString is the "ProductVersion" string-table value, when present.
	ProductVersionString string
}

// Errors that ParsePE, ParseFile and Read wrap, for errors.Is.
var (
	// ErrNotPE means the file is not a PE (Windows executable) file at all.
	ErrNotPE = errors.New("not a PE file")
	// ErrNoVersion means the file is a PE file without a version resource.
	ErrNoVersion = errors.New("no version resource")
	// ErrTruncated means a structure of the file runs past its end.
	ErrTruncated = errors.New("truncated PE file")
	// ErrMalformed means a structure of the file is inconsistent.
	ErrMalformed = errors.New("malformed PE file")
)

// Limits of the parser: it never reads or allocates more than these,
// whatever the file's headers claim.
const (
	// MaxFileSize is the largest file ParsePE accepts.
	MaxFileSize = 512 << 20
	// maxVersionSize caps the version resource's data.
	maxVersionSize = 1 << 20
	// maxDirEntries caps the entries of one resource directory table.
	maxDirEntries = 4096
)

// Resource type and name the version resource lives under (winuser.h:
// RT_VERSION, VS_VERSION_INFO).
const (
	rtVersion     = 16
	vsVersionInfo = 1
	vsFFISig      = 0xFEEF04BD
	vsFFISize     = 52
)

// ParseFile reads the version resource of the file at host path p with the
// pure-Go parser, on every OS (offline images, mounted disks).
func ParseFile(p string) (Info, error) {
	f, err := os.Open(p)
	if err != nil {
		return Info{}, fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Info{}, fmt.Errorf("read %s: %w", p, err)
	}
	if !st.Mode().IsRegular() {
		return Info{}, fmt.Errorf("read %s: not a regular file", p)
	}
	info, err := ParsePE(f, st.Size())
	if err != nil {
		return Info{}, fmt.Errorf("read %s: %w", p, err)
	}
	return info, nil
}

// ParsePE reads the version resource of a PE file of size bytes: the fixed
// file and product versions of VS_FIXEDFILEINFO and the "ProductVersion"
// string of the first string table. It is safe on any input: it bounds every
// read by size and by fixed limits, and reports ErrNotPE, ErrNoVersion,
// ErrTruncated or ErrMalformed (wrapped) on bad input.
func ParsePE(r io.ReaderAt, size int64) (Info, error) {
	if size < 0 {
		return Info{}, fmt.Errorf("%w: negative size %d", ErrNotPE, size)
	}
	if size > MaxFileSize {
		return Info{}, fmt.Errorf("file too large for a PE file: %d bytes (limit %d)", size, MaxFileSize)
	}
	p := &peFile{r: r, size: size}
	if err := p.readHeaders(); err != nil {
		return Info{}, err
	}
	data, err := p.versionData()
	if err != nil {
		return Info{}, err
	}
	return parseVersionInfo(data)
}

// section is the part of a section header that maps RVAs to file offsets.
type section struct {
	name            string
	va, vsize       uint32
	rawOff, rawSize uint32
}

// peFile is a PE file being parsed: its size, section table and resource
// directory RVA.
type peFile struct {
	r        io.ReaderAt
	size     int64
	sections []section
	rsrcRVA  uint32
}

// readAt reads exactly n bytes at off, which must lie within the file.
func (p *peFile) readAt(off int64, n int, what string) ([]byte, error) {
	if off < 0 || n < 0 || off > p.size || int64(n) > p.size-off {
		return nil, fmt.Errorf("%w: %s (%d bytes at offset %d) ends past the end of the file (%d bytes)", ErrTruncated, what, n, off, p.size)
	}
	b := make([]byte, n)
	got, err := p.r.ReadAt(b, off)
	if got == n {
		return b, nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%w: %s: read %d of %d bytes at offset %d", ErrTruncated, what, got, n, off)
	}
	return nil, fmt.Errorf("read %s: %w", what, err)
}

func (p *peFile) readHeaders() error {
	if p.size < 64 {
		return fmt.Errorf("%w: %d bytes, too short for a DOS header", ErrNotPE, p.size)
	}
	dos, err := p.readAt(0, 64, "DOS header")
	if err != nil {
		return err
	}
	if dos[0] != 'M' || dos[1] != 'Z' {
		return fmt.Errorf("%w: no MZ signature", ErrNotPE)
	}
	lfanew := int64(binary.LittleEndian.Uint32(dos[0x3c:]))
	if lfanew+24 > p.size {
		return fmt.Errorf("%w: PE header offset %d is past the end of the file (%d bytes)", ErrNotPE, lfanew, p.size)
	}
	sig, err := p.readAt(lfanew, 4+20, "PE header")
	if err != nil {
		return err
	}
	if string(sig[:4]) != "PE\x00\x00" {
		return fmt.Errorf("%w: no PE signature at offset %d", ErrNotPE, lfanew)
	}
	coff := sig[4:]
	nsect := int(binary.LittleEndian.Uint16(coff[2:]))
	optSize := int(binary.LittleEndian.Uint16(coff[16:]))
	optOff := lfanew + 24
	if optSize < 2 {
		return fmt.Errorf("%w: optional header too small (%d bytes)", ErrMalformed, optSize)
	}
	opt, err := p.readAt(optOff, optSize, "optional header")
	if err != nil {
		return err
	}
	var nrvaOff, dirOff int
	switch magic := binary.LittleEndian.Uint16(opt); magic {
	case 0x10b: // PE32
		nrvaOff, dirOff = 92, 96
	case 0x20b: // PE32+
		nrvaOff, dirOff = 108, 112
	default:
		return fmt.Errorf("%w: unknown optional header magic 0x%x", ErrMalformed, magic)
	}
	const resDir = 2 // IMAGE_DIRECTORY_ENTRY_RESOURCE
	if optSize < dirOff+(resDir+1)*8 || binary.LittleEndian.Uint32(opt[nrvaOff:]) <= resDir {
		return fmt.Errorf("%w: no resource directory in the optional header", ErrNoVersion)
	}
	p.rsrcRVA = binary.LittleEndian.Uint32(opt[dirOff+resDir*8:])
	rsrcSize := binary.LittleEndian.Uint32(opt[dirOff+resDir*8+4:])
	if p.rsrcRVA == 0 || rsrcSize == 0 {
		return fmt.Errorf("%w: the file has no resources", ErrNoVersion)
	}

	st, err := p.readAt(optOff+int64(optSize), nsect*40, "section table")
	if err != nil {
		return err
	}
	p.sections = make([]section, nsect)
	for i := range p.sections {
		h := st[i*40:]
		s := section{
			name:    cString(h[:8]),
			vsize:   binary.LittleEndian.Uint32(h[8:]),
			va:      binary.LittleEndian.Uint32(h[12:]),
			rawSize: binary.LittleEndian.Uint32(h[16:]),
			rawOff:  binary.LittleEndian.Uint32(h[20:]),
		}
		if s.rawSize > 0 && int64(s.rawOff)+int64(s.rawSize) > p.size {
			return fmt.Errorf("%w: section %q data ends at offset %d, past the end of the file (%d bytes)",
				ErrTruncated, s.name, int64(s.rawOff)+int64(s.rawSize), p.size)
		}
		p.sections[i] = s
	}
	return nil
}

// offset maps the n bytes at rva to a file offset; they must lie in the file
// data of one section.
func (p *peFile) offset(rva uint32, n uint32, what string) (int64, error) {
	lo, hi := uint64(rva), uint64(rva)+uint64(n)
	for _, s := range p.sections {
		span := s.rawSize
		if s.vsize != 0 && s.vsize < span {
			span = s.vsize
		}
		if lo < uint64(s.va) || lo >= uint64(s.va)+uint64(max(s.vsize, s.rawSize)) {
			continue
		}
		if hi > uint64(s.va)+uint64(span) {
			return 0, fmt.Errorf("%w: %s at RVA 0x%x (%d bytes) runs past the file data of section %q", ErrMalformed, what, rva, n, s.name)
		}
		return int64(s.rawOff) + int64(rva-s.va), nil
	}
	return 0, fmt.Errorf("%w: %s at RVA 0x%x (%d bytes) lies outside every section", ErrMalformed, what, rva, n)
}

// readRVA reads n bytes at rva.
func (p *peFile) readRVA(rva, n uint32, what string) ([]byte, error) {
	off, err := p.offset(rva, n, what)
	if err != nil {
		return nil, err
	}
	return p.readAt(off, int(n), what)
}

// dirEntry is one IMAGE_RESOURCE_DIRECTORY_ENTRY.
type dirEntry struct {
	named  bool
	id     uint32
	subdir bool
	off    uint32 // relative to the resource directory
}

// readDir reads the resource directory table at off (relative to the
// resource directory) and its entries.
func (p *peFile) readDir(off uint32, level int) ([]dirEntry, error) {
	what := fmt.Sprintf("resource directory (level %d)", level)
	rva := uint64(p.rsrcRVA) + uint64(off)
	if rva+16 > 1<<32 {
		return nil, fmt.Errorf("%w: %s at RVA 0x%x runs past 4 GiB", ErrMalformed, what, rva)
	}
	hdr, err := p.readRVA(uint32(rva), 16, what)
	if err != nil {
		return nil, err
	}
	n := int(binary.LittleEndian.Uint16(hdr[12:])) + int(binary.LittleEndian.Uint16(hdr[14:]))
	if n > maxDirEntries {
		return nil, fmt.Errorf("%w: %s has %d entries (limit %d)", ErrMalformed, what, n, maxDirEntries)
	}
	if rva+16+uint64(n)*8 > 1<<32 {
		return nil, fmt.Errorf("%w: %s entries overflow", ErrMalformed, what)
	}
	b, err := p.readRVA(uint32(rva)+16, uint32(n)*8, what+" entries")
	if err != nil {
		return nil, err
	}
	es := make([]dirEntry, n)
	for i := range es {
		name := binary.LittleEndian.Uint32(b[i*8:])
		data := binary.LittleEndian.Uint32(b[i*8+4:])
		es[i] = dirEntry{
			named:  name&0x80000000 != 0,
			id:     name &^ 0x80000000,
			subdir: data&0x80000000 != 0,
			off:    data &^ 0x80000000,
		}
	}
	return es, nil
}

// versionData walks the resource tree type RT_VERSION → name (ID 1, else the
// first) → first language, and returns the resource's bytes.
func (p *peFile) versionData() ([]byte, error) {
	off := uint32(0)
	for level := 0; level < 3; level++ {
		es, err := p.readDir(off, level)
		if err != nil {
			return nil, err
		}
		var pick *dirEntry
		switch level {
		case 0:
			for i := range es {
				if !es[i].named && es[i].id == rtVersion {
					pick = &es[i]
					break
				}
			}
		case 1:
			for i := range es {
				if !es[i].named && es[i].id == vsVersionInfo {
					pick = &es[i]
					break
				}
			}
			if pick == nil && len(es) > 0 {
				pick = &es[0]
			}
		case 2:
			if len(es) > 0 {
				pick = &es[0]
			}
		}
		if pick == nil {
			return nil, ErrNoVersion
		}
		if level < 2 && !pick.subdir {
			return nil, fmt.Errorf("%w: resource directory level %d entry is data, want a directory", ErrMalformed, level)
		}
		if level == 2 && pick.subdir {
			return nil, fmt.Errorf("%w: resource directory nested deeper than 3 levels (a loop?)", ErrMalformed)
		}
		off = pick.off
	}
	rva := uint64(p.rsrcRVA) + uint64(off)
	if rva+16 > 1<<32 {
		return nil, fmt.Errorf("%w: resource data entry at RVA 0x%x runs past 4 GiB", ErrMalformed, rva)
	}
	de, err := p.readRVA(uint32(rva), 16, "resource data entry")
	if err != nil {
		return nil, err
	}
	dataRVA := binary.LittleEndian.Uint32(de)
	n := binary.LittleEndian.Uint32(de[4:])
	if n == 0 {
		return nil, fmt.Errorf("%w: the version resource is empty", ErrNoVersion)
	}
	if n > maxVersionSize {
		return nil, fmt.Errorf("%w: version resource too large (%d bytes, limit %d)", ErrMalformed, n, maxVersionSize)
	}
	return p.readRVA(dataRVA, n, "version resource")
}

// block is one node of a VS_VERSIONINFO tree: wLength, wValueLength, wType,
// szKey, padding, Value, padding, Children.
type block struct {
	key        string
	typ        uint16
	value      []byte // as wValueLength says, cut to the block
	childStart int
	end        int
}

func align4(n int) int { return (n + 3) &^ 3 }

// parseBlock parses the block at pos of data, which must end by end.
// Offsets are relative to the start of the resource, which is 4-aligned.
func parseBlock(data []byte, pos, end int) (block, error) {
	if end-pos < 6 {
		return block{}, fmt.Errorf("%w: truncated version resource: %d bytes left at offset %d", ErrMalformed, end-pos, pos)
	}
	length := int(binary.LittleEndian.Uint16(data[pos:]))
	valueLen := int(binary.LittleEndian.Uint16(data[pos+2:]))
	typ := binary.LittleEndian.Uint16(data[pos+4:])
	if length < 6 {
		return block{}, fmt.Errorf("%w: version resource block at offset %d has length %d", ErrMalformed, pos, length)
	}
	b := block{typ: typ, end: min(pos+length, end)}
	var key []uint16
	k := pos + 6
	for ; ; k += 2 {
		if k+2 > b.end {
			return block{}, fmt.Errorf("%w: version resource block at offset %d: key not terminated", ErrMalformed, pos)
		}
		c := binary.LittleEndian.Uint16(data[k:])
		if c == 0 {
			break
		}
		key = append(key, c)
	}
	b.key = string(utf16.Decode(key))
	vs := min(align4(k+2), b.end)
	vlen := valueLen
	if typ == 1 {
		vlen *= 2
	}
	ve := min(vs+vlen, b.end)
	b.value = data[vs:ve]
	b.childStart = min(align4(ve), b.end)
	return b, nil
}

// child returns the first child block of b whose key ok accepts.
func child(data []byte, b block, ok func(key string) bool) (block, bool, error) {
	for pos := b.childStart; pos < b.end; {
		c, err := parseBlock(data, pos, b.end)
		if err != nil {
			return block{}, false, err
		}
		if ok(c.key) {
			return c, true, nil
		}
		pos = align4(c.end)
	}
	return block{}, false, nil
}

func keyIs(k string) func(string) bool { return func(s string) bool { return s == k } }

func anyKey(string) bool { return true }

// parseVersionInfo parses a VS_VERSIONINFO resource.
func parseVersionInfo(data []byte) (Info, error) {
	root, err := parseBlock(data, 0, len(data))
	if err != nil {
		return Info{}, err
	}
	if root.key != "VS_VERSION_INFO" {
		return Info{}, fmt.Errorf("%w: version resource key is %q, want VS_VERSION_INFO", ErrMalformed, root.key)
	}
	if len(root.value) < vsFFISize {
		return Info{}, fmt.Errorf("%w: no VS_FIXEDFILEINFO", ErrNoVersion)
	}
	v := root.value
	if sig := binary.LittleEndian.Uint32(v); sig != vsFFISig {
		return Info{}, fmt.Errorf("%w: bad VS_FIXEDFILEINFO signature 0x%08x", ErrMalformed, sig)
	}
	u := func(i int) uint32 { return binary.LittleEndian.Uint32(v[i:]) }
	info := Info{
		FileVersion:    quad(u(8), u(12)),
		ProductVersion: quad(u(16), u(20)),
	}
	// StringFileInfo → first table → "ProductVersion". Like VerQueryValue,
	// a missing or malformed string table only leaves the string empty.
	if sfi, ok, err := child(data, root, keyIs("StringFileInfo")); err == nil && ok {
		if table, ok, err := child(data, sfi, anyKey); err == nil && ok {
			if s, ok, err := child(data, table, keyIs("ProductVersion")); err == nil && ok {
				info.ProductVersionString = utf16String(s.value)
			}
		}
	}
	return info, nil
}

// quad formats a VS_FIXEDFILEINFO version pair as a.b.c.d.
func quad(ms, ls uint32) string {
	b := make([]byte, 0, 24)
	b = strconv.AppendUint(b, uint64(ms>>16), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(ms&0xffff), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(ls>>16), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(ls&0xffff), 10)
	return string(b)
}

// utf16String decodes little-endian UTF-16 up to the first NUL.
func utf16String(b []byte) string {
	s := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		s = append(s, c)
	}
	return string(utf16.Decode(s))
}

// cString returns b up to its first NUL.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
