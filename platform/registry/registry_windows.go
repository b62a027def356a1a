package registry

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// LocalMachineString reads a string (or integer, rendered in decimal) value
// under HKEY_LOCAL_MACHINE\path.
func LocalMachineString(path, name string) (string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE)
	if err != nil {
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
			return "", fmt.Errorf(`HKLM\%s: %w`, path, ErrNotFound)
		}
		return "", fmt.Errorf(`open HKLM\%s: %w`, path, err)
	}
	defer k.Close()
	s, _, err := k.GetStringValue(name)
	if err == nil {
		return s, nil
	}
	if errors.Is(err, registry.ErrUnexpectedType) {
		n, _, err2 := k.GetIntegerValue(name)
		if err2 == nil {
			return strconv.FormatUint(n, 10), nil
		}
	}
	if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		return "", fmt.Errorf(`HKLM\%s\%s: %w`, path, name, ErrNotFound)
	}
	return "", fmt.Errorf(`read HKLM\%s\%s: %w`, path, name, err)
}
