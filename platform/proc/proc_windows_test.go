package proc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestListWindows finds the test binary itself in the process snapshot.
func TestListWindows(t *testing.T) {
	ps, err := List()
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	self := Match(ps, func(p Process) bool { return p.PID == os.Getpid() })
	if len(self) != 1 {
		t.Fatalf("own pid %d found %d times among %d processes", os.Getpid(), len(self), len(ps))
	}
	if want := filepath.Base(exe); !strings.EqualFold(self[0].Name, want) {
		t.Errorf("own name = %q, want %q", self[0].Name, want)
	}
}
