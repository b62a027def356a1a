package agent

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// WaagentConf is a parsed /etc/waagent.conf: Key=Value lines, '#' comments.
type WaagentConf struct {
	Values map[string]string
	// Problems are lines that were not understood, as "line N: ...".
	Problems []string
}

// Get returns the value of key and whether the file set it.
func (c WaagentConf) Get(key string) (string, bool) {
	v, ok := c.Values[key]
	return v, ok
}

// ParseWaagentConf parses waagent.conf content. Lines it cannot read are
// listed in Problems; content that is not text at all is an error.
func ParseWaagentConf(data []byte) (WaagentConf, error) {
	if bytes.IndexByte(data, 0) >= 0 {
		return WaagentConf{}, fmt.Errorf("binary data (NUL bytes): not a waagent.conf")
	}
	c := WaagentConf{Values: map[string]string{}}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !utf8.ValidString(line) {
			c.Problems = append(c.Problems, fmt.Sprintf("line %d: not valid UTF-8", i+1))
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			c.Problems = append(c.Problems, fmt.Sprintf("line %d: not Key=Value: %q", i+1, clip(line, 60)))
			continue
		}
		// waagent strips inline comments after the value.
		if j := strings.Index(v, "#"); j >= 0 {
			v = v[:j]
		}
		c.Values[k] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	if len(c.Values) == 0 && len(c.Problems) > 0 {
		return c, fmt.Errorf("no Key=Value lines (%s)", c.Problems[0])
	}
	return c, nil
}

// yes reports how waagent reads a y/n value: only "y" (any case) is true.
func yes(v string) bool { return strings.EqualFold(strings.TrimSpace(v), "y") }

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
