//go:build !windows

package filever

// Tests on real PE files built at test time with Debian's mingw-w64 tools,
// which exist on the Linux build host only (not under Wine).

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"text/template"
)

const installHint = "install gcc-mingw-w64-x86-64 and binutils-mingw-w64-x86-64 (make test does)"

// fixtureSpec is one PE file to build: a version resource from
// testdata/ver.rc.tmpl, or none.
type fixtureSpec struct {
	name                      string
	fileVer, productVer       string // dotted, for FILEVERSION / PRODUCTVERSION
	fileString, productString string // StringFileInfo values
	noVersion                 bool
	tiny                      bool // testdata/tiny.c without a C runtime: 4 KiB
}

var fixtureSpecs = []fixtureSpec{
	{name: "2.6.1198.718", fileVer: "2.6.1198.718", productVer: "2.6.1198.718", fileString: "2.6.1198.718", productString: "2.6.1198.718"},
	{name: "2.7.41491.1010", fileVer: "2.7.41491.1010", productVer: "2.7.41491.1010", fileString: "2.7.41491.1010", productString: "2.7.41491.1010"},
	{name: "2.2.53.1", fileVer: "2.2.53.1", productVer: "2.2.53.1", fileString: "2.2.53.1", productString: "2.2.53.1"},
	{name: "max", fileVer: "65535.65535.65535.65535", productVer: "65535.65535.65535.65535", fileString: "65535.65535.65535.65535", productString: "65535.65535.65535.65535"},
	{name: "product-string", fileVer: "2.7.41491.1101", productVer: "2.7.41491.1102", fileString: "2.7.41491.1101", productString: "2.7.41491.1102 (rd_art_stable.210702-1023)"},
	{name: "no-version", noVersion: true},
	{name: "tiny", tiny: true, fileVer: "2.6.1198.718", productVer: "2.6.1198.718", fileString: "2.6.1198.718", productString: "2.6.1198.718"},
	{name: "tiny-product-string", tiny: true, fileVer: "2.7.41491.1101", productVer: "2.7.41491.1102", fileString: "2.7.41491.1101", productString: "2.7.41491.1102 (rd_art_stable.210702-1023)"},
}

// fixtureArchs are the mingw target prefixes to build for: x86_64 always,
// i686 (PE32) when its tools are installed.
func fixtureArchs() ([]string, error) {
	archs := []string{"x86_64"}
	for _, tool := range []string{"x86_64-w64-mingw32-gcc", "x86_64-w64-mingw32-windres"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s: %v", installHint, err)
		}
	}
	_, errGcc := exec.LookPath("i686-w64-mingw32-gcc")
	_, errRes := exec.LookPath("i686-w64-mingw32-windres")
	if errGcc == nil && errRes == nil {
		archs = append(archs, "i686")
	}
	return archs, nil
}

var (
	fixturesOnce sync.Once
	fixturesData map[string][]byte // "x86_64/2.6.1198.718" → PE bytes
	fixturesErr  error
)

// fixtures returns the built PE files by "arch/name", building them once per
// test binary run.
func fixtures(tb testing.TB) map[string][]byte {
	tb.Helper()
	fixturesOnce.Do(func() { fixturesData, fixturesErr = buildFixtures() })
	if fixturesErr != nil {
		tb.Fatal(fixturesErr)
	}
	return fixturesData
}

// fixture returns one built PE file, x86_64.
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, ok := fixtures(tb)["x86_64/"+name]
	if !ok {
		tb.Fatalf("no fixture %q", name)
	}
	return b
}

func commas(dotted string) string { return strings.ReplaceAll(dotted, ".", ",") }

func run(dir string, argv ...string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return nil
}

