package pkgdb

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseDpkgStanzas(t *testing.T) {
	for _, tc := range []struct {
		desc, in string
		want     []Package
		wantErr  string
	}{
		{"two stanzas, the last without a blank line",
			"Package: a\nStatus: install ok installed\nVersion: 1\nDescription: x\n more\n\nPackage: waagent\nStatus: install ok  half-configured\nVersion: 2.7.3.0-4.1",
			[]Package{{Name: "a", Version: "1", Status: "install ok installed", Installed: true},
				{Name: "waagent", Version: "2.7.3.0-4.1", Status: "install ok half-configured"}}, ""},
		{"a stanza without Package is skipped", "Status: install ok installed\n\n", nil, ""},
		{"empty", "", nil, ""},
		{"CRLF", "Package: a\r\nStatus: install ok unpacked\r\n", []Package{{Name: "a", Status: "install ok unpacked"}}, ""},
		{"garbage", "not a status file\n", nil, "expected \"Field: value\""},
		{"NUL", "Package: a\x00\n", nil, "NUL byte"},
		{"continuation first", " x\n", nil, "continuation line outside a stanza"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := ParseDpkgStanzas(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestJournalNames(t *testing.T) {
	got := journalNames([]string{"tmp.i", "0010", "0002", "0001", "10000", "x1", ""})
	if want := []string{"0001", "0002", "0010", "10000"}; !reflect.DeepEqual(got, want) {
		t.Errorf("journalNames = %q, want %q", got, want)
	}
}

// The journal is applied on top of the status file, in order, by Dpkg and
// AuditDpkg alike.
func TestDpkgJournal(t *testing.T) {
	status := "Package: base-files\nStatus: install ok installed\nVersion: 12.4\n\nPackage: python3\nStatus: install ok unpacked\nVersion: 3.11.2-1\n"
	for _, tc := range []struct {
		desc     string
		journal  map[string]string
		wantPkg  Package
		found    bool
		wantAud  DpkgAudit
		auditStr string
	}{
		{"clean but python3 unpacked", nil, Package{}, false,
			DpkgAudit{Pending: []Package{{Name: "python3", Version: "3.11.2-1", Status: "install ok unpacked"}}}, "python3 unpacked"},
		{"cut off while configuring waagent", map[string]string{
			"var/lib/dpkg/updates/0000":  "Package: waagent\nStatus: install ok unpacked\nVersion: 2.7.3.0-4.1\n",
			"var/lib/dpkg/updates/0001":  "Package: waagent\nStatus: install ok half-configured\nVersion: 2.7.3.0-4.1\n\nPackage: python3\nStatus: install ok installed\nVersion: 3.11.2-1\n",
			"var/lib/dpkg/updates/tmp.i": "Package: waagent\nStatus: install ok installed\n",
		}, Package{Name: "waagent", Version: "2.7.3.0-4.1", Status: "install ok half-configured"}, true,
			DpkgAudit{Journal: 2, Pending: []Package{{Name: "waagent", Version: "2.7.3.0-4.1", Status: "install ok half-configured"}}},
			"2 uncommitted entries in dpkg's journal /var/lib/dpkg/updates; waagent half-configured"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			files := map[string]string{"var/lib/dpkg/status": status}
			for p, c := range tc.journal {
				files[p] = c
			}
			root := writeRoot(t, files)
			p, found, err := Dpkg(root, "waagent")
			if err != nil || found != tc.found || p != tc.wantPkg {
				t.Errorf("Dpkg = %+v, %v, %v; want %+v, %v", p, found, err, tc.wantPkg, tc.found)
			}
			a, err := AuditDpkg(root)
			if err != nil || !reflect.DeepEqual(a, tc.wantAud) {
				t.Errorf("AuditDpkg = %+v, %v; want %+v", a, err, tc.wantAud)
			}
			if a.String() != tc.auditStr || a.Clean() {
				t.Errorf("String %q (clean %v), want %q", a.String(), a.Clean(), tc.auditStr)
			}
		})
	}
	t.Run("garbage in the journal is an error naming the file", func(t *testing.T) {
		root := writeRoot(t, map[string]string{"var/lib/dpkg/status": status, "var/lib/dpkg/updates/0000": "\x00garbage"})
		if _, _, err := Dpkg(root, "waagent"); err == nil || !strings.Contains(err.Error(), filepath.Join("updates", "0000")) {
			t.Errorf("Dpkg err = %v", err)
		}
		if _, err := AuditDpkg(root); err == nil || !strings.Contains(err.Error(), filepath.Join("updates", "0000")) {
			t.Errorf("AuditDpkg err = %v", err)
		}
	})
}
