package msi

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/agentkeeper/agentkeeper/platform/run"
)

// InstallResult is what a successful msiexec run left behind.
type InstallResult struct {
	// ExitCode is msiexec's exit code (0, 3010 or 1641 on success).
	ExitCode int
	// RebootRequired is true when Windows must restart to finish (3010), or
	// msiexec has started a restart (1641).
	RebootRequired bool
	// Log is the path of msiexec's verbose log.
	Log string
}

// msiexec exit codes (Windows Installer error codes, from Microsoft's
// "MsiExec.exe and InstMsi.exe error messages" and winerror.h).
const (
	exitOK              = 0
	exitBusy            = 1618 // ERROR_INSTALL_ALREADY_RUNNING
	exitRebootInitiated = 1641 // ERROR_SUCCESS_REBOOT_INITIATED
	exitRebootRequired  = 3010 // ERROR_SUCCESS_REBOOT_REQUIRED
)

// exitMeanings explains common msiexec failures, with what to do where that
// is known. Same source as above.
var exitMeanings = map[int]string{
	1601: "the Windows Installer service could not be accessed; check that the msiserver service can start",
	1602: "the installation was cancelled",
	1603: "fatal error during installation; search the log for \"Return value 3\" to find the failing action",
	1605: "this action is only valid for products that are installed",
	1610: "the configuration data for this product is corrupt",
	1619: "the installation package could not be opened; check that the file exists and is readable",
	1620: "the installation package could not be opened; it is not a valid Windows Installer package",
	1624: "error applying transforms",
	1627: "function failed during execution (Wine's msiexec gives this for a file that is not an MSI)",
	1625: "the installation is forbidden by system policy",
	1632: "the Temp folder is on a full or inaccessible drive",
	1633: "this installation package is not supported on this processor type (platform unsupported)",
	1638: "another version of this product is already installed",
	1639: "invalid command line argument",
	1925: "insufficient privileges to install for all users: run as an administrator",
}

// ExitMeaning returns what a msiexec exit code means, or "" when unknown.
func ExitMeaning(code int) string {
	switch code {
	case exitOK:
		return "success"
	case exitBusy:
		return "another installation is in progress; try again later"
	case exitRebootInitiated:
		return "success; a restart has been started"
	case exitRebootRequired:
		return "success; a restart is required to finish"
	}
	return exitMeanings[code]
}

// Log reading limits: how much of the end of the log is read, and how many
// of its last lines go into an error.
const (
	logTailBytes = 64 << 10
	logTailLines = 25
)

// Install runs `msiexec /i msiPath /quiet /norestart /L*v logPath` through r
// and interprets its exit code: 0 is success, 3010 and 1641 are success with
// RebootRequired, 1618 is ErrBusy (another installation is running: try
// later), and anything else is an error naming the code, its meaning and the
// last lines of the log. msiPath should come from Fetch, so that only a
// verified package is installed. Run it as an administrator.
func Install(ctx context.Context, r run.Runner, msiPath, logPath string) (InstallResult, error) {
	cmd := run.Cmd{Argv: []string{"msiexec", "/i", msiPath, "/quiet", "/norestart", "/L*v", logPath}}
	res, err := r.Run(ctx, cmd)
	if err != nil {
		return InstallResult{Log: logPath}, fmt.Errorf("install %s: %w", msiPath, err)
	}
	out := InstallResult{ExitCode: res.ExitCode, Log: logPath}
	switch res.ExitCode {
	case exitOK:
		return out, nil
	case exitRebootRequired, exitRebootInitiated:
		out.RebootRequired = true
		return out, nil
	case exitBusy:
		return out, fmt.Errorf("%s: %w", cmd, ErrBusy)
	}
	msg := fmt.Sprintf("%s: exit %d", cmd, res.ExitCode)
	if m := ExitMeaning(res.ExitCode); m != "" {
		msg += " (" + m + ")"
	}
	if tail, err := readLogTail(logPath); err != nil {
		msg += fmt.Sprintf("; no log: %v", err)
	} else if tail != "" {
		msg += fmt.Sprintf("; last lines of %s:\n%s", logPath, tail)
	}
	if t := res.Tail(5); t != "" {
		msg += "\noutput:\n" + t
	}
	return out, fmt.Errorf("%s", msg)
}

// readLogTail returns the last lines of the msiexec log at p, decoded,
// reading at most logTailBytes from its end.
func readLogTail(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	var head [3]byte
	hn, _ := io.ReadFull(f, head[:])
	off := max(fi.Size()-logTailBytes, 0)
	bom := []byte(nil)
	if off > 0 {
		// The BOM says how the file is encoded; keep UTF-16 code units aligned.
		switch {
		case hn >= 2 && head[0] == 0xFF && head[1] == 0xFE:
			bom = head[:2]
			off += off & 1
		case hn >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF:
			bom = head[:3]
		}
	}
	buf := make([]byte, 0, logTailBytes+len(bom))
	buf = append(buf, bom...)
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return "", err
	}
	b, err := io.ReadAll(io.LimitReader(f, logTailBytes))
	if err != nil {
		return "", err
	}
	text := decodeLog(append(buf, b...))
	if off > 0 {
		// The first line is most likely cut: drop it.
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			text = text[i+1:]
		}
	}
	return tailLines(text, logTailLines), nil
}