func buildFixtures() (map[string][]byte, error) {
	archs, err := fixtureArchs()
	if err != nil {
		return nil, err
	}
	tmpl, err := template.ParseFiles(filepath.Join("testdata", "ver.rc.tmpl"))
	if err != nil {
		return nil, err
	}
	mainC, err := filepath.Abs(filepath.Join("testdata", "main.c"))
	if err != nil {
		return nil, err
	}
	tinyC, err := filepath.Abs(filepath.Join("testdata", "tiny.c"))
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "filever-fixtures-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	out := map[string][]byte{}
	for _, arch := range archs {
		gcc, windres := arch+"-w64-mingw32-gcc", arch+"-w64-mingw32-windres"
		mainO, tinyO := arch+"-main.o", arch+"-tiny.o"
		if err := run(dir, gcc, "-c", "-O2", "-o", mainO, mainC); err != nil {
			return nil, err
		}
		if err := run(dir, gcc, "-c", "-O2", "-o", tinyO, tinyC); err != nil {
			return nil, err
		}
		for _, s := range fixtureSpecs {
			base := arch + "-" + s.name
			link := []string{gcc, "-s", "-o", base + ".exe", mainO}
			if s.tiny {
				link = []string{gcc, "-s", "-nostdlib", "-Wl,-e,start", "-o", base + ".exe", tinyO}
			}
			if !s.noVersion {
				var rc bytes.Buffer
				err := tmpl.Execute(&rc, map[string]string{
					"FileCommas": commas(s.fileVer), "ProductCommas": commas(s.productVer),
					"FileString": s.fileString, "ProductString": s.productString,
				})
				if err != nil {
					return nil, err
				}
				if err := os.WriteFile(filepath.Join(dir, base+".rc"), rc.Bytes(), 0o644); err != nil {
					return nil, err
				}
				if err := run(dir, windres, "-O", "coff", "-o", base+".res.o", base+".rc"); err != nil {
					return nil, err
				}
				link = append(link, base+".res.o")
			}
			if err := run(dir, link...); err != nil {
				return nil, err
			}
			b, err := os.ReadFile(filepath.Join(dir, base+".exe"))
			if err != nil {
				return nil, err
			}
			out[arch+"/"+s.name] = b
		}
	}
	return out, nil
}

func TestParsePEFixtures(t *testing.T) {
	all := fixtures(t)
	archs, _ := fixtureArchs()
	t.Logf("fixture architectures: %v", archs)
	for _, arch := range archs {
		for _, s := range fixtureSpecs {
			t.Run(arch+"/"+s.name, func(t *testing.T) {
				b := all[arch+"/"+s.name]
				got, err := ParsePE(bytes.NewReader(b), int64(len(b)))
				if s.noVersion {
					if !errors.Is(err, ErrNoVersion) || !strings.Contains(err.Error(), "no version resource") {
						t.Fatalf("ParsePE = %+v, %v; want error %q", got, err, ErrNoVersion)
					}
					return
				}
				if err != nil {
					t.Fatalf("ParsePE: %v", err)
				}
				want := Info{FileVersion: s.fileVer, ProductVersion: s.productVer, ProductVersionString: s.productString}
				if got != want {
					t.Errorf("ParsePE = %+v, want %+v", got, want)
				}
			})
		}
	}
}

func TestReadFixtureFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "WaAppAgent.exe")
	if err := os.WriteFile(p, fixture(t, "product-string"), 0o644); err != nil {
		t.Fatal(err)
	}
	noVer := filepath.Join(dir, "nover.exe")
	if err := os.WriteFile(noVer, fixture(t, "no-version"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := Info{FileVersion: "2.7.41491.1101", ProductVersion: "2.7.41491.1102", ProductVersionString: "2.7.41491.1102 (rd_art_stable.210702-1023)"}
	tests := []struct {
		desc string
		fn   func(string) (Info, error)
	}{
		{desc: "Read", fn: Read},
		{desc: "ParseFile", fn: ParseFile},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			got, err := tt.fn(p)
			if err != nil || got != want {
				t.Errorf("%s(%s) = %+v, %v; want %+v", tt.desc, p, got, err, want)
			}
			_, err = tt.fn(noVer)
			if !errors.Is(err, ErrNoVersion) || !strings.Contains(err.Error(), noVer) {
				t.Errorf("%s(%s) error = %v; want %v naming the path", tt.desc, noVer, err, ErrNoVersion)
			}
		})
	}
}

