package registry

// The live registry, for real: under Wine (make e2e-wine) a throwaway key
// under HKLM\SOFTWARE is written with golang.org/x/sys/windows/registry and
// read back through Live.

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/windows/registry"
)

func TestLive(t *testing.T) {
	path := fmt.Sprintf(`SOFTWARE\agentkeeper-test-%d`, os.Getpid())
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, path, registry.ALL_ACCESS)
	if err != nil {
		t.Fatalf("create HKLM\\%s: %v", path, err)
	}
	t.Cleanup(func() {
		for _, sub := range []string{`Guest\Deeper`, `Guest`, `Other`} {
			registry.DeleteKey(registry.LOCAL_MACHINE, path+`\`+sub)
		}
		registry.DeleteKey(registry.LOCAL_MACHINE, path)
	})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(k.SetStringValue("GuestAgentVersion", "2.7.41491.1102 (rd_art_stable.210702-1023)"))
	must(k.SetExpandStringValue("Expand", `%SystemRoot%\x`))
	must(k.SetDWordValue("Start", 4))
	must(k.SetQWordValue("Big", 1<<40))
	must(k.SetBinaryValue("WinHttpSettings", []byte{0x28, 0, 0, 0, 1}))
	k.Close()
	for _, sub := range []string{`Guest`, `Guest\Deeper`, `Other`} {
		s, _, err := registry.CreateKey(registry.LOCAL_MACHINE, path+`\`+sub, registry.ALL_ACCESS)
		must(err)
		s.Close()
	}

	if s, err := Live.String(path, "GuestAgentVersion"); err != nil || s != "2.7.41491.1102 (rd_art_stable.210702-1023)" {
		t.Errorf("String = %q, %v", s, err)
	}
	if s, err := Live.String(path, "Expand"); err != nil || s != `%SystemRoot%\x` {
		t.Errorf("String of REG_EXPAND_SZ = %q, %v", s, err)
	}
	if s, err := Live.String(path, "Start"); err != nil || s != "4" {
		t.Errorf("String of a DWORD = %q, %v (want it in decimal)", s, err)
	}
	if n, err := Live.Uint(path, "Start"); err != nil || n != 4 {
		t.Errorf("Uint DWORD = %d, %v", n, err)
	}
	if n, err := Live.Uint(path, "Big"); err != nil || n != 1<<40 {
		t.Errorf("Uint QWORD = %d, %v", n, err)
	}
	if b, err := Live.Binary(path, "WinHttpSettings"); err != nil || !slices.Equal(b, []byte{0x28, 0, 0, 0, 1}) {
		t.Errorf("Binary = %v, %v", b, err)
	}
	subs, err := Live.SubKeys(path)
	slices.Sort(subs)
	if err != nil || !slices.Equal(subs, []string{"Guest", "Other"}) {
		t.Errorf("SubKeys = %q, %v, want Guest, Other (not the grandchild)", subs, err)
	}

	// Wrong types are errors, not zero values.
	if _, err := Live.Uint(path, "GuestAgentVersion"); err == nil {
		t.Error("Uint of a string value did not fail")
	}
	if _, err := Live.Binary(path, "Start"); err == nil {
		t.Error("Binary of a DWORD did not fail")
	}
	if _, err := Live.String(path, "WinHttpSettings"); err == nil {
		t.Error("String of a binary value did not fail")
	}
	// Missing keys and values are ErrNotFound, naming what is missing.
	for _, c := range []struct {
		desc string
		err  error
	}{
		{"missing value", func() error { _, err := Live.String(path, "Nope"); return err }()},
		{"missing key", func() error { _, err := Live.String(path+`\Nope`, "x"); return err }()},
		{"missing key, Uint", func() error { _, err := Live.Uint(path+`\Nope`, "x"); return err }()},
		{"missing key, SubKeys", func() error { _, err := Live.SubKeys(path + `\Nope`); return err }()},
	} {
		if !errors.Is(c.err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", c.desc, c.err)
		}
	}
}
