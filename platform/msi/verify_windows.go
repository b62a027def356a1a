//go:build windows

package msi

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/windows"
)

// DefaultVerifier checks a file's Authenticode signature with WinVerifyTrust
// (the signature must be valid and chain to a trusted root) and returns the
// common name (CN) of the signing certificate's subject.
//
// Revocation is not checked: machines being prepared offline (image builds,
// on-premises hosts) cannot reach the revocation servers. Pin the SHA-256 as
// well where that matters.
var DefaultVerifier SignatureVerifier = verifyAuthenticode

// crypt32 functions that golang.org/x/sys/windows does not wrap.
var (
	modcrypt32           = windows.NewLazySystemDLL("crypt32.dll")
	procCryptMsgGetParam = modcrypt32.NewProc("CryptMsgGetParam")
	procCryptMsgClose    = modcrypt32.NewProc("CryptMsgClose")
)

// cmsgSignerCertInfoParam is CMSG_SIGNER_CERT_INFO_PARAM (wincrypt.h): the
// issuer and serial number of a signer's certificate, as a CERT_INFO.
const cmsgSignerCertInfoParam = 7

// oidCommonName is szOID_COMMON_NAME, NUL-terminated for CertGetNameStringW.
var oidCommonName = []byte("2.5.4.3\x00")

func verifyAuthenticode(path string) (string, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return "", fmt.Errorf("verify signature of %s: %w", path, err)
	}
	if err := winVerifyTrust(p); err != nil {
		return "", fmt.Errorf("WinVerifyTrust %s: %w", path, err)
	}
	cn, err := signerCommonName(p)
	if err != nil {
		return "", fmt.Errorf("read signer of %s: %w", path, err)
	}
	return cn, nil
}

// winVerifyTrust verifies the embedded Authenticode signature of the file
// with the generic verify action, without UI and without revocation checks.
func winVerifyTrust(p *uint16) error {
	file := windows.WinTrustFileInfo{FilePath: p}
	file.Size = uint32(unsafe.Sizeof(file))
	data := windows.WinTrustData{
		UIChoice:                        windows.WTD_UI_NONE,
		RevocationChecks:                windows.WTD_REVOKE_NONE,
		UnionChoice:                     windows.WTD_CHOICE_FILE,
		FileOrCatalogOrBlobOrSgnrOrCert: unsafe.Pointer(&file),
		StateAction:                     windows.WTD_STATEACTION_VERIFY,
	}
	data.Size = uint32(unsafe.Sizeof(data))
	verr := windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, &data)
	data.StateAction = windows.WTD_STATEACTION_CLOSE
	cerr := windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, &data)
	runtime.KeepAlive(&file)
	if verr != nil {
		return verr
	}
	if cerr != nil {
		return fmt.Errorf("close trust state: %w", cerr)
	}
	return nil
}

// signerCommonName reads the embedded PKCS #7 signature of the file, finds
// its signer's certificate and returns the subject's common name.
func signerCommonName(p *uint16) (string, error) {
	var encoding, contentType, formatType uint32
	var store, msg windows.Handle
	err := windows.CryptQueryObject(windows.CERT_QUERY_OBJECT_FILE, unsafe.Pointer(p),
		windows.CERT_QUERY_CONTENT_FLAG_PKCS7_SIGNED_EMBED, windows.CERT_QUERY_FORMAT_FLAG_BINARY, 0,
		&encoding, &contentType, &formatType, &store, &msg, nil)
	if err != nil {
		return "", fmt.Errorf("CryptQueryObject: %w", err)
	}
	defer windows.CertCloseStore(store, 0)
	defer procCryptMsgClose.Call(uintptr(msg))

	var size uint32
	if r, _, e := procCryptMsgGetParam.Call(uintptr(msg), cmsgSignerCertInfoParam, 0, 0,
		uintptr(unsafe.Pointer(&size))); r == 0 {
		return "", fmt.Errorf("CryptMsgGetParam(CMSG_SIGNER_CERT_INFO_PARAM): %w", e)
	}
	if uintptr(size) < unsafe.Sizeof(windows.CertInfo{}) {
		return "", fmt.Errorf("CryptMsgGetParam(CMSG_SIGNER_CERT_INFO_PARAM): %d bytes, too short", size)
	}
	// A []uint64 keeps the CERT_INFO (which holds pointers into the same
	// buffer) 8-byte aligned.
	buf := make([]uint64, (size+7)/8)
	if r, _, e := procCryptMsgGetParam.Call(uintptr(msg), cmsgSignerCertInfoParam, 0,
		uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size))); r == 0 {
		return "", fmt.Errorf("CryptMsgGetParam(CMSG_SIGNER_CERT_INFO_PARAM): %w", e)
	}
	info := (*windows.CertInfo)(unsafe.Pointer(&buf[0]))
	cert, err := windows.CertFindCertificateInStore(store, encoding, 0, windows.CERT_FIND_SUBJECT_CERT,
		unsafe.Pointer(info), nil)
	runtime.KeepAlive(buf)
	if err != nil {
		return "", fmt.Errorf("CertFindCertificateInStore(signer): %w", err)
	}
	defer windows.CertFreeCertificateContext(cert)

	n := windows.CertGetNameString(cert, windows.CERT_NAME_ATTR_TYPE, 0, unsafe.Pointer(&oidCommonName[0]), nil, 0)
	if n <= 1 {
		return "", fmt.Errorf("signer certificate has no subject common name")
	}
	name := make([]uint16, n)
	windows.CertGetNameString(cert, windows.CERT_NAME_ATTR_TYPE, 0, unsafe.Pointer(&oidCommonName[0]), &name[0], n)
	return windows.UTF16ToString(name), nil
}
