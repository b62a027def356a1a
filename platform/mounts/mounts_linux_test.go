package mounts

import "testing"

// TestLive reads this machine's real mount table.
func TestLive(t *testing.T) {
	ms, err := Live()
	if err != nil {
		t.Fatalf("Live: %v", err)
	}
	tests := []struct {
		desc string
		path string
	}{
		{desc: "root is mounted", path: "/"},
		{desc: "/var/lib lives on some mount", path: "/var/lib"},
		{desc: "/proc is its own mount", path: "/proc/self"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			m, ok := For(ms, tc.path)
			if !ok {
				t.Fatalf("For(%q) found no mount in %d mounts", tc.path, len(ms))
			}
			if m.FSType == "" || len(m.Options) == 0 {
				t.Errorf("For(%q) = %#v: no type or options", tc.path, m)
			}
			t.Logf("%s is on %s (%s %s %v)", tc.path, m.Target, m.Source, m.FSType, m.Options)
		})
	}
	if m, _ := For(ms, "/proc/self"); m.FSType != "proc" {
		t.Errorf("/proc/self is on %#v, want type proc", m)
	}
}
