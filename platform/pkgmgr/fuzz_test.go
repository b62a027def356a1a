package pkgmgr

import (
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/pkgdb"
)

func FuzzParseAptPolicy(f *testing.F) {
	for _, s := range []string{aptPolicyCandidate, aptPolicyInstalled, aptPolicyNone, aptPolicyPinned, aptPolicyTwo, ""} {
		f.Add(s, "waagent")
	}
	f.Fuzz(func(t *testing.T, out, pkg string) {
		v, ok := parseAptPolicy(out, pkg)
		if ok != (v != "") {
			t.Fatalf("ok %v with version %q", ok, v)
		}
		if ok && (strings.ContainsAny(v, " \t\r\n") || v == "(none)" || !strings.Contains(out, v)) {
			t.Fatalf("bad candidate %q", v)
		}
	})
}

func FuzzParseRPMList(f *testing.F) {
	for _, s := range []string{dnfListBoth, dnfListInstalledOnly, yumListWrapped, tdnfList, dnf5List, ""} {
		f.Add(s, "WALinuxAgent")
	}
	f.Fuzz(func(t *testing.T, out, pkg string) {
		avail, inst := parseRPMList(out, pkg)
		for _, v := range append(avail, inst...) {
			if !validVersion(v) || !strings.Contains(out, v) {
				t.Fatalf("bad version %q", v)
			}
		}
		if n := pkgdb.NewestEVR(avail); len(avail) > 0 && n == "" {
			t.Fatalf("NewestEVR(%q) empty", avail)
		}
	})
}

func FuzzParseZypperSearch(f *testing.F) {
	for _, s := range []string{zypperXMLBoth, zypperXMLNone, "<stream>", ""} {
		f.Add([]byte(s), "python-azure-agent")
	}
	f.Fuzz(func(t *testing.T, data []byte, pkg string) {
		v, err := parseZypperSearch(data, pkg)
		if err != nil && v != "" {
			t.Fatalf("version %q with error %v", v, err)
		}
		if v != "" && !validVersion(v) {
			t.Fatalf("bad version %q", v)
		}
	})
}

func FuzzParseMkdirExists(f *testing.F) {
	for _, s := range []string{waagentMkdirFailure, strings.ReplaceAll(waagentMkdirFailure, "/var/lib/waagent", "/etc/x"), ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, out string) {
		r, ok := parseMkdirExists(out)
		if !ok {
			if r != (mkdirExists{}) {
				t.Fatalf("not ok but %+v", r)
			}
			return
		}
		if !strings.HasPrefix(r.Dir, "/var/lib/") || strings.Count(r.Dir, "/") != 3 || strings.Contains(r.Dir, "..") ||
			!strings.Contains(out, r.Dir) || r.Pkg == "" || !strings.Contains(out, r.Pkg) {
			t.Fatalf("bad result %+v", r)
		}
	})
}

func FuzzParseAptPolicyVersions(f *testing.F) {
	f.Add(aptPolicyLocalRepo, "waagent")
	f.Add("", "waagent")
	f.Fuzz(func(t *testing.T, out, pkg string) {
		for _, v := range parseAptPolicyVersions(out, pkg) {
			if !validVersion(v) || !strings.Contains(out, v) {
				t.Fatalf("bad version %q", v)
			}
		}
	})
}
