package registry

import (
	"errors"
	"slices"
	"testing"
)

func TestFake(t *testing.T) {
	f := Fake{
		`SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full`: {"Release": 528040, "Version": "4.8.04084"},
		`SYSTEM\CurrentControlSet\Services\VSS`:              {"Start": uint64(3)},
		`SYSTEM\CurrentControlSet\Services\msiserver`:        {"Start": 4},
		`SOFTWARE\Proxy`: {"WinHttpSettings": []byte{0x28, 0, 0, 0}},
	}
	if n, err := f.Uint(`software\microsoft\net framework setup\ndp\v4\full`, "release"); err != nil || n != 528040 {
		t.Errorf("Uint ignoring case = %d, %v", n, err)
	}
	if s, err := f.String(`SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full`, "Release"); err != nil || s != "528040" {
		t.Errorf("String of an integer = %q, %v", s, err)
	}
	if _, err := f.Uint(`SOFTWARE\Microsoft\NET Framework Setup\NDP\v4\Full`, "Version"); err == nil {
		t.Error("Uint of a string value did not fail")
	}
	if b, err := f.Binary(`SOFTWARE\Proxy`, "WinHttpSettings"); err != nil || len(b) != 4 {
		t.Errorf("Binary = %v, %v", b, err)
	}
	if _, err := f.String(`SOFTWARE\Nope`, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing key: %v, want ErrNotFound", err)
	}
	if _, err := f.String(`SYSTEM\CurrentControlSet\Services\VSS`, "Nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing value: %v, want ErrNotFound", err)
	}
	subs, err := f.SubKeys(`SYSTEM\CurrentControlSet\Services`)
	if err != nil || !slices.Equal(subs, []string{"VSS", "msiserver"}) {
		t.Errorf("SubKeys = %v, %v", subs, err)
	}
	if _, err := f.SubKeys(`SYSTEM\Nope`); !errors.Is(err, ErrNotFound) {
		t.Errorf("SubKeys of a missing key: %v", err)
	}
}
