package diskfree

import (
	"syscall"
	"testing"
)

// TestOfRoot compares Of("/") with syscall.Statfs read here.
func TestOfRoot(t *testing.T) {
	u, err := Of("/")
	if err != nil {
		t.Fatal(err)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs("/", &st); err != nil {
		t.Fatal(err)
	}
	if want := st.Blocks * uint64(st.Bsize); u.Total != want {
		t.Errorf("Total = %d, want %d", u.Total, want)
	}
	// Avail moves while other processes write; allow 256 MiB of drift.
	want := st.Bavail * uint64(st.Bsize)
	if d := int64(u.Avail) - int64(want); d > 256<<20 || d < -256<<20 {
		t.Errorf("Avail = %d, want about %d", u.Avail, want)
	}
	if u.ID == "" || u.FreePercent() <= 0 || u.FreePercent() > 100 {
		t.Errorf("usage %+v (%.1f%%)", u, u.FreePercent())
	}
	if _, err := Of("/nonexistent/path"); err == nil {
		t.Error("Of of a missing path succeeded")
	}
}
