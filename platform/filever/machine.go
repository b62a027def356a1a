package filever

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
)

// Machine types of the COFF file header (winnt.h IMAGE_FILE_MACHINE_*).
const (
	MachineI386  = 0x014c
	MachineAMD64 = 0x8664
	MachineARM   = 0x01c0
	MachineARMNT = 0x01c4
	MachineARM64 = 0xaa64
	MachineIA64  = 0x0200
)

// MachineInfo is the machine type of a PE file.
type MachineInfo struct {
	// Machine is IMAGE_FILE_HEADER.Machine.
	Machine uint16
	// PE32Plus is true for a 64-bit optional header (magic 0x20b).
	PE32Plus bool
}

// Arch names the machine type as Windows' PROCESSOR_ARCHITECTURE does:
// "AMD64", "x86", "ARM64", "ARM", "IA64"; "unknown (0x...)" otherwise.
func (m MachineInfo) Arch() string {
	switch m.Machine {
	case MachineAMD64:
		return "AMD64"
	case MachineI386:
		return "x86"
	case MachineARM64:
		return "ARM64"
	case MachineARM, MachineARMNT:
		return "ARM"
	case MachineIA64:
		return "IA64"
	}
	return fmt.Sprintf("unknown (0x%04x)", m.Machine)
}

// Bits is 64 for a PE32+ file, 32 for a PE32 file.
func (m MachineInfo) Bits() int {
	if m.PE32Plus {
		return 64
	}
	return 32
}

// ParseMachine reads the machine type and optional-header magic of a PE
// file of size bytes (ntdll.dll's tells a Windows image's architecture). It
// reads only the DOS header, the PE signature, the COFF header and the
// magic, and reports ErrNotPE, ErrTruncated or ErrMalformed (wrapped) on
// bad input.
func ParseMachine(r io.ReaderAt, size int64) (MachineInfo, error) {
	if size < 0 {
		return MachineInfo{}, fmt.Errorf("%w: negative size %d", ErrNotPE, size)
	}
	p := &peFile{r: r, size: size}
	if size < 64 {
		return MachineInfo{}, fmt.Errorf("%w: %d bytes, too short for a DOS header", ErrNotPE, size)
	}
	dos, err := p.readAt(0, 64, "DOS header")
	if err != nil {
		return MachineInfo{}, err
	}
	if dos[0] != 'M' || dos[1] != 'Z' {
		return MachineInfo{}, fmt.Errorf("%w: no MZ signature", ErrNotPE)
	}
	lfanew := int64(binary.LittleEndian.Uint32(dos[0x3c:]))
	if lfanew+24+2 > size {
		return MachineInfo{}, fmt.Errorf("%w: PE header offset %d is past the end of the file (%d bytes)", ErrNotPE, lfanew, size)
	}
	hdr, err := p.readAt(lfanew, 4+20+2, "PE header")
	if err != nil {
		return MachineInfo{}, err
	}
	if string(hdr[:4]) != "PE\x00\x00" {
		return MachineInfo{}, fmt.Errorf("%w: no PE signature at offset %d", ErrNotPE, lfanew)
	}
	m := MachineInfo{Machine: binary.LittleEndian.Uint16(hdr[4:])}
	if optSize := binary.LittleEndian.Uint16(hdr[4+16:]); optSize < 2 {
		return MachineInfo{}, fmt.Errorf("%w: optional header too small (%d bytes)", ErrMalformed, optSize)
	}
	switch magic := binary.LittleEndian.Uint16(hdr[24:]); magic {
	case 0x10b:
	case 0x20b:
		m.PE32Plus = true
	default:
		return MachineInfo{}, fmt.Errorf("%w: unknown optional header magic 0x%x", ErrMalformed, magic)
	}
	return m, nil
}

// ReadMachine reads the machine type of the PE file at host path p.
func ReadMachine(p string) (MachineInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return MachineInfo{}, fmt.Errorf("read %s: %w", p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return MachineInfo{}, fmt.Errorf("read %s: %w", p, err)
	}
	if !st.Mode().IsRegular() {
		return MachineInfo{}, fmt.Errorf("read %s: not a regular file", p)
	}
	m, err := ParseMachine(f, st.Size())
	if err != nil {
		return MachineInfo{}, fmt.Errorf("read %s: %w", p, err)
	}
	return m, nil
}
