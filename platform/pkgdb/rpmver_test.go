package pkgdb

import "testing"

func TestCompareEVR(t *testing.T) {
	tests := []struct {
		desc, a, b string
		want       int
	}{
		{"equal", "2.2.49.2-1.el8", "2.2.49.2-1.el8", 0},
		{"numeric, not lexical", "2.10.0.8-1", "2.9.1.1-1", 1},
		{"release decides", "2.7.0.6-6.el8_6.2", "2.7.0.6-6.el8", 1},
		{"epoch wins", "1:1.0-1", "9.9-9", 1},
		{"explicit zero epoch", "0:1.0-1", "1.0-1", 0},
		{"tilde sorts first", "1.0~rc1-1", "1.0-1", -1},
		{"caret after end", "1.0^git1-1", "1.0-1", 1},
		{"caret before more", "1.0^git1-1", "1.0.1-1", -1},
		{"number beats letters", "1.0.1", "1.0.a", 1},
		{"leading zeros", "1.010", "1.10", 0},
		{"longer wins", "1.0.0", "1.0", 1},
		{"separators only differ", "1_0", "1.0", 0},
		{"missing release equal", "2.2.49.2", "2.2.49.2-150100.3.20.1", 0},
		{"huge numbers", "1.99999999999999999999999", "1.99999999999999999999998", 1},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := CompareEVR(tc.a, tc.b); got != tc.want {
				t.Errorf("CompareEVR(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
			if got := CompareEVR(tc.b, tc.a); got != -tc.want {
				t.Errorf("CompareEVR(%q, %q) = %d, want %d", tc.b, tc.a, got, -tc.want)
			}
		})
	}
}

func TestNewestEVR(t *testing.T) {
	tests := []struct {
		desc string
		vs   []string
		want string
	}{
		{"none", nil, ""},
		{"one", []string{"1.0-1"}, "1.0-1"},
		{"epoch wins", []string{"2.10.0.8-1.fc40", "1:2.9.1.1-5.fc40", "2.9.1.1-5.fc40"}, "1:2.9.1.1-5.fc40"},
		{"numeric, not lexical", []string{"2.9.1.1-1", "2.10.0.8-1", "2.2.54.2-1"}, "2.10.0.8-1"},
		{"first of equals kept", []string{"1.0", "1.0-2", "0:1.0-1"}, "1.0"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := NewestEVR(tc.vs); got != tc.want {
				t.Errorf("NewestEVR(%q) = %q, want %q", tc.vs, got, tc.want)
			}
		})
	}
}

func FuzzCompareEVR(f *testing.F) {
	for _, p := range [][2]string{{"1.0-1", "1.0-2"}, {"1:2~rc", "1:2^g"}, {"2.10", "2.9"}, {"", "~"}} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := CompareEVR(a, b), CompareEVR(b, a)
		if ab != -ba {
			t.Fatalf("CompareEVR(%q,%q)=%d but reverse=%d", a, b, ab, ba)
		}
		if CompareEVR(a, a) != 0 {
			t.Fatalf("CompareEVR(%q,%q) != 0", a, a)
		}
	})
}
