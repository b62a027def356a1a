//go:build windows

package filever

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadAgreesWithParseFile compares the Windows API (Read:
// GetFileVersionInfo/VerQueryValue) with the pure-Go parser (ParseFile) on
// every *.exe and *.dll of system32 and syswow64 that has a version resource,
// and on $AGENTKEEPER_TEST_PE when set.
func TestReadAgreesWithParseFile(t *testing.T) {
	root := os.Getenv("SystemRoot")
	if root == "" {
		root = `C:\Windows`
	}
	var files []string
	var dirs []string
	for _, d := range []string{"System32", "SysWOW64"} {
		dir := filepath.Join(root, d)
		ents, err := os.ReadDir(dir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatalf("list %s: %v", dir, err)
		}
		dirs = append(dirs, dir)
		for _, e := range ents {
			ext := strings.ToLower(filepath.Ext(e.Name()))
			if e.Type().IsRegular() && (ext == ".exe" || ext == ".dll") {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	// A fixture from the build host (e.g. a WaAppAgent.exe built with
	// mingw): both must read it, and agree on the string too.
	if p := os.Getenv("AGENTKEEPER_TEST_PE"); p != "" {
		want, err := Read(p)
		if err != nil {
			t.Errorf("AGENTKEEPER_TEST_PE: %v", err)
		}
		got, err := ParseFile(p)
		if err != nil {
			t.Errorf("AGENTKEEPER_TEST_PE: %v", err)
		}
		if got != want {
			t.Errorf("%s: ParseFile = %+v, Read = %+v", p, got, want)
		}
		t.Logf("%s: %+v", p, want)
	}

	compared, apiFailed, onlyParser := 0, 0, 0
	for _, p := range files {
		want, err := Read(p)
		if err != nil {
			apiFailed++
			if _, perr := ParseFile(p); perr == nil {
				onlyParser++
				t.Logf("%s: ParseFile reads a version the API does not: %v", p, err)
			}
			continue
		}
		got, err := ParseFile(p)
		if err != nil {
			t.Errorf("%s: Read = %+v but ParseFile: %v", p, want, err)
			continue
		}
		compared++
		if got.FileVersion != want.FileVersion || got.ProductVersion != want.ProductVersion {
			t.Errorf("%s: ParseFile fixed versions = %s / %s, Read = %s / %s",
				p, got.FileVersion, got.ProductVersion, want.FileVersion, want.ProductVersion)
		}
		if got.ProductVersionString != want.ProductVersionString {
			// Files with several string tables may differ: the API follows
			// VarFileInfo\Translation, the parser takes the first table.
			t.Logf("%s: ProductVersion string: ParseFile %q, Read %q", p, got.ProductVersionString, want.ProductVersionString)
		}
	}
	t.Logf("dirs %v: %d files, %d compared, %d without a version resource for the API (%d of them parsed by ParseFile)",
		dirs, len(files), compared, apiFailed, onlyParser)
	if compared < 100 {
		t.Errorf("compared only %d files with a version resource, want at least 100", compared)
	}
}
