package msi

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeLog turns the bytes of a msiexec log into text. msiexec writes its
// logs in UTF-16LE with a byte order mark; a UTF-16BE or UTF-8 BOM is
// honoured too, and without a BOM the bytes are taken as UTF-16LE when they
// look like it (mostly zero high bytes), else as UTF-8. Invalid sequences
// become U+FFFD, CRLF becomes LF, and NUL characters are dropped, so the
// result is always valid UTF-8.
func decodeLog(b []byte) string {
	var s string
	switch {
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		s = decodeUTF16(b[2:], false)
	case len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF:
		s = decodeUTF16(b[2:], true)
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		s = strings.ToValidUTF8(string(b[3:]), string(utf8.RuneError))
	case looksUTF16LE(b):
		s = decodeUTF16(b, false)
	default:
		s = strings.ToValidUTF8(string(b), string(utf8.RuneError))
	}
	s = strings.ReplaceAll(s, "\x00", "")
	return strings.ReplaceAll(s, "\r\n", "\n")
}

// decodeUTF16 decodes UTF-16 code units (an odd last byte is dropped).
func decodeUTF16(b []byte, bigEndian bool) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		lo, hi := b[2*i], b[2*i+1]
		if bigEndian {
			lo, hi = hi, lo
		}
		u[i] = uint16(lo) | uint16(hi)<<8
	}
	return string(utf16.Decode(u))
}

// looksUTF16LE reports whether b, without a BOM, looks like UTF-16LE text:
// among its first code units, most have a zero high byte and a non-zero low
// byte (ASCII in UTF-16LE).
func looksUTF16LE(b []byte) bool {
	n := min(len(b)/2, 256)
	if n < 2 {
		return false
	}
	ascii := 0
	for i := range n {
		if b[2*i] != 0 && b[2*i+1] == 0 {
			ascii++
		}
	}
	return ascii*4 >= n*3
}

// tailLines returns the last n lines of s, without trailing blank lines.
func tailLines(s string, n int) string {
	s = strings.TrimRight(s, "\n\r\t ")
	if n <= 0 || s == "" {
		return ""
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			n--
			if n == 0 {
				return s[i+1:]
			}
		}
	}
	return s
}
