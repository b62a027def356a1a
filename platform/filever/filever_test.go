package filever

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// These tests need no fixture files: they run on every OS, Wine included.

func TestParsePEGarbage(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	random := make([]byte, 4096)
	for i := range random {
		random[i] = byte(rnd.Uint32())
	}
	mzRandom := append([]byte("MZ"), random[2:]...)
	// A DOS header whose e_lfanew points at a "PE\0\0" with nothing after it.
	peSigOnly := make([]byte, 0x44)
	copy(peSigOnly, "MZ")
	binary.LittleEndian.PutUint32(peSigOnly[0x3c:], 0x40)
	copy(peSigOnly[0x40:], "PE\x00\x00")
	// e_lfanew far past the end of the file.
	farLfanew := make([]byte, 64)
	copy(farLfanew, "MZ")
	binary.LittleEndian.PutUint32(farLfanew[0x3c:], 0xfffffff0)

	tests := []struct {
		desc string
		data []byte
		size int64 // 0: len(data)
		want error
	}{
		{desc: "empty", data: nil, want: ErrNotPE},
		{desc: "MZ only", data: []byte("MZ"), want: ErrNotPE},
		{desc: "random bytes", data: random, want: ErrNotPE},
		{desc: "MZ then random bytes", data: mzRandom, want: ErrNotPE},
		{desc: "text file", data: []byte(strings.Repeat("hello world\n", 20)), want: ErrNotPE},
		{desc: "PE signature then end of file", data: peSigOnly, want: ErrNotPE},
		{desc: "e_lfanew past end of file", data: farLfanew, want: ErrNotPE},
		{desc: "negative size", data: []byte("MZ"), size: -1, want: ErrNotPE},
		{desc: "size above the limit", data: []byte("MZ"), size: MaxFileSize + 1},
		{desc: "size larger than the data", data: peSigOnly, size: 1 << 20, want: ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			size := tt.size
			if size == 0 {
				size = int64(len(tt.data))
			}
			info, err := ParsePE(bytes.NewReader(tt.data), size)
			if err == nil {
				t.Fatalf("ParsePE = %+v, want an error", info)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("ParsePE error = %v, want %v", err, tt.want)
			}
			t.Logf("error: %v", err)
		})
	}
}

