//go:build windows

package osinfo

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// currentVersionKey holds the running Windows' product name and build.
const currentVersionKey = `SOFTWARE\Microsoft\Windows NT\CurrentVersion`

// productOptionsKey holds ProductType: WinNT on clients, ServerNT or
// LanmanNT (a domain controller) on servers.
const productOptionsKey = `SYSTEM\CurrentControlSet\Control\ProductOptions`

// detectLiveWindows reads the running Windows' version from the registry.
func detectLiveWindows() (Info, error) {
	source := `HKLM\` + currentVersionKey
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, currentVersionKey, registry.QUERY_VALUE)
	if err != nil {
		return Info{}, fmt.Errorf("open registry key %s: %w", source, err)
	}
	defer k.Close()
	str := func(name string) string {
		s, _, err := k.GetStringValue(name)
		if err != nil {
			return ""
		}
		return s
	}
	v := windowsVersion{
		ProductName:      str("ProductName"),
		EditionID:        str("EditionID"),
		InstallationType: str("InstallationType"),
		DisplayVersion:   str("DisplayVersion"),
		Build:            str("CurrentBuildNumber"),
		CurrentVersion:   str("CurrentVersion"),
	}
	if v.Build == "" {
		v.Build = str("CurrentBuild")
	}
	if pk, err := registry.OpenKey(registry.LOCAL_MACHINE, productOptionsKey, registry.QUERY_VALUE); err == nil {
		v.ProductType, _, _ = pk.GetStringValue("ProductType")
		pk.Close()
	}
	major, _, errMajor := k.GetIntegerValue("CurrentMajorVersionNumber")
	minor, _, errMinor := k.GetIntegerValue("CurrentMinorVersionNumber")
	if errMajor == nil && errMinor == nil {
		v.Major, v.Minor, v.HasMajorMinor = major, minor, true
	}
	return windowsInfo(v, source)
}

var (
	modKernel32                = windows.NewLazySystemDLL("kernel32.dll")
	procGetSystemFirmwareTable = modKernel32.NewProc("GetSystemFirmwareTable")
)

// providerRSMB is the 'RSMB' firmware table provider signature (raw SMBIOS).
const providerRSMB = 'R'<<24 | 'S'<<16 | 'M'<<8 | 'B'

// maxSMBIOS caps the firmware table buffer; real tables are a few KiB.
const maxSMBIOS = 1 << 20

// readRawSMBIOS returns the RawSMBIOSData buffer from the firmware.
func readRawSMBIOS() ([]byte, error) {
	if err := procGetSystemFirmwareTable.Find(); err != nil {
		return nil, fmt.Errorf("GetSystemFirmwareTable: %w", err)
	}
	n, _, err := procGetSystemFirmwareTable.Call(providerRSMB, 0, 0, 0)
	if n == 0 {
		return nil, fmt.Errorf("GetSystemFirmwareTable(RSMB) size: %w", err)
	}
	if n > maxSMBIOS {
		return nil, fmt.Errorf("GetSystemFirmwareTable(RSMB): table of %d bytes exceeds the %d-byte limit", n, maxSMBIOS)
	}
	buf := make([]byte, n)
	m, _, err := procGetSystemFirmwareTable.Call(providerRSMB, 0, uintptr(unsafe.Pointer(&buf[0])), n)
	if m == 0 {
		return nil, fmt.Errorf("GetSystemFirmwareTable(RSMB): %w", err)
	}
	if m > n {
		return nil, fmt.Errorf("GetSystemFirmwareTable(RSMB): table grew from %d to %d bytes while being read", n, m)
	}
	return buf[:m], nil
}

// onAzureWindows compares the SMBIOS chassis asset tag with Azure's.
func onAzureWindows() (bool, error) {
	raw, err := readRawSMBIOS()
	if err != nil {
		return false, err
	}
	table, err := parseRawSMBIOSData(raw)
	if err != nil {
		return false, err
	}
	tag, err := parseSMBIOSChassisAssetTag(table)
	if errors.Is(err, errNoChassis) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return isAzureAssetTag(tag), nil
}
