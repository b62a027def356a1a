//go:build windows

package osinfo

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/agentkeeper/agentkeeper/platform/registry"
)

// detectLiveWindows reads the running Windows' version from its registry.
func detectLiveWindows() (Info, error) { return WindowsFromRegistry(registry.Live) }

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
