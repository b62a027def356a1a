package msi

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/agentkeeper/agentkeeper/platform/run"
)

// utf16LE encodes s as msiexec writes its logs: UTF-16LE with a BOM.
func utf16LE(s string) []byte {
	b := []byte{0xFF, 0xFE}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// failingLog looks like the end of a real verbose log of a failed install.
const failingLog = "=== Verbose logging started: 1/2/2025  10:00:00  Build type: SHIP UNICODE 5.00.10011.00  Calling process: C:\\Windows\\system32\\msiexec.exe ===\r\n" +
	"MSI (c) (A0:B4) [10:00:00:000]: Resetting cached policy values\r\n" +
	"CustomAction InstallGuestAgent returned actual error code 1603\r\n" +
	"Action ended 10:00:05: InstallFinalize. Return value 3.\r\n" +
	"MSI (s) (C8:D0) [10:00:05:000]: Product: Windows Azure VM Agent -- Installation failed.\r\n" +
	"=== Verbose logging stopped: 1/2/2025  10:00:05 ===\r\n\r\n"

func TestInstall(t *testing.T) {
	tests := []struct {
		desc      string
		exit      int
		runErr    error
		log       []byte // written to the log path when non-nil
		wantRes   InstallResult
		wantErr   error    // errors.Is, when set
		wantText  []string // substrings of the error; nil with wantErr nil means success
		wantNoErr bool
	}{
		{desc: "success", exit: 0, wantRes: InstallResult{ExitCode: 0}, wantNoErr: true},
		{desc: "reboot required", exit: 3010, wantRes: InstallResult{ExitCode: 3010, RebootRequired: true}, wantNoErr: true},
		{desc: "reboot initiated", exit: 1641, wantRes: InstallResult{ExitCode: 1641, RebootRequired: true}, wantNoErr: true},
		{
			desc: "another installation running", exit: 1618,
			wantRes: InstallResult{ExitCode: 1618}, wantErr: ErrBusy, wantText: []string{"1618", "try again later"},
		},
		{
			desc: "fatal error with a UTF-16 log", exit: 1603, log: utf16LE(failingLog),
			wantRes: InstallResult{ExitCode: 1603},
			wantText: []string{
				"exit 1603", "fatal error", "msiexec /i",
				"Action ended 10:00:05: InstallFinalize. Return value 3.",
				"Product: Windows Azure VM Agent -- Installation failed.",
			},
		},
		{
			desc: "package could not be opened, no log", exit: 1619,
			wantRes: InstallResult{ExitCode: 1619}, wantText: []string{"exit 1619", "could not be opened", "no log"},
		},
		{desc: "invalid package", exit: 1620, wantRes: InstallResult{ExitCode: 1620}, wantText: []string{"1620", "not a valid Windows Installer package"}},
		{desc: "platform unsupported", exit: 1633, wantRes: InstallResult{ExitCode: 1633}, wantText: []string{"1633", "platform unsupported"}},
		{desc: "privileges", exit: 1925, wantRes: InstallResult{ExitCode: 1925}, wantText: []string{"1925", "administrator"}},
		{desc: "unknown code", exit: 42, log: []byte("plain UTF-8 log\n"), wantRes: InstallResult{ExitCode: 42}, wantText: []string{"exit 42", "plain UTF-8 log"}},
		{
			desc: "runner error", runErr: errors.New("exec: \"msiexec\": executable file not found in %PATH%"),
			wantText: []string{"executable file not found", "agent.msi"},
		},
		{
			desc: "context ended", runErr: context.Canceled, wantErr: context.Canceled,
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			dir := t.TempDir()
			msiPath := filepath.Join(dir, "agent.msi")
			logPath := filepath.Join(dir, "install.log")
			if tc.log != nil {
				if err := os.WriteFile(logPath, tc.log, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			f := &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
				return run.Result{ExitCode: tc.exit}, tc.runErr
			}}
			res, err := Install(context.Background(), f, msiPath, logPath)

			wantArgv := []string{"msiexec", "/i", msiPath, "/quiet", "/norestart", "/L*v", logPath}
			cmds := f.Commands()
			if len(cmds) != 1 || !slices.Equal(cmds[0].Argv, wantArgv) {
				t.Errorf("ran %q, want one command %q", cmds, wantArgv)
			}
			want := tc.wantRes
			want.Log = logPath
			if res != want {
				t.Errorf("Install = %+v, want %+v", res, want)
			}
			if tc.wantNoErr {
				if err != nil {
					t.Errorf("Install error %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Install error nil, want an error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("Install error %v, want errors.Is %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && errors.Is(err, ErrBusy) {
				t.Errorf("Install error %v is ErrBusy", err)
			}
			for _, s := range tc.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("Install error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// TestReadLogTail checks that only the end of a long log is read and decoded,
// including when the cut falls inside a UTF-16 code unit.
func TestReadLogTail(t *testing.T) {
	var long strings.Builder
	for i := 0; long.Len() < 3*logTailBytes; i++ {
		long.WriteString("MSI (s) (C8:D0): line ")
		long.WriteString(strings.Repeat("x", i%13))
		long.WriteString(" ü€\r\n")
	}
	long.WriteString("Return value 3.\r\nlast line 𝄞\r\n")
	tests := []struct {
		desc      string
		data      []byte
		wantLast  string
		wantLines int
	}{
		{desc: "long UTF-16LE log", data: utf16LE(long.String()), wantLast: "last line 𝄞", wantLines: logTailLines},
		{desc: "long UTF-16LE log, odd cut", data: append(utf16LE(long.String()), 'X'), wantLast: "last line 𝄞", wantLines: logTailLines},
		{desc: "long UTF-8 log", data: []byte(long.String()), wantLast: "last line 𝄞", wantLines: logTailLines},
		{desc: "short UTF-16LE log", data: utf16LE("one\r\ntwo\r\n"), wantLast: "two", wantLines: 2},
		{desc: "empty log", data: nil, wantLast: "", wantLines: 0},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "install.log")
			if err := os.WriteFile(p, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			got, err := readLogTail(p)
			if err != nil {
				t.Fatal(err)
			}
			if !utf8.ValidString(got) || strings.ContainsRune(got, utf8.RuneError) && tc.desc != "long UTF-16LE log, odd cut" {
				t.Errorf("tail is not clean text: %q", got)
			}
			lines := strings.Split(got, "\n")
			if got == "" {
				lines = nil
			}
			if len(lines) != tc.wantLines {
				t.Errorf("tail has %d lines, want %d: %q", len(lines), tc.wantLines, got)
			}
			if len(lines) > 0 && lines[len(lines)-1] != tc.wantLast {
				t.Errorf("last line %q, want %q", lines[len(lines)-1], tc.wantLast)
			}
			for _, l := range lines {
				if !strings.HasPrefix(l, "MSI (s)") && l != "Return value 3." && l != tc.wantLast && l != "one" {
					t.Errorf("unexpected (cut?) line %q", l)
				}
			}
		})
	}
	if _, err := readLogTail(filepath.Join(t.TempDir(), "missing.log")); err == nil {
		t.Error("readLogTail(missing) = nil error")
	}
}

func TestDecodeLog(t *testing.T) {
	tests := []struct {
		desc string
		in   []byte
		want string
	}{
		{"UTF-16LE with BOM", utf16LE("Ab ü\r\nc"), "Ab ü\nc"},
		{"UTF-16LE surrogate pair", utf16LE("𝄞"), "𝄞"},
		{"UTF-16LE odd trailing byte dropped", append(utf16LE("ab"), 0x41), "ab"},
		{"UTF-16LE lone surrogate", []byte{0xFF, 0xFE, 0x00, 0xD8, 'a', 0}, "\uFFFDa"},
		{"UTF-16BE with BOM", []byte{0xFE, 0xFF, 0, 'h', 0, 'i'}, "hi"},
		{"UTF-8 with BOM", []byte("\xEF\xBB\xBFhello\r\n"), "hello\n"},
		{"UTF-16LE without BOM", utf16LE("no bom here")[2:], "no bom here"},
		{"plain ASCII", []byte("plain\r\ntext"), "plain\ntext"},
		{"invalid UTF-8", []byte("a\xffb"), "a\uFFFDb"},
		{"NULs dropped", []byte("a\x00b"), "ab"},
		{"empty", nil, ""},
		{"BOM only", []byte{0xFF, 0xFE}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := decodeLog(tc.in); got != tc.want {
				t.Errorf("decodeLog(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTailLines(t *testing.T) {
	tests := []struct {
		desc string
		in   string
		n    int
		want string
	}{
		{"fewer lines than n", "a\nb", 5, "a\nb"},
		{"exactly the last two", "a\nb\nc", 2, "b\nc"},
		{"trailing blank lines dropped", "a\nb\n\n\n", 1, "b"},
		{"zero", "a", 0, ""},
		{"empty", "", 3, ""},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := tailLines(tc.in, tc.n); got != tc.want {
				t.Errorf("tailLines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
			}
		})
	}
}

func TestExitMeaning(t *testing.T) {
	for _, code := range []int{0, 1603, 1618, 1619, 1620, 1633, 1641, 1925, 3010} {
		if ExitMeaning(code) == "" {
			t.Errorf("ExitMeaning(%d) is empty", code)
		}
	}
	if m := ExitMeaning(12345); m != "" {
		t.Errorf("ExitMeaning(12345) = %q, want empty", m)
	}
}

func FuzzDecodeLog(f *testing.F) {
	f.Add(utf16LE(failingLog))
	f.Add([]byte(failingLog))
	f.Add([]byte{0xFE, 0xFF, 0xD8, 0x00})
	f.Add([]byte("\xEF\xBB\xBF\xff"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := decodeLog(b)
		if !utf8.ValidString(s) {
			t.Fatalf("decodeLog(%q) = %q: not valid UTF-8", b, s)
		}
		if strings.ContainsRune(s, 0) {
			t.Fatalf("decodeLog(%q) = %q has NUL", b, s)
		}
		if len(s) > 3*len(b)+3 {
			t.Fatalf("decodeLog grew %d bytes into %d", len(b), len(s))
		}
		tail := tailLines(s, 5)
		if strings.Count(tail, "\n") > 4 || !strings.HasSuffix(strings.TrimRight(s, "\n\r\t "), tail) {
			t.Fatalf("tailLines(%q, 5) = %q", s, tail)
		}
	})
}
