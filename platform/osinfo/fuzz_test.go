package osinfo

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// formatOSRelease writes kv back as os-release with every value in double
// quotes, escaping as os-release(5) requires.
func formatOSRelease(kv map[string]string) []byte {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`")
	for _, k := range keys {
		b.WriteString(k + `="` + esc.Replace(kv[k]) + "\"\n")
	}
	return []byte(b.String())
}

func FuzzParseOSRelease(f *testing.F) {
	ents, _ := os.ReadDir(filepath.Join("testdata", "os-release"))
	for _, e := range ents {
		if data, err := os.ReadFile(filepath.Join("testdata", "os-release", e.Name())); err == nil {
			f.Add(data)
		}
	}
	for _, s := range []string{"", "ID=x", "A='b", `A="b\"`, "A=\"\xe9\"", "\xff\xfeA\x00", "A=b # c\r\n", `A=\`, "export A=1", "A=\"x\"'y'z"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		kv, err := ParseOSRelease(data)
		if err != nil {
			if kv != nil {
				t.Fatalf("error %v with a non-nil map", err)
			}
			return
		}
		if len(kv) == 0 {
			t.Fatal("no error but no assignments")
		}
		for k, v := range kv {
			if !validKey(k) {
				t.Fatalf("invalid key %q", k)
			}
			if !utf8.ValidString(v) || strings.ContainsAny(v, "\n\x00") {
				t.Fatalf("value of %s = %q: not UTF-8 or holds a newline/NUL", k, v)
			}
		}
		// Writing the result back and parsing it again gives the same map.
		again, err := ParseOSRelease(formatOSRelease(kv))
		if err != nil {
			t.Fatalf("re-parse of %q: %v", formatOSRelease(kv), err)
		}
		if len(again) != len(kv) {
			t.Fatalf("re-parse gave %q, want %q", again, kv)
		}
		for k, v := range kv {
			if again[k] != v {
				t.Fatalf("re-parse %s = %q, want %q", k, again[k], v)
			}
		}
	})
}

func FuzzParseSMBIOS(f *testing.F) {
	f.Add(cat(bios(), system(), hyperVChassis(), end()), "tag")
	f.Add(cat(chassis(0, "x"), end()), "")
	f.Add([]byte{3, 0x0D, 0, 0}, "x")
	f.Add(rawSMBIOS(cat(chassis(1, "abc")), 20), "abc")
	f.Fuzz(func(t *testing.T, data []byte, tag string) {
		// Arbitrary bytes: no panic, and a tag is a NUL-free part of the input.
		if got, err := parseSMBIOSChassisAssetTag(data); err == nil {
			if strings.IndexByte(got, 0) >= 0 || !strings.Contains(string(data), got) {
				t.Fatalf("tag %q is not a NUL-free substring of the table", got)
			}
		}
		if table, err := parseRawSMBIOSData(data); err == nil && len(table) > len(data)-rawSMBIOSHeaderLen {
			t.Fatalf("table of %d bytes from %d bytes of input", len(table), len(data))
		}
		// A well-formed table built around any tag gives that tag back.
		tag = strings.ReplaceAll(tag, "\x00", "")
		if tag == "" {
			return
		}
		table := cat(bios(), chassis(2, "maker", tag, "other"), end())
		got, err := parseSMBIOSChassisAssetTag(table)
		if err != nil || got != tag {
			t.Fatalf("built table with tag %q: got %q, %v", tag, got, err)
		}
	})
}
