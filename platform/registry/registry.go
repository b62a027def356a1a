// Package registry reads values from the Windows registry (HKLM) through a
// small Reader: Live is the running system's registry (on other operating
// systems every read returns ErrNotSupported), Fake a map for tests.
package registry

import (
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strconv"
	"strings"
)

// ErrNotSupported is returned on operating systems without a registry.
var ErrNotSupported = errors.New("the Windows registry is not available on " + runtime.GOOS)

// ErrNotFound is returned (wrapped) when the key or value does not exist.
var ErrNotFound = errors.New("not found in the registry")

// Reader reads values under HKEY_LOCAL_MACHINE. Paths use backslashes and
// are relative to HKLM (SOFTWARE\Microsoft\...).
type Reader interface {
	// String reads a string value; an integer value is rendered in decimal.
	String(path, name string) (string, error)
	// Uint reads a DWORD or QWORD value.
	Uint(path, name string) (uint64, error)
	// Binary reads a REG_BINARY value.
	Binary(path, name string) ([]byte, error)
	// SubKeys lists the names of the key's subkeys.
	SubKeys(path string) ([]string, error)
}

// Live is the running system's registry.
var Live Reader = live{}

// LocalMachineString reads a value from the live registry (Live.String).
func LocalMachineString(path, name string) (string, error) { return Live.String(path, name) }

// Fake is a registry in memory for tests: keys are paths (compared without
// regard to case, as Windows does), values are string, uint64 (or int) and
// []byte. A key with no values is made with an empty map.
type Fake map[string]map[string]any

func (f Fake) key(path string) (map[string]any, bool) {
	for k, v := range f {
		if strings.EqualFold(k, path) {
			return v, true
		}
	}
	return nil, false
}

func (f Fake) value(path, name string) (any, error) {
	k, ok := f.key(path)
	if !ok {
		return nil, fmt.Errorf(`HKLM\%s: %w`, path, ErrNotFound)
	}
	for n, v := range k {
		if strings.EqualFold(n, name) {
			return v, nil
		}
	}
	return nil, fmt.Errorf(`HKLM\%s\%s: %w`, path, name, ErrNotFound)
}

// String implements Reader.
func (f Fake) String(path, name string) (string, error) {
	v, err := f.value(path, name)
	if err != nil {
		return "", err
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case int:
		return strconv.Itoa(x), nil
	}
	return "", fmt.Errorf(`HKLM\%s\%s: not a string value`, path, name)
}

// Uint implements Reader.
func (f Fake) Uint(path, name string) (uint64, error) {
	v, err := f.value(path, name)
	if err != nil {
		return 0, err
	}
	switch x := v.(type) {
	case uint64:
		return x, nil
	case int:
		return uint64(x), nil
	}
	return 0, fmt.Errorf(`HKLM\%s\%s: not an integer value`, path, name)
}

// Binary implements Reader.
func (f Fake) Binary(path, name string) ([]byte, error) {
	v, err := f.value(path, name)
	if err != nil {
		return nil, err
	}
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	return nil, fmt.Errorf(`HKLM\%s\%s: not a binary value`, path, name)
}

// SubKeys implements Reader: the direct children of path among the keys,
// which need not be listed themselves.
func (f Fake) SubKeys(path string) ([]string, error) {
	_, exists := f.key(path)
	prefix := strings.ToLower(strings.TrimSuffix(path, `\`) + `\`)
	seen := map[string]bool{}
	for k := range f {
		if rest, ok := strings.CutPrefix(strings.ToLower(k), prefix); ok && rest != "" {
			child := strings.SplitN(rest, `\`, 2)[0]
			seen[k[len(prefix):len(prefix)+len(child)]] = true
		}
	}
	if !exists && len(seen) == 0 {
		return nil, fmt.Errorf(`HKLM\%s: %w`, path, ErrNotFound)
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out, nil
}
