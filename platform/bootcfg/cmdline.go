package bootcfg

import (
	"sort"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
)

// DefaultGrub is what /etc/default/grub (and /etc/default/grub.d/*.cfg,
// sourced after it in name order) give the next grub-mkconfig.
type DefaultGrub struct {
	// Vars are the final values of the assignments.
	Vars map[string]string
	// Files are the files read, in order.
	Files []string
}

// Cmdline is GRUB_CMDLINE_LINUX followed by GRUB_CMDLINE_LINUX_DEFAULT:
// the arguments grub-mkconfig puts on a normal entry's command line.
func (d DefaultGrub) Cmdline() string {
	return strings.Join(strings.Fields(d.Vars["GRUB_CMDLINE_LINUX"]+" "+d.Vars["GRUB_CMDLINE_LINUX_DEFAULT"]), " ")
}

// ReadDefaultGrub reads /etc/default/grub and /etc/default/grub.d/*.cfg;
// Files is empty when there is neither.
func ReadDefaultGrub(root fsroot.Root) DefaultGrub {
	d := DefaultGrub{Vars: map[string]string{}}
	files := []string{"/etc/default/grub"}
	if ents, err := root.ReadDir("/etc/default/grub.d"); err == nil {
		var more []string
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".cfg") {
				more = append(more, "/etc/default/grub.d/"+e.Name())
			}
		}
		sort.Strings(more)
		files = append(files, more...)
	}
	for _, f := range files {
		data, err := root.ReadFile(f, fsroot.MaxSmallFile)
		if err != nil {
			continue
		}
		d.Files = append(d.Files, f)
		ParseShellVars(data, d.Vars)
	}
	return d
}

// ParseShellVars reads NAME=VALUE assignments of a shell fragment such as
// /etc/default/grub into vars: quotes, $NAME and ${NAME} expansion from
// earlier values, comments; other commands are ignored.
func ParseShellVars(data []byte, vars map[string]string) {
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		line = strings.TrimPrefix(line, "export ")
		i := strings.IndexByte(line, '=')
		if i <= 0 || strings.HasPrefix(line, "#") || !isName(line[:i]) {
			continue
		}
		name, rest := line[:i], line[i+1:]
		var b strings.Builder
		var quote byte
	scan:
		for j := 0; j < len(rest); j++ {
			c := rest[j]
			switch {
			case quote == '\'':
				if c == '\'' {
					quote = 0
				} else {
					b.WriteByte(c)
				}
			case c == '\'' && quote == 0:
				quote = c
			case c == '"':
				if quote == '"' {
					quote = 0
				} else {
					quote = c
				}
			case c == '\\' && j+1 < len(rest):
				j++
				b.WriteByte(rest[j])
			case c == '$':
				k, v := expandOne(rest[j:], vars)
				b.WriteString(v)
				j += k - 1
			case quote == 0 && (c == ' ' || c == '\t' || c == ';'):
				break scan
			case quote == 0 && c == '#' && b.Len() == 0:
				break scan
			default:
				b.WriteByte(c)
			}
		}
		vars[name] = b.String()
	}
}

// expandOne expands the $NAME or ${NAME} at the start of s; it returns how
// many bytes it used.
func expandOne(s string, vars map[string]string) (int, string) {
	if len(s) > 1 && s[1] == '{' {
		if k := strings.IndexByte(s, '}'); k > 0 {
			return k + 1, vars[s[2:k]]
		}
		return 1, "$"
	}
	k := 1
	for k < len(s) && (s[k] == '_' || isDigit(s[k]) || (s[k]|0x20 >= 'a' && s[k]|0x20 <= 'z')) {
		k++
	}
	if k == 1 {
		return 1, "$"
	}
	return k, vars[s[1:k]]
}

func isName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') || (i > 0 && isDigit(c))) {
			return false
		}
	}
	return s != ""
}

// HasArg reports whether the command line has arg: "console=ttyS0" is
// matched by "console=ttyS0" and "console=ttyS0,115200n8".
func HasArg(cmdline, arg string) bool {
	for _, w := range strings.Fields(cmdline) {
		if w == arg || strings.HasPrefix(w, arg+",") {
			return true
		}
	}
	return false
}
