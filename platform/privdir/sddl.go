package privdir

import (
	"fmt"
	"strconv"
	"strings"
)

// SDDL is the security descriptor of a private directory: owner
// Administrators, a protected DACL (nothing inherited from the parent)
// granting full control to SYSTEM and Administrators only, inherited by
// everything created inside. packaging/msi gives %ProgramData%\agentkeeper
// the same.
const SDDL = "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

// The Windows check judges a directory's security descriptor in its SDDL
// form (what ConvertSecurityDescriptorToStringSecurityDescriptor prints),
// so the judgment is a pure function tested and fuzzed on every OS.

// sddlRights are the SDDL right letters (sddl.h) and their access-mask bits.
// For files and directories the "DS" letters name the same bits as
// FILE_ADD_FILE (DC, 0x2), FILE_ADD_SUBDIRECTORY (LC, 0x4) and
// FILE_DELETE_CHILD (DT, 0x40).
var sddlRights = map[string]uint32{
	"GA": 0x10000000, "GR": 0x80000000, "GW": 0x40000000, "GX": 0x20000000,
	"RC": 0x00020000, "SD": 0x00010000, "WD": 0x00040000, "WO": 0x00080000,
	"RP": 0x10, "WP": 0x20, "CC": 0x1, "DC": 0x2, "LC": 0x4, "SW": 0x8, "LO": 0x80, "DT": 0x40, "CR": 0x100,
	"FA": 0x1F01FF, "FR": 0x120089, "FW": 0x120116, "FX": 0x1200A0,
	"KA": 0xF003F, "KR": 0x20019, "KW": 0x20006, "KX": 0x20019,
}

// sddlWriteMask are the rights that let a holder plant, replace or delete
// files in a directory, or change who may: FILE_ADD_FILE,
// FILE_ADD_SUBDIRECTORY, FILE_WRITE_EA (0x10), FILE_DELETE_CHILD,
// FILE_WRITE_ATTRIBUTES (0x100), DELETE, WRITE_DAC, WRITE_OWNER,
// GENERIC_WRITE, GENERIC_ALL.
const sddlWriteMask = 0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x00010000 | 0x00040000 | 0x00080000 | 0x40000000 | 0x10000000

// ace is one access control entry of an SDDL DACL.
type ace struct {
	typ, flags string
	mask       uint32
	sid        string
}

// sd is the part of a security descriptor the check needs.
type sd struct {
	owner string
	// daclFlags are the flags after "D:" (P: protected, AI, AR).
	daclFlags string
	// hasDACL: a "D:" part is present; nullDACL: "D:NO_ACCESS_CONTROL".
	hasDACL, nullDACL bool
	aces              []ace
}

// parseSDDL reads the owner and the DACL of an SDDL string. The group (G:)
// and SACL (S:) are skipped.
func parseSDDL(s string) (sd, error) {
	var out sd
	rest := s
	for rest != "" {
		if len(rest) < 2 || rest[1] != ':' {
			return sd{}, fmt.Errorf("SDDL %q: expected O:, G:, D: or S: at %q", clip(s), clip(rest))
		}
		tag := rest[0]
		rest = rest[2:]
		// The part runs to the next X: that is not inside parentheses.
		end, depth := len(rest), 0
		for i := 0; i < len(rest); i++ {
			switch c := rest[i]; {
			case c == '(':
				depth++
			case c == ')':
				depth--
				if depth < 0 {
					return sd{}, fmt.Errorf("SDDL %q: unbalanced parentheses", clip(s))
				}
			case depth == 0 && i+1 < len(rest) && rest[i+1] == ':' && strings.IndexByte("OGDS", c) >= 0 && i > 0:
				end = i
			}
			if end != len(rest) {
				break
			}
		}
		if depth != 0 && end == len(rest) {
			return sd{}, fmt.Errorf("SDDL %q: unbalanced parentheses", clip(s))
		}
		part := rest[:end]
		rest = rest[end:]
		switch tag {
		case 'O':
			if part == "" {
				return sd{}, fmt.Errorf("SDDL %q: empty owner", clip(s))
			}
			out.owner = part
		case 'D':
			if out.hasDACL {
				return sd{}, fmt.Errorf("SDDL %q: two DACLs", clip(s))
			}
			out.hasDACL = true
			i := strings.IndexByte(part, '(')
			if i < 0 {
				i = len(part)
			}
			out.daclFlags = part[:i]
			if strings.Contains(out.daclFlags, "NO_ACCESS_CONTROL") {
				out.nullDACL = true
			}
			aces, err := parseACEs(part[i:])
			if err != nil {
				return sd{}, fmt.Errorf("SDDL %q: %w", clip(s), err)
			}
			out.aces = aces
		case 'G', 'S':
		default:
			return sd{}, fmt.Errorf("SDDL %q: unknown part %q", clip(s), string(tag)+":")
		}
	}
	return out, nil
}

