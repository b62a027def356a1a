package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
)

// SystemLogger is the system log a service writes to (journald or syslog,
// the Windows Event Log): kardianos/service's Logger has these methods.
type SystemLogger interface {
	Error(v ...any) error
	Warning(v ...any) error
	Info(v ...any) error
}

// NewSystemHandler returns a slog.Handler that formats records as
// "message key=value ..." (no time: the system log adds it) and writes each
// to out at the matching severity (debug goes as info).
func NewSystemHandler(out SystemLogger, level slog.Leveler) slog.Handler {
	s := &sysShared{out: out}
	return &sysHandler{s: s, inner: slog.NewTextHandler(&s.buf, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
				return slog.Attr{}
			}
			return a
		},
	})}
}

type sysShared struct {
	mu  sync.Mutex
	buf bytes.Buffer
	out SystemLogger
}

type sysHandler struct {
	s     *sysShared
	inner slog.Handler
}

func (h *sysHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *sysHandler) Handle(ctx context.Context, r slog.Record) error {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	h.s.buf.Reset()
	if err := h.inner.Handle(ctx, r); err != nil {
		return err
	}
	line := strings.TrimSuffix(h.s.buf.String(), "\n")
	line = strings.TrimPrefix(line, "msg=")
	switch {
	case r.Level >= slog.LevelError:
		return h.s.out.Error(line)
	case r.Level >= slog.LevelWarn:
		return h.s.out.Warning(line)
	default:
		return h.s.out.Info(line)
	}
}

func (h *sysHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &sysHandler{s: h.s, inner: h.inner.WithAttrs(as)}
}

func (h *sysHandler) WithGroup(name string) slog.Handler {
	return &sysHandler{s: h.s, inner: h.inner.WithGroup(name)}
}