func TestParsePETruncated(t *testing.T) {
	b := fixture(t, "2.6.1198.718")
	n := 0
	for cut := 0; cut < len(b); cut += 64 {
		info, err := ParsePE(bytes.NewReader(b[:cut]), int64(cut))
		if err == nil {
			t.Errorf("truncated at %d of %d bytes: ParsePE = %+v, want an error", cut, len(b), info)
		}
		n++
	}
	// The size says the whole file, the reader holds less: an error unless
	// the parser needed nothing past the cut, and then the right answer.
	want, err := ParsePE(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut < len(b); cut += 64 {
		if info, err := ParsePE(bytes.NewReader(b[:cut]), int64(len(b))); err == nil && info != want {
			t.Errorf("reader cut at %d of %d bytes: ParsePE = %+v, want an error or %+v", cut, len(b), info, want)
		}
	}
	t.Logf("%d truncation points, file of %d bytes", n, len(b))
}

// rsrcLayout locates a fixture's resource directory with debug/pe (trusted
// input): the file offset of the resource directory, and the file offset of
// the RT_VERSION root entry, its name-level directory, and its data entry.
type rsrcLayout struct {
	rsrcOff, rsrcRVA       uint32
	rootEntry              uint32 // file offset of the RT_VERSION entry in the root
	nameDir, langDir, leaf uint32 // file offsets
}

func layout(t *testing.T, b []byte) rsrcLayout {
	t.Helper()
	f, err := pe.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Section(".rsrc")
	if s == nil {
		t.Fatal("fixture has no .rsrc section")
	}
	oh := f.OptionalHeader.(*pe.OptionalHeader64)
	l := rsrcLayout{rsrcOff: s.Offset, rsrcRVA: oh.DataDirectory[2].VirtualAddress}
	if l.rsrcRVA != s.VirtualAddress {
		t.Fatalf("resource directory RVA 0x%x is not the start of .rsrc (0x%x)", l.rsrcRVA, s.VirtualAddress)
	}
	u16 := func(off uint32) uint32 { return uint32(binary.LittleEndian.Uint16(b[off:])) }
	u32 := func(off uint32) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
	// first entry matching id (or any when id < 0) of the directory at dir
	find := func(dir uint32, id int) uint32 {
		n := u16(dir+12) + u16(dir+14)
		for i := uint32(0); i < n; i++ {
			e := dir + 16 + i*8
			if id < 0 || u32(e) == uint32(id) {
				return e
			}
		}
		t.Fatalf("no resource entry %d in directory at 0x%x", id, dir)
		return 0
	}
	l.rootEntry = find(l.rsrcOff, rtVersion)
	l.nameDir = l.rsrcOff + u32(l.rootEntry+4)&^0x80000000
	l.langDir = l.rsrcOff + u32(find(l.nameDir, -1)+4)&^0x80000000
	l.leaf = l.rsrcOff + u32(find(l.langDir, -1)+4)
	return l
}

func TestParsePECorrupted(t *testing.T) {
	orig := fixture(t, "2.6.1198.718")
	l := layout(t, orig)
	lfanew := binary.LittleEndian.Uint32(orig[0x3c:])
	put32 := func(off, v uint32) func([]byte) {
		return func(b []byte) { binary.LittleEndian.PutUint32(b[off:], v) }
	}
	put16 := func(off uint32, v uint16) func([]byte) {
		return func(b []byte) { binary.LittleEndian.PutUint16(b[off:], v) }
	}
	const optOff = 24
	tests := []struct {
		desc  string
		patch func([]byte)
		want  error
	}{
		{desc: "no MZ", patch: put16(0, 0x5a4e), want: ErrNotPE},
		{desc: "no PE signature", patch: put32(lfanew, 0x4551), want: ErrNotPE},
		{desc: "bad optional header magic", patch: put16(lfanew+optOff, 0x30b), want: ErrMalformed},
		{desc: "huge number of sections", patch: put16(lfanew+6, 0xffff), want: ErrTruncated},
		{desc: "huge optional header size", patch: put16(lfanew+20, 0xffff), want: ErrTruncated},
		{desc: "resource directory RVA outside every section", patch: put32(lfanew+optOff+112+16, 0x7ffffff0), want: ErrMalformed},
		{desc: "resource directory RVA at the end of 4 GiB", patch: put32(lfanew+optOff+112+16, 0xfffffff8), want: ErrMalformed},
		{desc: "no resource directory", patch: put32(lfanew+optOff+112+16, 0), want: ErrNoVersion},
		{desc: "root entry points outside the file", patch: put32(l.rootEntry+4, 0x80000000|0x7ffffff0), want: ErrMalformed},
		{desc: "root entry points to itself (loop)", patch: put32(l.rootEntry+4, 0x80000000), want: ErrMalformed},
		{desc: "name directory points to itself (loop)", patch: put32(l.nameDir+16+4, 0x80000000|(l.nameDir-l.rsrcOff)), want: ErrMalformed},
		{desc: "language entry is a directory (loop to root)", patch: put32(l.langDir+16+4, 0x80000000), want: ErrMalformed},
		{desc: "RT_VERSION entry is data, not a directory", patch: put32(l.rootEntry+4, l.leaf-l.rsrcOff), want: ErrMalformed},
		{desc: "no RT_VERSION type", patch: put32(l.rootEntry, 17), want: ErrNoVersion},
		{desc: "huge root entry count", patch: put16(l.rsrcOff+14, 0xffff), want: ErrMalformed},
		{desc: "entry count past the section", patch: put16(l.nameDir+14, 4000), want: ErrMalformed},
		{desc: "huge version data size", patch: put32(l.leaf+4, 0xffffffff), want: ErrMalformed},
		{desc: "version data size past the section", patch: put32(l.leaf+4, 0x10000), want: ErrMalformed},
		{desc: "version data RVA outside every section", patch: put32(l.leaf, 0xfffff000), want: ErrMalformed},
		{desc: "version data size 0", patch: put32(l.leaf+4, 0), want: ErrNoVersion},
		{desc: "version data length 0", patch: func(b []byte) {
			off := l.rsrcOff + binary.LittleEndian.Uint32(b[l.leaf:]) - l.rsrcRVA
			binary.LittleEndian.PutUint16(b[off:], 0)
		}, want: ErrMalformed},
		{desc: "VS_FIXEDFILEINFO signature", patch: func(b []byte) {
			off := l.rsrcOff + binary.LittleEndian.Uint32(b[l.leaf:]) - l.rsrcRVA
			i := bytes.Index(b[off:], []byte{0xbd, 0x04, 0xef, 0xfe})
			b[off+uint32(i)] = 0
		}, want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			b := bytes.Clone(orig)
			tt.patch(b)
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			info, err := ParsePE(bytes.NewReader(b), int64(len(b)))
			runtime.ReadMemStats(&ms1)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ParsePE = %+v, %v; want error %v", info, err, tt.want)
			}
			if alloc := ms1.TotalAlloc - ms0.TotalAlloc; alloc > 4<<20 {
				t.Errorf("ParsePE allocated %d bytes on a %d-byte file", alloc, len(b))
			}
			t.Logf("error: %v", err)
		})
	}
}

