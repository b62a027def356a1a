//go:build !windows

package msi

// DefaultVerifier is nil here: Authenticode signatures can only be checked on
// Windows, so elsewhere a Source must carry a SHA-256 pin.
var DefaultVerifier SignatureVerifier
