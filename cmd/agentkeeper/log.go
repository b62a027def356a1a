package main

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"unicode"
)

// outputKey marks a log record that is a line a command printed (apt-get,
// dnf, zypper, msiexec): it is shown indented under the step it belongs to.
const outputKey = "output"

// cliHandler is the one format of what agentkeeper's commands write on
// stderr, progress and logs alike:
//
//	agentkeeper: install waagent with apt-get
//	agentkeeper:     Setting up waagent (2.7.3.0-4.1) ...
//	agentkeeper: warning: config.yaml: unknown key "foo" (ignored)
//	agentkeeper: debug: done cmd="apt-get install -y waagent" exit=0 took=3.2s
//
// Messages at info have no level word, the others say warning, error or
// debug; attributes follow as key=value (quoted when they hold blanks,
// quotes or "="). There is no time: these are commands that end (the
// service, `run`, logs with times).
type cliHandler struct {
	mu     *sync.Mutex
	w      io.Writer
	level  slog.Leveler
	attrs  string // pre-rendered " k=v" of WithAttrs
	prefix string // group prefix "g."
}

func newCLIHandler(w io.Writer, level slog.Leveler) *cliHandler {
	return &cliHandler{mu: &sync.Mutex{}, w: w, level: level}
}

func (h *cliHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.level.Level() }

func (h *cliHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString("agentkeeper: ")
	output := false
	var attrs strings.Builder
	attrs.WriteString(h.attrs)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == outputKey && h.prefix == "" && a.Value.Kind() == slog.KindBool {
			output = a.Value.Bool()
			return true
		}
		appendAttr(&attrs, h.prefix, a)
		return true
	})
	switch {
	case output:
		b.WriteString("    ")
	case r.Level >= slog.LevelError:
		b.WriteString("error: ")
	case r.Level >= slog.LevelWarn:
		b.WriteString("warning: ")
	case r.Level < slog.LevelInfo:
		b.WriteString("debug: ")
	}
	b.WriteString(printable(strings.TrimRightFunc(r.Message, unicode.IsSpace)))
	b.WriteString(attrs.String())
	b.WriteByte('\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *cliHandler) WithAttrs(as []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range as {
		appendAttr(&b, h.prefix, a)
	}
	c := *h
	c.attrs = b.String()
	return &c
}

func (h *cliHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.prefix += name + "."
	return &c
}

// appendAttr writes " key=value" (groups flattened to key.sub=value).
func appendAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			appendAttr(b, p, g)
		}
		return
	}
	b.WriteByte(' ')
	b.WriteString(prefix + a.Key)
	b.WriteByte('=')
	v := a.Value.String()
	if v == "" || strings.ContainsAny(v, " \t\r\n\"=") || strings.IndexFunc(v, notPrint) >= 0 {
		v = strconv.Quote(v)
	}
	b.WriteString(v)
}

func notPrint(r rune) bool { return !strconv.IsPrint(r) }

// printable replaces what a terminal would act on (escape sequences,
// control characters) in a message, such as a line a command printed, by "?".
func printable(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r != '\t' && notPrint(r) }) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r != '\t' && notPrint(r) {
			return '?'
		}
		return r
	}, s)
}
