package msi

// Share modes and CREATE_NEW for real (under Wine in make e2e-wine): while
// msiexec runs, the verified MSI can be read but not written, deleted or
// renamed; the download folder is made through privdir (its ACL is read
// back on real Windows only: Wine keeps none).

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/privdir"
	"github.com/agentkeeper/agentkeeper/platform/run"
	"golang.org/x/sys/windows"
)

func TestHeldMSIDeniesWritesAndDeletes(t *testing.T) {
	data := []byte("not really an MSI: msiexec is played by the test")
	src := filepath.Join(t.TempDir(), "WindowsAzureVmAgent.msi")
	if err := os.WriteFile(src, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	dir := filepath.Join(t.TempDir(), "agentkeeper", "downloads")
	var during []string
	r := &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
		p := c.Argv[2]
		if b, err := os.ReadFile(p); err != nil || string(b) != string(data) {
			during = append(during, "read failed: "+errString(err))
		}
		if f, err := os.OpenFile(p, os.O_WRONLY, 0); err == nil {
			f.Close()
			during = append(during, "opened for writing")
		} else if !errors.Is(err, windows.ERROR_SHARING_VIOLATION) {
			during = append(during, "write open: "+err.Error()+" (want a sharing violation)")
		}
		if err := os.Remove(p); err == nil {
			during = append(during, "deleted")
		}
		if err := os.Rename(p, p+".moved"); err == nil {
			during = append(during, "renamed")
		}
		return run.Result{ExitCode: 0}, nil
	}}
	i, err := NewInstaller(InstallerOptions{Source: Source{URL: src, SHA256: hex.EncodeToString(sum[:])}, Dir: dir, Runner: r, Live: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err := i.Install(context.Background(), "WindowsAzureVmAgent")
	if err != nil {
		t.Fatalf("Install: %v (%+v)", err, res)
	}
	if len(r.Commands()) != 1 {
		t.Fatalf("msiexec ran %d times", len(r.Commands()))
	}
	if len(during) > 0 {
		t.Errorf("while msiexec ran, the verified MSI was: %s", strings.Join(during, "; "))
	}
	// Released after msiexec: now it can be removed.
	if err := os.Remove(filepath.Join(dir, "WindowsAzureVmAgent.msi")); err != nil {
		t.Errorf("after msiexec the MSI is still held: %v", err)
	}
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := privdir.Ensure(d); err != nil {
			t.Errorf("download folder %s is not private: %v", d, err)
		}
		if !isWine() { // Wine keeps no ACLs (privdir's tests say more)
			checkOnlyAdmins(t, d)
		}
	}
}

// checkOnlyAdmins reads back the folder's ACL: SYSTEM and Administrators.
func checkOnlyAdmins(t *testing.T, dir string) {
	t.Helper()
	sd, err := windows.GetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	if s := sd.String(); !strings.Contains(s, "(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)") || strings.Count(s, "(A;") != 2 {
		t.Errorf("%s: ACL %s, want full control for SYSTEM and Administrators only", dir, s)
	}
}

// A file at the .unverified name is never written through: CREATE_NEW.
func TestCreateNewReal(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.unverified")
	os.WriteFile(p, []byte("planted"), 0o644)
	if _, err := privdir.CreateNew(p); !errors.Is(err, os.ErrExist) {
		t.Errorf("CreateNew over a file: %v, want ErrExist (CREATE_NEW)", err)
	}
}

func errString(err error) string {
	if err == nil {
		return "content differs"
	}
	return err.Error()
}
