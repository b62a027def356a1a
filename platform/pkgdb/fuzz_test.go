package pkgdb

import (
	"strings"
	"testing"

	"github.com/hashicorp/go-version"
)

func FuzzParseDpkgStatus(f *testing.F) {
	for _, s := range []string{
		status(stanzaDpkg, stanzaWaagentDebian12),
		status(stanzaLibc6I386ConfigFiles, stanzaLibc6Amd64),
		strings.ReplaceAll(stanzaWaagentHalf, "\n", "\r\n"),
		"Package: waagent\n Status: x\n\n\nPackage:waagent\nStatus:install ok installed",
		"\x00", "", ":", " \n",
	} {
		f.Add(s, "waagent")
	}
	f.Fuzz(func(t *testing.T, in, name string) {
		p, found, err := ParseDpkgStatus(strings.NewReader(in), name)
		if err != nil {
			if found || p != (Package{}) {
				t.Errorf("error %v with a result %+v found=%v", err, p, found)
			}
			return
		}
		if !found && p != (Package{}) {
			t.Errorf("not found but returned %+v", p)
		}
		if found && p.Name != name {
			t.Errorf("asked for %q, got %q", name, p.Name)
		}
		if p.Installed && !strings.HasSuffix(p.Status, " installed") {
			t.Errorf("installed with status %q", p.Status)
		}
	})
}

func FuzzUpstream(f *testing.F) {
	for _, s := range []string{
		"2.7.3.0-4.1", "1:2.9.1.1-0ubuntu0.22.04.1", "2.2.45-1.el8", "2.2.49.2-150100.3.20.1",
		"2.7.3.0~rc1+dfsg-4.1ubuntu0.1", "2.9.1.1^git1-1", "1.0~-1", "banana", "", "1:", "-", "1.0~~a.~b-1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		v, err := Upstream(in)
		if err != nil {
			if v != nil {
				t.Errorf("error %v with a result %v", err, v)
			}
			if !strings.HasPrefix(err.Error(), "package version "+strings.TrimSuffix(quote(in), "...")) {
				t.Errorf("error %q does not quote the input", err)
			}
			return
		}
		again, err := version.NewVersion(v.String())
		if err != nil {
			t.Fatalf("Upstream(%q) = %q, which go-version rejects: %v", in, v, err)
		}
		if !again.Equal(v) || again.String() != v.String() {
			t.Errorf("Upstream(%q) = %q re-parses as %q", in, v, again)
		}
		// The upstream version of a release is itself. (A pre-release
		// is not: its "-" reads as a revision.)
		if v.Prerelease() != "" {
			return
		}
		if v2, err := Upstream(v.String()); err != nil || !v2.Equal(v) {
			t.Errorf("Upstream(%q) = %v, %v; want %v", v.String(), v2, err, v)
		}
	})
}

func FuzzParseDpkgStanzas(f *testing.F) {
	f.Add("Package: waagent\nStatus: install ok half-configured\nVersion: 2.7.3.0-4.1\n\nPackage: a\nStatus: install ok installed\n")
	f.Add("")
	f.Add(" x\n")
	f.Fuzz(func(t *testing.T, in string) {
		pk, err := ParseDpkgStanzas(strings.NewReader(in))
		if err != nil && pk != nil {
			t.Fatalf("packages %+v with error %v", pk, err)
		}
		for _, p := range pk {
			if p.Name == "" || strings.ContainsAny(p.Name, "\n") || (p.Installed && !strings.HasSuffix(p.Status, " installed")) {
				t.Fatalf("bad package %+v", p)
			}
		}
	})
}
