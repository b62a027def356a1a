//go:build windows

package msi

// Real Windows Installer and WinVerifyTrust tests. e2e/wine/run-tests.sh runs
// them under Wine with AGENTKEEPER_TEST_MSI set to the Windows path of a
// fixture MSI built on the host by `e2e/wine/fixtures.sh msi VERSION OUT.msi`
// (wixl cannot run inside Wine). The fixture installs
// C:\WindowsAzure\Packages\WaAppAgent.exe and is not signed.

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/run"
	"golang.org/x/sys/windows"
)

const fixtureEnv = "AGENTKEEPER_TEST_MSI"

// fixtureMSI returns the bytes of the fixture MSI, or skips the test.
func fixtureMSI(t *testing.T) []byte {
	t.Helper()
	p := os.Getenv(fixtureEnv)
	if p == "" {
		t.Skip(fixtureEnv + " is unset: it is set by e2e/wine/run-tests.sh (a fixture MSI from e2e/wine/fixtures.sh msi)")
	}
	// Wine passes the Unix environment through: accept /tmp/x.msi as Z:\tmp\x.msi.
	if strings.HasPrefix(p, "/") {
		p = `Z:` + filepath.FromSlash(p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%s: %v", fixtureEnv, err)
	}
	return b
}

// serveMSI serves b on 127.0.0.1 and returns its URL.
func serveMSI(t *testing.T, b []byte) (string, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/WindowsAzureVmAgent.msi", srv.Client()
}

// TestFetchAndInstallReal downloads the fixture MSI from loopback, verifies it
// by SHA-256, installs it with the real msiexec and finds WaAppAgent.exe.
func TestFetchAndInstallReal(t *testing.T) {
	data := fixtureMSI(t)
	url, client := serveMSI(t, data)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()

	p, err := Fetch(ctx, Source{URL: url, SHA256: sha(data)}, dir, client, DefaultVerifier)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if want := filepath.Join(dir, "WindowsAzureVmAgent.msi"); p != want {
		t.Errorf("Fetch = %s, want %s", p, want)
	}
	logPath := filepath.Join(dir, "install.log")
	res, err := Install(ctx, run.Exec{}, p, logPath)
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	if res.ExitCode != 0 || res.RebootRequired {
		t.Errorf("Install = %+v, want exit 0 without reboot", res)
	}
	drive := os.Getenv("SystemDrive")
	if drive == "" {
		drive = "C:"
	}
	agent := filepath.Join(drive+`\`, "WindowsAzure", "Packages", "WaAppAgent.exe")
	fi, err := os.Stat(agent)
	if err != nil {
		t.Fatalf("after installing: %v", err)
	}
	if fi.Size() == 0 {
		t.Errorf("%s is empty", agent)
	}
	// The real log must decode (Windows writes it as UTF-16LE with a BOM)
	// and end with the outcome of the INSTALL action.
	raw, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatalf("read msiexec log: %v", err)
	}
	bom := len(raw) >= 2 && raw[0] == 0xFF && raw[1] == 0xFE
	tail, err := readLogTail(logPath)
	if err != nil {
		t.Errorf("read msiexec log: %v", err)
	} else if !strings.Contains(tail, "Return value 1") {
		t.Errorf("log tail does not end with a successful action (\"Return value 1\"):\n%s", tail)
	}
	t.Logf("installed %s (%d bytes); log %d bytes, UTF-16LE BOM %v; last lines:\n%s",
		agent, fi.Size(), len(raw), bom, tailLines(tail, 3))
}

// TestDefaultVerifierRefusesUnsigned checks the real WinVerifyTrust path: the
// unsigned fixture must not pass as signed by Microsoft, and nothing is kept.
func TestDefaultVerifierRefusesUnsigned(t *testing.T) {
	data := fixtureMSI(t)
	url, client := serveMSI(t, data)
	dir := t.TempDir()
	_, err := Fetch(context.Background(), Source{URL: url, Signer: "Microsoft Corporation"}, dir, client, DefaultVerifier)
	if !errors.Is(err, ErrVerification) {
		t.Fatalf("Fetch of an unsigned MSI with Signer set: %v, want ErrVerification", err)
	}
	t.Logf("refused as expected: %v", err)
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("dir holds %q, want nothing", names)
	}
}

// TestInstallRealNotAPackage runs the real msiexec on a file that is not an
// MSI: it must fail with an error naming the exit code and its meaning.
func TestInstallRealNotAPackage(t *testing.T) {
	if os.Getenv(fixtureEnv) == "" {
		t.Skip(fixtureEnv + " is unset: it is set by e2e/wine/run-tests.sh")
	}
	dir := t.TempDir()
	bogus := filepath.Join(dir, "bogus.msi")
	if err := os.WriteFile(bogus, []byte("not an MSI"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Install(ctx, run.Exec{}, bogus, filepath.Join(dir, "bogus.log"))
	if err == nil {
		t.Fatalf("Install(not an MSI) = %+v, nil; want an error", res)
	}
	if res.ExitCode == 0 || !strings.Contains(err.Error(), "exit "+strconv.Itoa(res.ExitCode)) {
		t.Errorf("Install(not an MSI) = %+v, %v", res, err)
	}
	t.Logf("Install(not an MSI): %v", err)
}

const signedFixtureEnv = "AGENTKEEPER_TEST_MSI_SELFSIGNED"

// selfSignedMSI returns the path and bytes of the fixture MSI signed
// (osslsigncode) with a self-signed certificate whose subject CN is
// "Microsoft Corporation", or skips the test.
func selfSignedMSI(t *testing.T) (string, []byte) {
	t.Helper()
	p := os.Getenv(signedFixtureEnv)
	if p == "" {
		t.Skip(signedFixtureEnv + " is unset: it is set by e2e/wine/run-tests.sh")
	}
	if strings.HasPrefix(p, "/") {
		p = `Z:` + filepath.FromSlash(p)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%s: %v", signedFixtureEnv, err)
	}
	return p, data
}

// isWine reports whether the test runs under Wine (ntdll exports
// wine_get_version there).
func isWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// TestSignerCommonNameReal reads the signer's CN of the self-signed fixture
// with the real crypt32 calls (CryptQueryObject, CryptMsgGetParam,
// CertFindCertificateInStore, CertGetNameString).
func TestSignerCommonNameReal(t *testing.T) {
	p, _ := selfSignedMSI(t)
	u16, err := windows.UTF16PtrFromString(p)
	if err != nil {
		t.Fatal(err)
	}
	cn, err := signerCommonName(u16)
	if err != nil {
		t.Fatalf("signerCommonName(%s): %v", p, err)
	}
	if cn != "Microsoft Corporation" {
		t.Errorf("signerCommonName(%s) = %q, want %q", p, cn, "Microsoft Corporation")
	}
	// The unsigned fixture has no signer to read.
	if q := os.Getenv(fixtureEnv); q != "" {
		if strings.HasPrefix(q, "/") {
			q = `Z:` + filepath.FromSlash(q)
		}
		u, _ := windows.UTF16PtrFromString(q)
		if cn, err := signerCommonName(u); err == nil {
			t.Errorf("signerCommonName(unsigned %s) = %q, nil; want an error", q, cn)
		}
	}
}

// TestDefaultVerifierRefusesSelfSigned checks that a signature whose root is
// not trusted is refused even though its CN is the expected one, and that
// Fetch then keeps nothing.
func TestDefaultVerifierRefusesSelfSigned(t *testing.T) {
	_, data := selfSignedMSI(t)
	if isWine() {
		// Wine 8.0's WinVerifyTrust accepts this self-signed MSI, and even one
		// altered after signing: it checks neither the root nor the digest of
		// an MSI. Only real Windows can prove the refusal.
		t.Skip("Wine's WinVerifyTrust does not verify MSI signatures; the refusal is checked on real Windows only")
	}
	url, client := serveMSI(t, data)
	dir := t.TempDir()
	_, err := Fetch(context.Background(), Source{URL: url, Signer: "Microsoft Corporation"}, dir, client, DefaultVerifier)
	if !errors.Is(err, ErrVerification) {
		t.Fatalf("Fetch of a self-signed MSI: %v, want ErrVerification", err)
	}
	t.Logf("refused as expected: %v", err)
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("dir holds %q, want nothing", names)
	}
}
