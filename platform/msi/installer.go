package msi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/install"
	"github.com/agentkeeper/agentkeeper/platform/privdir"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// Held is a verified MSI kept open so that it cannot be changed, replaced
// or deleted (Windows share mode: read only) until Close: msiexec installs
// exactly the file that was verified.
type Held struct {
	// Path is the file's path, for msiexec.
	Path string
	f    *os.File
}

// Close releases the file.
func (h *Held) Close() error { return h.f.Close() }

// Hold opens the MSI at p as Held and checks that what it holds has the
// SHA-256 sum (the one Fetch verified): a file changed between the check and
// the open is refused with ErrVerification.
func Hold(p string, sum []byte) (*Held, error) {
	f, err := openHeld(p)
	if err != nil {
		return nil, fmt.Errorf("hold %s: %w", p, err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	h := sha256.New()
	if err == nil {
		_, err = io.Copy(h, io.LimitReader(f, maxSize+1))
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("hold %s: %w", p, err)
	}
	if got := h.Sum(nil); !bytes.Equal(got, sum) {
		f.Close()
		return nil, fmt.Errorf("%w: %s changed after it was verified (sha256 %x, verified %x)", ErrVerification, p, got, sum)
	}
	return &Held{Path: p, f: f}, nil
}

// InstallerOptions configure an Installer.
type InstallerOptions struct {
	// Source is where the MSI comes from and how it is verified.
	Source Source
	// Dir holds the downloads and msiexec's logs. Install makes it (and its
	// parent) private with privdir.Ensure, and refuses it when it is not.
	Dir string
	// Runner runs msiexec.
	Runner run.Runner
	// HTTP downloads the MSI; nil means NewClient (dial, TLS and header
	// timeouts).
	HTTP *http.Client
	// VerifySig checks Authenticode signatures; nil when they cannot be
	// checked (then only a SHA-256 pin verifies).
	VerifySig SignatureVerifier
	// Live is true when the target is the running Windows: an MSI cannot be
	// installed into an offline image.
	Live bool
	// Now stamps the log file name; nil means time.Now.
	Now func() time.Time
}

// Installer installs an agent MSI as install.Installer: Candidate checks
// the source can be verified, Install fetches and verifies it (Fetch),
// holds it (Hold) and runs msiexec (Install).
type Installer struct{ o InstallerOptions }

var _ install.Installer = (*Installer)(nil)

// ErrNoSource is returned by Candidate when no MSI is configured.
var ErrNoSource = errors.New("no agent MSI is configured: set windows.msi to the agent MSI (a path or an https:// URL) and windows.msi_sha256 to its SHA-256")

// NewInstaller returns the Installer, or an error wrapping
// install.ErrNotHere when the target is not the running Windows.
func NewInstaller(o InstallerOptions) (*Installer, error) {
	if !o.Live {
		return nil, fmt.Errorf("%w: the Windows agent is installed by running its MSI on the running Windows machine: install it there (agentkeeper ensure on first boot), not into an offline image", install.ErrNotHere)
	}
	if o.Runner == nil {
		return nil, errors.New("msi: nil runner")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Installer{o: o}, nil
}

// Name implements install.Installer.
func (i *Installer) Name() string { return "msi" }

// files returns the names Install uses for the download.
func (i *Installer) files() (unverified, final string) {
	u, local, err := parseSource(i.o.Source.URL)
	name := "download"
	switch {
	case err != nil:
	case local != "":
		name = baseName(filepath.Base(local))
	default:
		name = baseName(path.Base(u.Path))
	}
	return filepath.Join(i.o.Dir, name+unverifiedExt), filepath.Join(i.o.Dir, name+verifiedExt)
}

// Commands implements install.Installer.
func (i *Installer) Commands(pkg string) []string {
	unverified, final := i.files()
	how := "its SHA-256"
	if i.o.Source.SHA256 == "" {
		how = fmt.Sprintf("its Authenticode signature (signer %q)", i.o.Source.Signer)
	}
	return []string{
		fmt.Sprintf("download %s to %s, verify %s, rename it to %s and keep it open (no writes, no deletes)", i.o.Source.URL, unverified, how, final),
		fmt.Sprintf("msiexec /i %s /quiet /norestart /L*v %s", final, filepath.Join(i.o.Dir, "msiexec-<time>.log")),
	}
}

// Candidate implements install.Installer: an MSI's version is known only
// once it is installed, so it returns "" when the source is configured and
// can be verified, and why not otherwise. Nothing is downloaded.
func (i *Installer) Candidate(ctx context.Context, pkg string) (string, error) {
	if i.o.Source.URL == "" {
		return "", ErrNoSource
	}
	if _, err := checkPolicy(i.o.Source, i.o.VerifySig); err != nil {
		return "", fmt.Errorf("refusing to install an unverified MSI: %w", err)
	}
	if _, _, err := parseSource(i.o.Source.URL); err != nil {
		return "", err
	}
	return "", nil
}

// Install implements install.Installer.
func (i *Installer) Install(ctx context.Context, pkg string) (install.Result, error) {
	var res install.Result
	for _, d := range []string{filepath.Dir(i.o.Dir), i.o.Dir} {
		if err := privdir.Ensure(d); err != nil {
			res.Add("download", install.StepFail, "%v", err)
			return res, fmt.Errorf("the download folder cannot be trusted: %w", err)
		}
	}
	p, sum, err := fetch(ctx, i.o.Source, i.o.Dir, i.o.HTTP, i.o.VerifySig)
	if err != nil {
		res.Add("download", install.StepFail, "%v", err)
		return res, fmt.Errorf("the agent MSI was refused: %w", err)
	}
	held, err := Hold(p, sum)
	if err != nil {
		os.Remove(p)
		res.Add("download", install.StepFail, "%v", err)
		return res, fmt.Errorf("the agent MSI was refused: %w", err)
	}
	defer held.Close()
	res.Add("download", install.StepPass, "verified %s (sha256 %x), held open until msiexec ends", p, sum)

	res.Log = filepath.Join(i.o.Dir, "msiexec-"+i.o.Now().UTC().Format("20060102T150405")+".log")
	ir, err := Install(ctx, i.o.Runner, held.Path, res.Log)
	switch {
	case errors.Is(err, ErrBusy):
		res.Add("msiexec", install.StepDeferred, "%v", err)
		return res, err
	case err != nil:
		res.Add("msiexec", install.StepFail, "%v", err)
		return res, fmt.Errorf("msiexec failed: %w (log %s)", err, res.Log)
	}
	res.RebootRequired = ir.RebootRequired
	reboot := ""
	if ir.RebootRequired {
		reboot = ", reboot required"
	}
	res.Add("msiexec", install.StepPass, "msiexec exit %d%s (log %s)", ir.ExitCode, reboot, res.Log)
	return res, nil
}