// FuzzParsePE seeds with the tiny fixtures (4 KiB) and garbage; the
// full-size fixtures are covered by the tests above.
func FuzzParsePE(f *testing.F) {
	shortMinimize()
	for name, b := range fixtures(f) {
		if strings.Contains(name, "/tiny") {
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add([]byte("MZ"))
	f.Add(append([]byte("MZ"), make([]byte, 200)...))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParsePE(bytes.NewReader(b), int64(len(b)))
		if err == nil {
			for _, v := range []string{info.FileVersion, info.ProductVersion} {
				if strings.Count(v, ".") != 3 {
					t.Errorf("version %q is not a.b.c.d", v)
				}
			}
		}
		// A size that claims more than the reader holds only relaxes bounds
		// checks: what parsed with the true size parses the same.
		info2, err2 := ParsePE(bytes.NewReader(b), int64(len(b))+4096)
		if err == nil && (err2 != nil || info2 != info) {
			t.Errorf("with a larger size: %+v, %v; with the true size: %+v", info2, err2, info)
		}
	})
}

// shortMinimize caps how long the fuzzer minimizes each new input (go test
// -fuzzminimizetime, 60 s by default) unless the command line chose a value.
// With the default, minimizing executables starved a 15 s -fuzztime run: the
// fuzzer ran some 10,000 inputs, then 0 per second; capped, over 500,000.
func shortMinimize() {
	const name = "test.fuzzminimizetime"
	set := false
	flag.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	if !set && flag.Lookup(name) != nil {
		_ = flag.Set(name, "1000x")
	}
}

func BenchmarkParsePE(b *testing.B) {
	data := fixture(b, "2.6.1198.718")
	r := bytes.NewReader(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePE(r, int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}
