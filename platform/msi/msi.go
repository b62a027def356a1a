// Package msi fetches a Windows Installer package (the Azure VM agent's MSI)
// so that nothing runs before its SHA-256 pin or Authenticode signature is
// checked, and installs it silently with msiexec, turning msiexec's exit code
// and log into a result or an error that says what to do.
package msi

import (
	"errors"

	"github.com/agentkeeper/agentkeeper/platform/install"
)

// ErrNoVerification is returned by Fetch when the Source gives no way to
// verify the download: no SHA-256 pin and no signature that can be checked.
// A download that cannot be verified is refused, never installed.
var ErrNoVerification = errors.New("no way to verify the MSI: set its SHA-256 (or an Authenticode signer where signatures can be checked)")

// ErrVerification is returned by Fetch when the download does not match its
// SHA-256 pin or its signature is missing, invalid or from another signer.
// The unverified file has been removed.
var ErrVerification = errors.New("MSI verification failed")

// ErrBusy is returned by Install when msiexec exits with 1618: another
// installation is in progress. Try again later. It is an install.ErrBusy.
var ErrBusy error = busyError{}

type busyError struct{}

func (busyError) Error() string {
	return "another installation is in progress (msiexec exit 1618): try again later"
}
func (busyError) Is(target error) bool { return target == install.ErrBusy }

// Source says where an MSI comes from and how to verify it.
type Source struct {
	// URL is a local path, an https:// URL, or an http:// URL whose host is a
	// loopback address (127.0.0.0/8, ::1, localhost), which is for tests.
	URL string
	// SHA256 is the expected SHA-256 of the file, in hex ("" for none).
	// When set, it alone decides: the file must match it.
	SHA256 string
	// Signer is the expected subject common name of the Authenticode signer,
	// e.g. "Microsoft Corporation". It decides when no SHA256 is set; ""
	// means signatures are not accepted as verification.
	Signer string
}

// SignatureVerifier checks the Authenticode signature of the file at path and
// returns the subject common name of its signer. It returns an error when the
// file is unsigned or the signature does not verify. A nil SignatureVerifier
// means signatures cannot be checked on this system.
type SignatureVerifier func(path string) (signer string, err error)
