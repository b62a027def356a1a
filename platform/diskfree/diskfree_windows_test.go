package diskfree

import (
	"os"
	"testing"
)

// TestOfSystemDrive asks for the system drive for real (under Wine: the
// prefix's drive_c).
func TestOfSystemDrive(t *testing.T) {
	d := os.Getenv("SystemDrive")
	if d == "" {
		d = "C:"
	}
	u, err := Of(d + `\`)
	if err != nil {
		t.Fatal(err)
	}
	if u.Total == 0 || u.Avail > u.Total || u.ID != "C:" && u.ID != d {
		t.Errorf("usage %+v", u)
	}
	if _, err := Of(`Q:\no\such\drive`); err == nil {
		t.Error("a missing drive succeeded")
	}
}
