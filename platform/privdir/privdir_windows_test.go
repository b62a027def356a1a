package privdir

// On Windows the directory is created with the ACL in SDDL and directories
// whose ACL lets others write are refused. Wine (make e2e-wine) keeps no
// ACLs: it makes one up from the Unix mode bits (owner the Wine user, who is
// the running user, SYSTEM, Everyone read), so under Wine these tests show
// that Ensure creates and accepts its directory through the real calls, and
// the ACL judgment itself is tested on every OS in sddl_test.go.

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatalf("read the security descriptor of %s: %v", dir, err)
	}
	t.Logf("%s: %s", dir, sd)
	if isWine() {
		t.Log("Wine makes ACLs up from Unix mode bits: the ACL read back is not the one set; checked on real Windows only")
		return
	}
	ctl, _, err := sd.Control()
	if err != nil || ctl&windows.SE_DACL_PROTECTED == 0 {
		t.Errorf("%s: DACL not protected (control %#x, %v): it would inherit the parent's ACEs", dir, ctl, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		t.Fatalf("%s: no DACL (%v)", dir, err)
	}
	var sids []string
	for i := range uint32(dacl.AceCount) {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			t.Fatal(err)
		}
		sids = append(sids, (*windows.SID)(unsafe.Pointer(&ace.SidStart)).String())
	}
	if got := strings.Join(sids, ","); got != "S-1-5-18,S-1-5-32-544" {
		t.Errorf("%s: ACEs for %s, want SYSTEM (S-1-5-18) and Administrators (S-1-5-32-544) only", dir, got)
	}
}

func mkdirSDDL(t *testing.T, dir, sddl string) {
	t.Helper()
	sd, err := windows.SecurityDescriptorFromString(sddl)
	if err != nil {
		t.Fatal(err)
	}
	sa := &windows.SecurityAttributes{Length: uint32(unsafe.Sizeof(windows.SecurityAttributes{})), SecurityDescriptor: sd}
	p, _ := windows.UTF16PtrFromString(dir)
	if err := windows.CreateDirectory(p, sa); err != nil {
		t.Fatalf("create %s with %s: %v", dir, sddl, err)
	}
}

func TestEnsureRefusesWindows(t *testing.T) {
	if isWine() {
		t.Skip("Wine keeps no ACLs (it makes them up from Unix mode bits), so a planted ACL cannot be made; the refusals are tested through checkSDDL in sddl_test.go and here on real Windows")
	}
	for _, tc := range []struct {
		desc, sddl, want string
	}{
		{"Everyone may write", "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;WD)", "lets S-1-1-0 write"},
		{"Users may add files", "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;;0x2;;;BU)", "lets S-1-5-32-545 write"},
		{"no ACL at all", "D:NO_ACCESS_CONTROL", "no ACL"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "agentkeeper")
			mkdirSDDL(t, dir, tc.sddl)
			err := Ensure(dir)
			if !errors.Is(err, ErrUnsafe) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Ensure: %v, want ErrUnsafe saying %q", err, tc.want)
			}
		})
	}
	// Read access for others is no reason to refuse.
	dir := filepath.Join(t.TempDir(), "readable")
	mkdirSDDL(t, dir, "D:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FR;;;BU)")
	if err := Ensure(dir); err != nil {
		t.Errorf("readable by Users: %v, want accepted", err)
	}
}

// isWine reports whether the tests run under Wine (ntdll exports
// wine_get_version there).
func isWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}
