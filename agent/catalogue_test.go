package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/osinfo"
)

func TestCatalogueDeclarations(t *testing.T) {
	defs := Catalogue()
	if len(defs) < 16 {
		t.Fatalf("catalogue has %d checks, want at least the 16 of the first version", len(defs))
	}
	for i, d := range defs {
		if i > 0 && defs[i-1].ID >= d.ID {
			t.Errorf("Catalogue not sorted: %s before %s", defs[i-1].ID, d.ID)
		}
		if !strings.HasPrefix(d.Doc, "https://") {
			t.Errorf("%s: doc %q is not an https URL", d.ID, d.Doc)
		}
		if got, ok := Lookup(d.ID); !ok || got.Title != d.Title {
			t.Errorf("Lookup(%s) = %+v, %v", d.ID, got, ok)
		}
	}
	if _, ok := Lookup("agent.nosuch"); ok {
		t.Error("Lookup found an undeclared check")
	}
}

func TestDeclareRefusesBadDeclarations(t *testing.T) {
	for _, tc := range []struct {
		desc string
		d    Def
	}{
		{"duplicate", Def{ID: IDAgentVersion, Title: "x", Severity: StatusFail, OS: []string{FamilyLinux}, Live: true, Doc: "https://x"}},
		{"no doc", Def{ID: "t.nodoc", Title: "x", Severity: StatusFail, OS: []string{FamilyLinux}, Live: true}},
		{"no mode", Def{ID: "t.nomode", Title: "x", Severity: StatusFail, OS: []string{FamilyLinux}, Doc: "https://x"}},
		{"pass severity", Def{ID: "t.sev", Title: "x", Severity: StatusPass, OS: []string{FamilyLinux}, Live: true, Doc: "https://x"}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: declare accepted %+v", tc.desc, tc.d)
				}
			}()
			declare(tc.d)
		}()
	}
}

func TestNearest(t *testing.T) {
	for in, want := range map[string]CheckID{"agent.verison": IDAgentVersion, "mount.noexec": IDMountsNoexec, "backup.idel": IDBackupIdle, "frobnicate": ""} {
		if got := Nearest(in); got != want {
			t.Errorf("Nearest(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestProbesRunByMode declares probes (in a scratch catalogue) and checks
// that Inspect's runner calls them only where their OS and mode apply, and
// that checks.skip overrides their verdict.
func TestProbesRunByMode(t *testing.T) {
	saved, savedIdx := catalogue, byID
	defer func() { catalogue, byID = saved, savedIdx }()
	catalogue, byID = nil, map[CheckID]int{}
	called := map[CheckID]int{}
	probe := func(ctx context.Context, tg *Target) Check {
		return Check{Status: StatusFail, Message: "probed " + tg.Cmd("update-initramfs -u")}
	}
	mk := func(id CheckID, os string, live, image bool) {
		declare(Def{ID: id, Title: "t", Severity: StatusFail, OS: []string{os}, Live: live, Image: image, Doc: "https://x",
			Probe: func(ctx context.Context, tg *Target) Check { called[id]++; return probe(ctx, tg) }})
	}
	mk("t.both", FamilyLinux, true, true)
	mk("t.liveonly", FamilyLinux, true, false)
	mk("t.imageonly", FamilyLinux, false, true)
	mk("t.windows", FamilyWindows, true, true)
	mk("t.skipped", FamilyLinux, true, true)

	img := fsroot.New(t.TempDir())
	rep := &Report{skip: map[CheckID]bool{"t.skipped": true}}
	runProbes(context.Background(), &Options{Root: img}, rep, osinfo.Info{Family: FamilyLinux})
	want := map[CheckID]Status{"t.both": StatusFail, "t.liveonly": StatusSkip, "t.imageonly": StatusFail, "t.skipped": StatusSkip}
	if len(rep.Checks) != len(want) {
		t.Fatalf("checks = %+v, want %d", rep.Checks, len(want))
	}
	for _, c := range rep.Checks {
		if c.Status != want[c.ID] {
			t.Errorf("%s = %s (%s), want %s", c.ID, c.Status, c.Message, want[c.ID])
		}
	}
	if c, _ := rep.Check("t.both"); !strings.Contains(c.Message, "chroot "+img.Dir+" update-initramfs -u") {
		t.Errorf("image fix not rendered inside the root: %q", c.Message)
	}
	if c, _ := rep.Check("t.skipped"); c.Message != "skipped by configuration (checks.skip)" || called["t.skipped"] != 0 {
		t.Errorf("skipped check: %+v (probe called %d times)", c, called["t.skipped"])
	}
	if called["t.liveonly"] != 0 || called["t.windows"] != 0 {
		t.Errorf("probes called where they do not apply: %v", called)
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"agent.version", "agent.versoin", 2}, {"same", "same", 0}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
