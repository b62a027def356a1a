package agent

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// WaagentConf is a parsed /etc/waagent.conf: Key=Value lines, '#' comments,
// read as the agent's own ConfigurationProvider reads them.
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

// Switch returns the y/n setting key as waagent's get_switch does: "y" is
// on, "n" is off (any case), and anything else (unset, blank, "None", a
// typo) leaves the agent's default def.
func (c WaagentConf) Switch(key string, def bool) bool {
	v, _ := c.Get(key)
	return switchValue(v, def)
}

// ParseWaagentConf parses waagent.conf content. Lines it cannot read are
// listed in Problems; content that is not text at all is an error.
func ParseWaagentConf(data []byte) (WaagentConf, error) {
	if bytes.IndexByte(data, 0) >= 0 {
		return WaagentConf{}, fmt.Errorf("binary data (NUL bytes): not a waagent.conf")
	}
	if len(data) == 0 {
		// waagent raises AgentConfigError on empty content and does not start.
		return WaagentConf{}, fmt.Errorf("empty file: the agent does not start with an empty configuration")
	}
	c := WaagentConf{Values: map[string]string{}}
	for i, line := range strings.Split(string(data), "\n") {
		if !utf8.ValidString(line) {
			// waagent decodes the whole file as UTF-8 and fails on this,
			// even in a comment. The line is still read (a stray Latin-1
			// "é" must not hide Extensions.Enabled=n).
			c.Problems = append(c.Problems, fmt.Sprintf("line %d: not valid UTF-8 (Latin-1?): the agent cannot read a file that is not UTF-8", i+1))
			line = strings.ToValidUTF8(line, "\uFFFD")
		}
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsFunc(k, unicode.IsSpace) {
			c.Problems = append(c.Problems, fmt.Sprintf("line %d: not Key=Value: %q", i+1, clip(line, 60)))
			continue
		}
		// As waagent: drop an inline comment, then quotes and spaces around
		// the value.
		if j := strings.Index(v, "#"); j >= 0 {
			v = v[:j]
		}
		c.Values[k] = strings.TrimSpace(strings.Trim(v, "\" "))
	}
	if len(c.Values) == 0 && len(c.Problems) > 0 {
		return c, fmt.Errorf("no Key=Value lines (%s)", c.Problems[0])
	}
	return c, nil
}

// switchValue is waagent's get_switch on one value.
func switchValue(v string, def bool) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "y":
		return true
	case "n":
		return false
	}
	return def
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
