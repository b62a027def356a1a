//go:build !windows

package registry

// LocalMachineString reads a value under HKEY_LOCAL_MACHINE\path.
func LocalMachineString(path, name string) (string, error) { return "", ErrNotSupported }
