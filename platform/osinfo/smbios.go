package osinfo

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// SMBIOS layout (DMTF DSP0134): a table is a run of structures, each a
// formatted area (type, length, handle, fields) followed by a string set of
// NUL-terminated strings ended by an extra NUL (two NULs when empty).
// Fields refer to strings by 1-based index, 0 meaning "none".
const (
	smbiosTypeChassis   = 3
	smbiosTypeEnd       = 127
	smbiosHeaderLen     = 4
	smbiosChassisAssetO = 0x08 // chassis: asset tag string index
	// rawSMBIOSHeaderLen is the size of the RawSMBIOSData header that
	// GetSystemFirmwareTable('RSMB') puts before the table: four bytes of
	// version information and a little-endian uint32 table length.
	rawSMBIOSHeaderLen = 8
)

// errNoChassis means a well-formed SMBIOS table holds no chassis structure.
var errNoChassis = errors.New("SMBIOS table has no chassis (type 3) structure")

// parseRawSMBIOSData returns the SMBIOS table inside a RawSMBIOSData buffer
// as GetSystemFirmwareTable('RSMB') returns it.
func parseRawSMBIOSData(b []byte) ([]byte, error) {
	if len(b) < rawSMBIOSHeaderLen {
		return nil, fmt.Errorf("raw SMBIOS data: %d bytes, shorter than its %d-byte header", len(b), rawSMBIOSHeaderLen)
	}
	n := binary.LittleEndian.Uint32(b[4:8])
	if uint64(n) > uint64(len(b)-rawSMBIOSHeaderLen) {
		return nil, fmt.Errorf("raw SMBIOS data: header says the table has %d bytes but only %d follow", n, len(b)-rawSMBIOSHeaderLen)
	}
	return b[rawSMBIOSHeaderLen : rawSMBIOSHeaderLen+int(n)], nil
}

// parseSMBIOSChassisAssetTag returns the asset tag of the first chassis
// structure of an SMBIOS table: "" when the chassis has none, errNoChassis
// when the table holds no chassis, and an error naming the offset when a
// structure runs past the end or is malformed.
func parseSMBIOSChassisAssetTag(table []byte) (string, error) {
	off := 0
	for off < len(table) {
		if len(table)-off < smbiosHeaderLen {
			return "", fmt.Errorf("SMBIOS structure at offset %d: truncated header (%d bytes left)", off, len(table)-off)
		}
		typ, length := table[off], int(table[off+1])
		if length < smbiosHeaderLen {
			return "", fmt.Errorf("SMBIOS structure at offset %d: length %d is shorter than its header", off, length)
		}
		if length > len(table)-off {
			return "", fmt.Errorf("SMBIOS structure at offset %d: length %d runs past the end of the table (%d bytes)", off, length, len(table))
		}
		if typ == smbiosTypeEnd {
			break
		}
		strs, next, err := smbiosStrings(table, off+length)
		if err != nil {
			return "", fmt.Errorf("SMBIOS structure at offset %d (type %d): %w", off, typ, err)
		}
		if typ == smbiosTypeChassis {
			if length <= smbiosChassisAssetO {
				return "", fmt.Errorf("SMBIOS chassis structure at offset %d: length %d has no asset tag field", off, length)
			}
			idx := int(table[off+smbiosChassisAssetO])
			if idx == 0 {
				return "", nil
			}
			if idx > len(strs) {
				return "", fmt.Errorf("SMBIOS chassis structure at offset %d: asset tag is string %d but the structure has %d strings", off, idx, len(strs))
			}
			return strs[idx-1], nil
		}
		off = next
	}
	return "", errNoChassis
}

// smbiosStrings reads the string set starting at start and returns the
// strings and the offset just after the set.
func smbiosStrings(table []byte, start int) ([]string, int, error) {
	if len(table)-start < 2 {
		return nil, 0, errors.New("string set runs past the end of the table")
	}
	if table[start] == 0 && table[start+1] == 0 {
		return nil, start + 2, nil
	}
	var strs []string
	p := start
	for {
		n := 0
		for p+n < len(table) && table[p+n] != 0 {
			n++
		}
		if p+n >= len(table) {
			return nil, 0, errors.New("string set runs past the end of the table")
		}
		strs = append(strs, string(table[p:p+n]))
		p += n + 1
		if p >= len(table) {
			return nil, 0, errors.New("string set runs past the end of the table")
		}
		if table[p] == 0 {
			return strs, p + 1, nil
		}
	}
}
