package main

import (
	"bytes"
	"errors"
	"log/slog"
	"testing"
	"time"
)

func TestCLIHandler(t *testing.T) {
	tests := []struct {
		desc string
		log  func(l *slog.Logger)
		want string
	}{
		{desc: "info: the message alone", log: func(l *slog.Logger) { l.Info("install waagent with apt-get") },
			want: "agentkeeper: install waagent with apt-get\n"},
		{desc: "a command's line, indented", log: func(l *slog.Logger) { l.Info("Setting up waagent (2.7.3.0-4.1) ...", outputKey, true) },
			want: "agentkeeper:     Setting up waagent (2.7.3.0-4.1) ...\n"},
		{desc: "warning with attributes, quoted when needed", log: func(l *slog.Logger) {
			l.Warn("unknown key", "key", "foo", "file", "/etc/a b.yaml", "empty", "", "n", 3)
		}, want: "agentkeeper: warning: unknown key key=foo file=\"/etc/a b.yaml\" empty=\"\" n=3\n"},
		{desc: "error", log: func(l *slog.Logger) { l.Error("boom", "err", errors.New(`x="y"`)) },
			want: "agentkeeper: error: boom err=\"x=\\\"y\\\"\"\n"},
		{desc: "debug with a duration", log: func(l *slog.Logger) {
			l.Debug("done", "cmd", "apt-get install -y waagent", "took", 3200*time.Millisecond)
		},
			want: "agentkeeper: debug: done cmd=\"apt-get install -y waagent\" took=3.2s\n"},
		{desc: "WithAttrs and groups flatten", log: func(l *slog.Logger) {
			l.With("root", "/mnt").WithGroup("pkg").Info("run", slog.Group("res", "exit", 0))
		}, want: "agentkeeper: run root=/mnt pkg.res.exit=0\n"},
		{desc: "escape sequences in a line are defused", log: func(l *slog.Logger) { l.Info("evil \x1b[2J\x07 line", outputKey, true) },
			want: "agentkeeper:     evil ?[2J? line\n"},
		{desc: "below the level: nothing", log: func(l *slog.Logger) { l.Debug("hidden") }, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			var b bytes.Buffer
			level := slog.LevelInfo
			if tc.desc == "debug with a duration" {
				level = slog.LevelDebug
			}
			tc.log(slog.New(newCLIHandler(&b, level)))
			if b.String() != tc.want {
				t.Errorf("got  %q\nwant %q", b.String(), tc.want)
			}
		})
	}
}