// utf16z encodes s as little-endian UTF-16 with a NUL.
func utf16z(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return append(b, 0, 0)
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// vblock builds a version-resource block; wLength is its length, children
// included. typ 1 blocks count valueLen in UTF-16 units, others in bytes.
func vblock(key string, typ uint16, value []byte, valueLen int, children ...[]byte) []byte {
	b := make([]byte, 6)
	b = append(b, utf16z(key)...)
	b = pad4(b)
	b = append(b, value...)
	for _, c := range children {
		b = pad4(b)
		b = append(b, c...)
	}
	binary.LittleEndian.PutUint16(b[0:], uint16(len(b)))
	binary.LittleEndian.PutUint16(b[2:], uint16(valueLen))
	binary.LittleEndian.PutUint16(b[4:], typ)
	return b
}

func fixedInfo(sig, fileMS, fileLS, prodMS, prodLS uint32) []byte {
	b := make([]byte, vsFFISize)
	binary.LittleEndian.PutUint32(b[0:], sig)
	binary.LittleEndian.PutUint32(b[4:], 0x10000)
	binary.LittleEndian.PutUint32(b[8:], fileMS)
	binary.LittleEndian.PutUint32(b[12:], fileLS)
	binary.LittleEndian.PutUint32(b[16:], prodMS)
	binary.LittleEndian.PutUint32(b[20:], prodLS)
	return b
}

func str(key, val string) []byte {
	v := utf16z(val)
	return vblock(key, 1, v, len(v)/2)
}

func TestParseVersionInfo(t *testing.T) {
	ffi := fixedInfo(vsFFISig, 2<<16|6, 1198<<16|718, 2<<16|7, 41491<<16|1010)
	table := func(kv ...string) []byte {
		var cs [][]byte
		for i := 0; i+1 < len(kv); i += 2 {
			cs = append(cs, str(kv[i], kv[i+1]))
		}
		return vblock("040904B0", 1, nil, 0, cs...)
	}
	varInfo := vblock("VarFileInfo", 1, nil, 0, vblock("Translation", 0, []byte{0x09, 0x04, 0xb0, 0x04}, 4))
	// A String whose wValueLength counts bytes, not characters.
	byteCounted := vblock("ProductVersion", 1, utf16z("1.2.3"), len(utf16z("1.2.3")))
	// A String table holding a block of length 0.
	badTable := append(vblock("040904B0", 1, nil, 0), 0, 0, 0, 0, 0, 0, 0, 0)
	binary.LittleEndian.PutUint16(badTable, uint16(len(badTable)))
	unterminated := vblock("VS_VERSION_INFO", 0, nil, 0)[:6]
	unterminated = append(unterminated, 'V', 0, 'S', 0)
	binary.LittleEndian.PutUint16(unterminated, uint16(len(unterminated)))

	tests := []struct {
		desc    string
		data    []byte
		want    Info
		wantErr error
	}{
		{
			desc: "fixed info, string table, translation",
			data: vblock("VS_VERSION_INFO", 0, ffi, vsFFISize,
				vblock("StringFileInfo", 1, nil, 0, table("FileVersion", "2.6.1198.718", "ProductVersion", "2.7.41491.1010 (x)")),
				varInfo),
			want: Info{FileVersion: "2.6.1198.718", ProductVersion: "2.7.41491.1010", ProductVersionString: "2.7.41491.1010 (x)"},
		},
		{
			desc: "VarFileInfo before StringFileInfo",
			data: vblock("VS_VERSION_INFO", 0, ffi, vsFFISize,
				varInfo, vblock("StringFileInfo", 1, nil, 0, table("ProductVersion", "9.9"))),
			want: Info{FileVersion: "2.6.1198.718", ProductVersion: "2.7.41491.1010", ProductVersionString: "9.9"},
		},
		{
			desc: "only the first string table counts",
			data: vblock("VS_VERSION_INFO", 0, ffi, vsFFISize,
				vblock("StringFileInfo", 1, nil, 0, table("FileVersion", "1"), table("ProductVersion", "2"))),
			want: Info{FileVersion: "2.6.1198.718", ProductVersion: "2.7.41491.1010"},
		},
		{
			desc: "string length counted in bytes",
			data: vblock("VS_VERSION_INFO", 0, ffi, vsFFISize,
				vblock("StringFileInfo", 1, nil, 0, vblock("040904B0", 1, nil, 0, byteCounted))),
			want: Info{FileVersion: "2.6.1198.718", ProductVersion: "2.7.41491.1010", ProductVersionString: "1.2.3"},
		},
		{
			desc: "empty ProductVersion string",
			data: vblock("VS_VERSION_INFO", 0, ffi, vsFFISize,
				vblock("StringFileInfo", 1, nil, 0, vblock("040904B0", 1, nil, 0, vblock("ProductVersion", 1, nil, 0)))),
			want: Info{FileVersion: "2.6.1198.718", ProductVersion: "2.7.41491.1010"},
		},
		{
			desc: "malformed string table leaves the string empty",
			data: vblock("VS_VERSION_INFO", 0, ffi, vsFFISize, vblock("StringFileInfo", 1, nil, 0, badTable)),
			want: Info{FileVersion: "2.6.1198.718", ProductVersion: "2.7.41491.1010"},
		},
		{
			desc: "largest version numbers",
			data: vblock("VS_VERSION_INFO", 0, fixedInfo(vsFFISig, ^uint32(0), ^uint32(0), 0, 0), vsFFISize),
			want: Info{FileVersion: "65535.65535.65535.65535", ProductVersion: "0.0.0.0"},
		},
		{desc: "wrong root key", data: vblock("VS_VERSION", 0, ffi, vsFFISize), wantErr: ErrMalformed},
		{desc: "no fixed info", data: vblock("VS_VERSION_INFO", 0, nil, 0), wantErr: ErrNoVersion},
		{desc: "fixed info cut short", data: vblock("VS_VERSION_INFO", 0, ffi[:40], vsFFISize), wantErr: ErrNoVersion},
		{desc: "bad signature", data: vblock("VS_VERSION_INFO", 0, fixedInfo(0xFEEF04BE, 0, 0, 0, 0), vsFFISize), wantErr: ErrMalformed},
		{desc: "root length 0", data: append([]byte{0, 0}, vblock("VS_VERSION_INFO", 0, ffi, vsFFISize)[2:]...), wantErr: ErrMalformed},
		{desc: "key not terminated", data: unterminated, wantErr: ErrMalformed},
		{desc: "shorter than a block header", data: []byte{1, 2, 3}, wantErr: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := parseVersionInfo(tt.data)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("parseVersionInfo = %+v, %v; want error %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseVersionInfo: %v", err)
			}
			if got != tt.want {
				t.Errorf("parseVersionInfo = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// scratchDir is t.TempDir for tests that also run under Wine: there, Go
// 1.26's os.RemoveAll fails on files ("unlinkat ...: Invalid function", Wine
// 8.0), while os.Remove works. The test removes what it wrote with rm.
func scratchDir(t *testing.T) (dir string, rm func(string)) {
	t.Helper()
	dir, err := os.MkdirTemp("", "filever-")
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	t.Cleanup(func() {
		for _, f := range files {
			if err := os.Remove(f); err != nil {
				t.Error(err)
			}
		}
		if err := os.Remove(dir); err != nil {
			t.Error(err)
		}
	})
	return dir, func(f string) { files = append(files, f) }
}

func TestReadErrorsNamePath(t *testing.T) {
	dir, rm := scratchDir(t)
	notPE := filepath.Join(dir, "notpe.exe")
	if err := os.WriteFile(notPE, []byte("just text, not a program"), 0o644); err != nil {
		t.Fatal(err)
	}
	rm(notPE)
	tests := []struct {
		desc string
		path string
		fn   func(string) (Info, error)
	}{
		{desc: "ParseFile missing file", path: filepath.Join(dir, "missing.exe"), fn: ParseFile},
		{desc: "ParseFile not a PE file", path: notPE, fn: ParseFile},
		{desc: "ParseFile directory", path: dir, fn: ParseFile},
		{desc: "Read missing file", path: filepath.Join(dir, "missing.exe"), fn: Read},
		{desc: "Read not a PE file", path: notPE, fn: Read},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := tt.fn(tt.path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not name %s", err, tt.path)
			}
		})
	}
}