// parseACEs reads "(A;OICI;FA;;;SY)(...)".
func parseACEs(s string) ([]ace, error) {
	var out []ace
	for s != "" {
		if s[0] != '(' {
			return nil, fmt.Errorf("expected ( at %q", clip(s))
		}
		j := strings.IndexByte(s, ')')
		if j < 0 {
			return nil, fmt.Errorf("unterminated ACE %q", clip(s))
		}
		f := strings.Split(s[1:j], ";")
		if len(f) < 6 {
			return nil, fmt.Errorf("ACE %q has %d fields, want 6", clip(s[:j+1]), len(f))
		}
		mask, err := parseRights(f[2])
		if err != nil {
			return nil, fmt.Errorf("ACE %q: %w", clip(s[:j+1]), err)
		}
		if f[5] == "" {
			return nil, fmt.Errorf("ACE %q names no account", clip(s[:j+1]))
		}
		out = append(out, ace{typ: f[0], flags: f[1], mask: mask, sid: f[5]})
		s = s[j+1:]
	}
	return out, nil
}

// parseRights reads an SDDL rights field: hex (0x1200a9) or letter pairs.
func parseRights(s string) (uint32, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		n, err := strconv.ParseUint(s[2:], 16, 32)
		if err != nil {
			return 0, fmt.Errorf("rights %q: %w", s, err)
		}
		return uint32(n), nil
	}
	if len(s)%2 != 0 {
		return 0, fmt.Errorf("rights %q: odd number of letters", s)
	}
	var m uint32
	for i := 0; i < len(s); i += 2 {
		bits, ok := sddlRights[s[i:i+2]]
		if !ok {
			return 0, fmt.Errorf("rights %q: unknown right %q", s, s[i:i+2])
		}
		m |= bits
	}
	return m, nil
}

// checkSDDL judges a directory's security descriptor: the owner must be one
// of trusted (SIDs or SDDL aliases: SY, BA, the running user), there must be
// a DACL, and no allow entry that applies to the directory itself may give
// write rights to anyone but the trusted, the owner and CREATOR OWNER
// (which applies to what each user creates inside, not to the directory).
func checkSDDL(s string, trusted ...string) error {
	d, err := parseSDDL(s)
	if err != nil {
		return err
	}
	isTrusted := func(sid string) bool {
		for _, t := range trusted {
			if strings.EqualFold(t, sid) {
				return true
			}
		}
		return false
	}
	if d.owner == "" {
		return fmt.Errorf("its owner cannot be read")
	}
	if !isTrusted(d.owner) {
		return fmt.Errorf("it is owned by %s, not SYSTEM or Administrators: check what is in it, then, as Administrator, make Administrators its owner and give only SYSTEM and Administrators access (icacls DIR /setowner *S-1-5-32-544, icacls DIR /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F, and /remove any other account), or remove it: agentkeeper makes it again", d.owner)
	}
	if !d.hasDACL || d.nullDACL {
		return fmt.Errorf("it has no ACL (everyone may write it)")
	}
	for _, a := range d.aces {
		if a.typ != "A" || strings.Contains(a.flags, "IO") {
			continue // deny entries only take away; inherit-only ones do not apply to it
		}
		if a.mask&sddlWriteMask != 0 && !isTrusted(a.sid) && !strings.EqualFold(a.sid, d.owner) && a.sid != "CO" {
			return fmt.Errorf("its ACL lets %s write it: check what is in it, then, as Administrator, make Administrators its owner and give only SYSTEM and Administrators access (icacls DIR /setowner *S-1-5-32-544, icacls DIR /inheritance:r /grant:r *S-1-5-18:(OI)(CI)F *S-1-5-32-544:(OI)(CI)F, and /remove any other account), or remove it: agentkeeper makes it again", a.sid)
		}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
