package pkgdb

import "strings"

// NewestEVR returns the highest of the "[epoch:]version[-release]" strings
// in vs by RPM's ordering (see CompareEVR), or "" when vs is empty. Of
// versions that compare equal, the first one is kept.
func NewestEVR(vs []string) string {
	best := ""
	for _, v := range vs {
		if best == "" || CompareEVR(v, best) > 0 {
			best = v
		}
	}
	return best
}

// CompareEVR orders two "[epoch:]version[-release]" strings as rpm does and
// returns -1, 0 or +1: first the epoch (a missing epoch is 0), then the
// version, then the release, the last two compared like rpmvercmp. A
// missing release on either side compares equal, so "1.0" matches any
// release of 1.0. The epoch ends at the first ':', the release starts after
// the last '-'.
func CompareEVR(a, b string) int {
	return splitEVR(a).compare(splitEVR(b))
}

// rpmEVR is an RPM epoch, version and release; an empty epoch means 0 and
// an empty release matches any.
type rpmEVR struct{ epoch, version, release string }

// splitEVR splits "[epoch:]version[-release]": the epoch ends at the first
// ':', the release starts after the last '-'.
func splitEVR(s string) rpmEVR {
	var e rpmEVR
	if i := strings.IndexByte(s, ':'); i >= 0 {
		e.epoch, s = s[:i], s[i+1:]
	}
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		s, e.release = s[:i], s[i+1:]
	}
	e.version = s
	return e
}

// String renders [epoch:]version-release.
func (e rpmEVR) String() string {
	s := e.version + "-" + e.release
	if e.epoch != "" {
		return e.epoch + ":" + s
	}
	return s
}

// compare orders two EVRs as rpm does: epoch, then version, then release
// (a missing release on either side compares equal).
func (e rpmEVR) compare(o rpmEVR) int {
	if c := compareNum(e.epoch, o.epoch); c != 0 {
		return c
	}
	if c := rpmVerCmp(e.version, o.version); c != 0 {
		return c
	}
	if e.release == "" || o.release == "" {
		return 0
	}
	return rpmVerCmp(e.release, o.release)
}

// compareNum compares two strings of digits by value, any length (leading
// zeros do not count; "" is 0).
func compareNum(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// rpmVerCmp compares one version or release field as rpm's rpmvercmp does:
// the strings are cut into runs of digits and runs of ASCII letters, other
// characters only separate; digit runs compare by value and beat letter
// runs, letter runs compare as text; '~' sorts before anything (even the
// end) and '^' after the end but before anything else; when one side runs
// out, the longer one is newer.
func rpmVerCmp(a, b string) int {
	if a == b {
		return 0
	}
	isSep := func(c byte) bool { return !isAlnum(c) && c != '~' && c != '^' }
	for {
		for len(a) > 0 && isSep(a[0]) {
			a = a[1:]
		}
		for len(b) > 0 && isSep(b[0]) {
			b = b[1:]
		}
		// Tilde: sorts lower than everything.
		at, bt := strings.HasPrefix(a, "~"), strings.HasPrefix(b, "~")
		if at || bt {
			if at && bt {
				a, b = a[1:], b[1:]
				continue
			}
			if at {
				return -1
			}
			return 1
		}
		// Caret: higher than the end, lower than anything else.
		ac, bc := strings.HasPrefix(a, "^"), strings.HasPrefix(b, "^")
		if ac || bc {
			switch {
			case a == "":
				return -1
			case b == "":
				return 1
			case !ac:
				return 1
			case !bc:
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		if a == "" || b == "" {
			break
		}
		num := isDigit(a[0])
		if num != isDigit(b[0]) {
			// A number is newer than letters.
			if num {
				return 1
			}
			return -1
		}
		sa, sb := leadRun(a, num), leadRun(b, num)
		a, b = a[len(sa):], b[len(sb):]
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
	default:
		return 1
	}
}

// leadRun returns the leading run of digits (num) or ASCII letters of s.
func leadRun(s string, num bool) string {
	i := 0
	for i < len(s) && isAlnum(s[i]) && isDigit(s[i]) == num {
		i++
	}
	return s[:i]
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
