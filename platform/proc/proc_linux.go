package proc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// procDir is where the kernel's process file system is mounted.
const procDir = "/proc"

// maxCmdline caps how much of one command line is read; longer ones are
// cut (the last argument is then truncated).
const maxCmdline = 64 << 10

// maxComm caps /proc/PID/comm (the kernel keeps at most 16 bytes).
const maxComm = 4 << 10

func list() ([]Process, error) { return listDir(procDir) }

// listDir scans a proc-like directory: one numeric directory per process.
func listDir(dir string) ([]Process, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var ps []Process
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		p, err := readProcess(filepath.Join(dir, e.Name()), pid)
		if gone(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// readProcess reads one /proc/PID directory.
func readProcess(dir string, pid int) (Process, error) {
	comm, err := readCapped(filepath.Join(dir, "comm"), maxComm)
	if err != nil {
		return Process{}, err
	}
	p := Process{PID: pid, Name: string(bytes.TrimSuffix(comm, []byte("\n")))}
	cmdline, err := readCapped(filepath.Join(dir, "cmdline"), maxCmdline)
	switch {
	case err == nil:
		p.Args = parseCmdline(cmdline)
	case errors.Is(err, fs.ErrPermission):
		// hidepid or a locked-down process: keep the name without args.
	default:
		return Process{}, err
	}
	return p, nil
}

// gone reports whether err means the process exited during the scan.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

// readCapped reads at most max bytes of a pseudo-file.
func readCapped(p string, max int64) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, unwrapPath(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, unwrapPath(err))
	}
	return data, nil
}

// parseCmdline splits /proc/PID/cmdline at its NUL bytes. Kernel threads
// and zombies have an empty command line: nil. A process that rewrote its
// command line with spaces comes back as one argument.
func parseCmdline(b []byte) []string {
	b = bytes.TrimRight(b, "\x00")
	if len(b) == 0 {
		return nil
	}
	parts := bytes.Split(b, []byte{0})
	args := make([]string, len(parts))
	for i, a := range parts {
		args[i] = string(a)
	}
	return args
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
