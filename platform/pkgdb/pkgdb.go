// Package pkgdb reads which version of a package is installed, from the
// dpkg database or the RPM database of a root, and turns distribution
// package versions into upstream versions that can be compared.
package pkgdb

import (
	"context"
	"errors"
	"io"

	"github.com/hashicorp/go-version"

	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// Package is one installed package.
type Package struct {
	Name string
	// Version exactly as the database holds it (epoch, revision and all).
	Version string
	// Status is dpkg's Status field ("install ok installed") or "installed" for RPM.
	Status string
	// Installed is true only for a fully installed package (not
	// half-installed, config-files or unpacked).
	Installed bool
}

// ParseDpkgStatus reads a dpkg status file and returns the stanza of the
// package name (found reports whether there was one).
func ParseDpkgStatus(r io.Reader, name string) (p Package, found bool, err error) {
	return Package{}, false, errors.New("not implemented")
}

// Dpkg reads var/lib/dpkg/status under root.
func Dpkg(root fsroot.Root, name string) (Package, bool, error) {
	return Package{}, false, errors.New("not implemented")
}

// RPM asks rpm about name in the RPM database under root (rpm --root).
func RPM(ctx context.Context, r run.Runner, root fsroot.Root, name string) (Package, bool, error) {
	return Package{}, false, errors.New("not implemented")
}

// Upstream turns a distribution package version into the upstream version:
// "1:2.9.1.1-0ubuntu0.22.04.1" -> 2.9.1.1. Garbage is an error.
func Upstream(v string) (*version.Version, error) {
	return nil, errors.New("not implemented")
}
