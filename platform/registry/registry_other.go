//go:build !windows

package registry

type live struct{}

func (live) String(path, name string) (string, error) { return "", ErrNotSupported }
func (live) Uint(path, name string) (uint64, error)   { return 0, ErrNotSupported }
func (live) Binary(path, name string) ([]byte, error) { return nil, ErrNotSupported }
func (live) SubKeys(path string) ([]string, error)    { return nil, ErrNotSupported }
