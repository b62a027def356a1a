package testenv

import "testing"

func TestE2E(t *testing.T) {
	for _, tc := range []struct {
		val  string
		want bool
	}{{"", false}, {"0", false}, {"1", true}, {"yes", true}, {"true", true}} {
		t.Setenv(E2EVar, tc.val)
		if got := E2E(); got != tc.want {
			t.Errorf("%s=%q: E2E() = %v, want %v", E2EVar, tc.val, got, tc.want)
		}
	}
}

// recorder is a testing.TB that records whether Need failed or skipped.
type recorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = true
	r.msg = format
}
func (r *recorder) Skip(args ...any) { r.skipped = true }

func TestNeed(t *testing.T) {
	for _, tc := range []struct {
		val        string
		fail, skip bool
	}{{"", false, true}, {"1", true, false}} {
		t.Setenv(E2EVar, tc.val)
		r := &recorder{TB: t}
		Need(r, "%s is missing", "base.tar")
		if r.failed != tc.fail || r.skipped != tc.skip {
			t.Errorf("%s=%q: failed %v skipped %v, want %v %v", E2EVar, tc.val, r.failed, r.skipped, tc.fail, tc.skip)
		}
	}
}
