//go:build !linux

package fsroot

import (
	"fmt"
	"io/fs"
	"os"
)

// open resolves p by hand and opens the host path.
func (r Root) open(p string) (*os.File, fs.FileInfo, error) {
	host, err := r.Resolve(p)
	if err != nil {
		return nil, nil, err
	}
	// Stat before opening: opening a FIFO blocks until a writer appears, and
	// opening a device can have side effects.
	if fi, err := os.Stat(host); err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", r.Join(p), unwrapPath(err))
	} else if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("open %s: not a regular file (%s)", r.Join(p), Kind(fi.Mode()))
	}
	f, err := os.Open(host)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", r.Join(p), unwrapPath(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("stat %s: %w", r.Join(p), unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("open %s: not a regular file (%s)", r.Join(p), Kind(fi.Mode()))
	}
	return f, fi, nil
}

// readDir resolves p by hand and lists the host path.
func (r Root) readDir(p string) ([]fs.DirEntry, error) {
	host, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(host)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.Join(p), unwrapPath(err))
	}
	return ents, nil
}

// stat resolves p by hand and stats the host path.
func (r Root) stat(p string) (fs.FileInfo, error) {
	host, err := r.Resolve(p)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(host)
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", r.Join(p), unwrapPath(err))
	}
	return fi, nil
}
