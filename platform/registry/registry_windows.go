package registry

import (
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

type live struct{}

func open(path string, access uint32) (registry.Key, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, access)
	if err != nil {
		if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
			return 0, fmt.Errorf(`HKLM\%s: %w`, path, ErrNotFound)
		}
		return 0, fmt.Errorf(`open HKLM\%s: %w`, path, err)
	}
	return k, nil
}

func valueErr(path, name string, err error) error {
	if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		return fmt.Errorf(`HKLM\%s\%s: %w`, path, name, ErrNotFound)
	}
	return fmt.Errorf(`read HKLM\%s\%s: %w`, path, name, err)
}

// String reads a string (or integer, rendered in decimal) value.
func (live) String(path, name string) (string, error) {
	k, err := open(path, registry.QUERY_VALUE)
	if err != nil {
		return "", err
	}
	defer k.Close()
	s, _, err := k.GetStringValue(name)
	if err == nil {
		return s, nil
	}
	if errors.Is(err, registry.ErrUnexpectedType) {
		if n, _, err2 := k.GetIntegerValue(name); err2 == nil {
			return strconv.FormatUint(n, 10), nil
		}
	}
	return "", valueErr(path, name, err)
}

// Uint reads a DWORD or QWORD value.
func (live) Uint(path, name string) (uint64, error) {
	k, err := open(path, registry.QUERY_VALUE)
	if err != nil {
		return 0, err
	}
	defer k.Close()
	n, _, err := k.GetIntegerValue(name)
	if err != nil {
		return 0, valueErr(path, name, err)
	}
	return n, nil
}

// Binary reads a REG_BINARY value.
func (live) Binary(path, name string) ([]byte, error) {
	k, err := open(path, registry.QUERY_VALUE)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	b, _, err := k.GetBinaryValue(name)
	if err != nil {
		return nil, valueErr(path, name, err)
	}
	return b, nil
}

// SubKeys lists the key's subkeys.
func (live) SubKeys(path string) ([]string, error) {
	k, err := open(path, registry.ENUMERATE_SUB_KEYS)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	names, err := k.ReadSubKeyNames(-1)
	if err != nil {
		return nil, fmt.Errorf(`list HKLM\%s: %w`, path, err)
	}
	return names, nil
}
