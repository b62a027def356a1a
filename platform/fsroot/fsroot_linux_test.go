//go:build linux

package fsroot

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFileFIFO checks that a named pipe is refused without being opened:
// opening a FIFO for reading blocks until a writer appears, which would hang
// a check of an image that has one where a config file should be.
func TestReadFileFIFO(t *testing.T) {
	dir := t.TempDir()
	mkfiles(t, dir, map[string]string{"etc/": ""})
	fifo := filepath.Join(dir, "etc", "waagent.conf")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("waagent.conf", filepath.Join(dir, "etc", "fifo-link")); err != nil {
		t.Fatal(err)
	}
	// If Open does block, a writer opened without blocking releases it at the
	// end so the goroutine does not outlive the test.
	t.Cleanup(func() {
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	root := New(dir)

	tests := []struct {
		desc string
		read func() error
	}{
		{desc: "ReadFile of the FIFO", read: func() error { _, err := root.ReadFile("/etc/waagent.conf", MaxSmallFile); return err }},
		{desc: "ReadFile through a link to the FIFO", read: func() error { _, err := root.ReadFile("/etc/fifo-link", MaxSmallFile); return err }},
		{desc: "Open of the FIFO", read: func() error {
			f, _, err := root.Open("/etc/waagent.conf")
			if err == nil {
				f.Close()
			}
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { done <- tc.read() }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "not a regular file (a named pipe)") {
					t.Errorf("error = %v, want a refusal saying it is a named pipe", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("still blocked after 5s: the FIFO was opened before its type was checked")
			}
		})
	}
}
