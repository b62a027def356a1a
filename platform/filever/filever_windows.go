//go:build windows

package filever

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Read returns the version resource of the file at host path p, through
// GetFileVersionInfo and VerQueryValue: the fixed versions from `\` and the
// "ProductVersion" string of the first translation listed in
// `\VarFileInfo\Translation` that has one.
func Read(p string) (Info, error) {
	// An absolute path keeps GetFileVersionInfo (LoadLibraryEx) from
	// searching the DLL search path for a bare name.
	abs, err := filepath.Abs(p)
	if err != nil {
		return Info{}, fmt.Errorf("read %s: %w", p, err)
	}
	size, err := windows.GetFileVersionInfoSize(abs, nil)
	if err != nil {
		if isNoResource(err) {
			return Info{}, fmt.Errorf("read %s: %w: %w", p, ErrNoVersion, err)
		}
		if errors.Is(err, windows.ERROR_BAD_EXE_FORMAT) || errors.Is(err, windows.ERROR_BAD_FORMAT) {
			return Info{}, fmt.Errorf("read %s: %w: %w", p, ErrNotPE, err)
		}
		return Info{}, fmt.Errorf("read %s: GetFileVersionInfoSize: %w", p, err)
	}
	if size == 0 {
		return Info{}, fmt.Errorf("read %s: %w", p, ErrNoVersion)
	}
	buf := make([]byte, size)
	if err := windows.GetFileVersionInfo(abs, 0, size, unsafe.Pointer(&buf[0])); err != nil {
		return Info{}, fmt.Errorf("read %s: GetFileVersionInfo: %w", p, err)
	}
	defer runtime.KeepAlive(buf)
	block := unsafe.Pointer(&buf[0])

	var fixed *windows.VS_FIXEDFILEINFO
	var n uint32
	if err := windows.VerQueryValue(block, `\`, unsafe.Pointer(&fixed), &n); err != nil {
		return Info{}, fmt.Errorf("read %s: %w: no VS_FIXEDFILEINFO: %w", p, ErrNoVersion, err)
	}
	if fixed == nil || n < uint32(unsafe.Sizeof(*fixed)) {
		return Info{}, fmt.Errorf("read %s: %w: no VS_FIXEDFILEINFO", p, ErrNoVersion)
	}
	if fixed.Signature != vsFFISig {
		return Info{}, fmt.Errorf("read %s: %w: bad VS_FIXEDFILEINFO signature 0x%08x", p, ErrMalformed, fixed.Signature)
	}
	info := Info{
		FileVersion:    quad(fixed.FileVersionMS, fixed.FileVersionLS),
		ProductVersion: quad(fixed.ProductVersionMS, fixed.ProductVersionLS),
	}
	for _, t := range translations(block) {
		if s, ok := queryString(block, fmt.Sprintf(`\StringFileInfo\%08x\ProductVersion`, t)); ok {
			info.ProductVersionString = s
			break
		}
	}
	return info, nil
}

// translations returns the language/code-page pairs of
// `\VarFileInfo\Translation` as 0xLLLLCCCC, then common fallbacks.
func translations(block unsafe.Pointer) []uint32 {
	var out []uint32
	var p *uint16
	var n uint32
	if windows.VerQueryValue(block, `\VarFileInfo\Translation`, unsafe.Pointer(&p), &n) == nil && p != nil {
		pairs := unsafe.Slice(p, n/2)
		for i := 0; i+1 < len(pairs); i += 2 {
			out = append(out, uint32(pairs[i])<<16|uint32(pairs[i+1]))
		}
	}
	// US English with Unicode, then with Windows-1252.
	return append(out, 0x040904b0, 0x040904e4)
}

// queryString returns the string value at sub.
func queryString(block unsafe.Pointer, sub string) (string, bool) {
	var p *uint16
	var n uint32
	if windows.VerQueryValue(block, sub, unsafe.Pointer(&p), &n) != nil || p == nil {
		return "", false
	}
	if n == 0 {
		return "", true
	}
	return windows.UTF16ToString(unsafe.Slice(p, n)), true
}

// isNoResource reports whether err says the file has no version resource.
func isNoResource(err error) bool {
	return errors.Is(err, windows.ERROR_RESOURCE_DATA_NOT_FOUND) ||
		errors.Is(err, windows.ERROR_RESOURCE_TYPE_NOT_FOUND) ||
		errors.Is(err, windows.ERROR_RESOURCE_NAME_NOT_FOUND)
}
