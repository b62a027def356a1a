package pkgmgr

import "strings"

// newestEVR returns the highest of the [epoch:]version[-release] strings in
// vs by RPM's ordering ("" for none).
func newestEVR(vs []string) string {
	best := ""
	for _, v := range vs {
		if best == "" || compareEVR(v, best) > 0 {
			best = v
		}
	}
	return best
}

// compareEVR orders two [epoch:]version[-release] strings as rpm does: a
// missing epoch is 0, then version, then release (a missing release on
// either side compares equal).
func compareEVR(a, b string) int {
	ea, va, ra := splitEVR(a)
	eb, vb, rb := splitEVR(b)
	if c := compareNum(ea, eb); c != 0 {
		return c
	}
	if c := rpmVerCmp(va, vb); c != 0 {
		return c
	}
	if ra == "" || rb == "" {
		return 0
	}
	return rpmVerCmp(ra, rb)
}

// splitEVR splits "[epoch:]version[-release]"; the release starts after the
// last "-".
func splitEVR(s string) (epoch, ver, rel string) {
	if i := strings.IndexByte(s, ':'); i >= 0 {
		epoch, s = s[:i], s[i+1:]
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		s, rel = s[:i], s[i+1:]
	}
	if epoch == "" {
		epoch = "0"
	}
	return epoch, s, rel
}

// compareNum compares two strings of digits by value, any length.
func compareNum(a, b string) int {
	a = strings.TrimLeft(a, "0")
	b = strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// rpmVerCmp compares one version or release field as rpm's rpmvercmp
// does: the strings are cut into runs of digits and runs of letters, other
// characters only separate; digit runs compare by value and beat letter
// runs; "~" sorts before anything (even the end), "^" after the end but
// before any further run; when one side runs out, the longer one is newer.
func rpmVerCmp(a, b string) int {
	if a == b {
		return 0
	}
	for {
		a = strings.TrimLeftFunc(a, isSep)
		b = strings.TrimLeftFunc(b, isSep)
		ta, tb := strings.HasPrefix(a, "~"), strings.HasPrefix(b, "~")
		if ta || tb {
			if ta && tb {
				a, b = a[1:], b[1:]
				continue
			}
			if ta {
				return -1
			}
			return 1
		}
		ca, cb := strings.HasPrefix(a, "^"), strings.HasPrefix(b, "^")
		if ca || cb {
			switch {
			case ca && cb:
				a, b = a[1:], b[1:]
				continue
			case ca:
				if b == "" {
					return 1
				}
				return -1
			default:
				if a == "" {
					return -1
				}
				return 1
			}
		}
		if a == "" || b == "" {
			break
		}
		num := isDigit(a[0])
		sa, sb := leadRun(a, num), leadRun(b, num)
		a, b = a[len(sa):], b[len(sb):]
		if sb == "" {
			// b's run is of the other kind: a number is newer than letters.
			if num {
				return 1
			}
			return -1
		}
		var c int
		if num {
			c = compareNum(sa, sb)
		} else {
			c = strings.Compare(sa, sb)
		}
		if c != 0 {
			return c
		}
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

// isSep reports whether r only separates runs (neither alphanumeric nor
// one of the special "~" and "^").
func isSep(r rune) bool {
	return !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '~' || r == '^')
}

// leadRun returns the leading run of digits (num) or ASCII letters of s.
func leadRun(s string, num bool) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if num && !isDigit(c) || !num && !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			break
		}
		i++
	}
	return s[:i]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
