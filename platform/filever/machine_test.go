//go:build !windows

package filever

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// asPE32 rewrites a built x86_64 PE's machine type and optional-header
// magic to an i386 PE32's (what a 32-bit Windows' ntdll.dll says); only the
// two fields ParseMachine reads change.
func asPE32(b []byte) []byte {
	c := append([]byte(nil), b...)
	off := binary.LittleEndian.Uint32(c[0x3c:])
	binary.LittleEndian.PutUint16(c[off+4:], MachineI386)
	binary.LittleEndian.PutUint16(c[off+24:], 0x10b)
	return c
}

func TestParseMachineFixtures(t *testing.T) {
	for name, b := range fixtures(t) {
		t.Run(name, func(t *testing.T) {
			got, err := ParseMachine(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			// debug/pe from the standard library is the reference.
			f, err := pe.NewFile(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			_, plus := f.OptionalHeader.(*pe.OptionalHeader64)
			if got.Machine != f.Machine || got.PE32Plus != plus {
				t.Errorf("ParseMachine = %+v, debug/pe says machine 0x%x, PE32+ %v", got, f.Machine, plus)
			}
			if filepath.Dir(name) == "x86_64" && (got.Arch() != "AMD64" || got.Bits() != 64) {
				t.Errorf("x86_64 fixture: %s %d-bit, want AMD64 64-bit", got.Arch(), got.Bits())
			}
		})
	}
	b := asPE32(fixture(t, "2.6.1198.718"))
	got, err := ParseMachine(bytes.NewReader(b), int64(len(b)))
	if err != nil || got.Arch() != "x86" || got.Bits() != 32 {
		t.Errorf("patched to i386: %+v (%s, %d-bit), %v; want x86 32-bit", got, got.Arch(), got.Bits(), err)
	}
}

func TestParseMachineBadInput(t *testing.T) {
	good := fixture(t, "tiny")
	off := binary.LittleEndian.Uint32(good[0x3c:])
	badMagic := append([]byte(nil), good...)
	binary.LittleEndian.PutUint16(badMagic[off+24:], 0x999)
	tests := []struct {
		desc string
		data []byte
		want error
	}{
		{desc: "empty", data: nil, want: ErrNotPE},
		{desc: "ELF", data: append([]byte("\x7fELF"), make([]byte, 100)...), want: ErrNotPE},
		{desc: "MZ only", data: append([]byte("MZ"), make([]byte, 62)...), want: ErrNotPE},
		{desc: "cut after the DOS header", data: good[:off+10], want: ErrNotPE},
		{desc: "unknown magic", data: badMagic, want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			m, err := ParseMachine(bytes.NewReader(tt.data), int64(len(tt.data)))
			if !errors.Is(err, tt.want) {
				t.Errorf("ParseMachine = %+v, %v; want %v", m, err, tt.want)
			}
		})
	}
	p := filepath.Join(t.TempDir(), "ntdll.dll")
	if err := os.WriteFile(p, []byte("not a dll"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMachine(p); !errors.Is(err, ErrNotPE) || !bytes.Contains([]byte(err.Error()), []byte(p)) {
		t.Errorf("ReadMachine(%s) = %v, want ErrNotPE naming the path", p, err)
	}
}

func FuzzParseMachine(f *testing.F) {
	shortMinimize()
	f.Add(fixture(f, "tiny"))
	f.Add(asPE32(fixture(f, "tiny")))
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMachine(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		// Whatever parses names its bits consistently with its magic, and a
		// PE that debug/pe can read agrees on the machine.
		if (m.Bits() == 64) != m.PE32Plus {
			t.Errorf("Bits %d with PE32Plus %v", m.Bits(), m.PE32Plus)
		}
		if f, err := pe.NewFile(bytes.NewReader(b)); err == nil && f.Machine != m.Machine {
			t.Errorf("machine 0x%x, debug/pe 0x%x", m.Machine, f.Machine)
		}
	})
}
