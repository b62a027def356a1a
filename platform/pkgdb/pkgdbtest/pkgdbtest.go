//go:build linux

// Package pkgdbtest builds real RPM packages and RPM databases for tests,
// with Debian's rpm and rpmbuild.
package pkgdbtest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/agentkeeper/agentkeeper/platform/run"
)

// RequireRPM fails the test when rpm or rpmbuild is missing: make test
// installs them, so a missing tool is a broken machine, not a reason to skip.
func RequireRPM(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"rpm", "rpmbuild"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (%v): install the Debian package rpm (make test does)", tool, err)
		}
	}
}

// BuildRPM builds an empty noarch package and returns the .rpm's path.
func BuildRPM(t *testing.T, name, epoch, ver, rel string) string {
	t.Helper()
	top := t.TempDir()
	spec := "Name: " + name + "\nVersion: " + ver + "\nRelease: " + rel + "\n"
	if epoch != "" {
		spec += "Epoch: " + epoch + "\n"
	}
	spec += "Summary: agentkeeper test package\nLicense: Apache-2.0\nBuildArch: noarch\n\n%description\nTest package.\n\n%files\n"
	specPath := filepath.Join(top, name+".spec")
	if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	// _dbpath too: rpmbuild opens the RPM database to check build
	// dependencies, and Debian's default (~/.rpmdb) is outside the test.
	MustRun(t, "rpmbuild", "--define", "_topdir "+top, "--define", "_tmppath "+top,
		"--define", "_dbpath "+filepath.Join(top, "rpmdb"), "-bb", specPath)
	out := filepath.Join(top, "RPMS", "noarch", name+"-"+ver+"-"+rel+".noarch.rpm")
	if _, err := os.Stat(out); err != nil {
		t.Fatalf("rpmbuild left no %s: %v", out, err)
	}
	return out
}

// InstallJustDB creates the RPM database at dbpath inside root and records
// the packages in it (rpm --justdb: no files are written).
func InstallJustDB(t *testing.T, root, dbpath string, pkgs ...string) {
	t.Helper()
	MustRun(t, "rpm", "--root", root, "--dbpath", dbpath, "--initdb")
	for _, p := range pkgs {
		MustRun(t, "rpm", "--root", root, "--dbpath", dbpath, "-i", "--nodeps", "--justdb", p)
	}
}

// MustRun runs argv (LC_ALL=C) and fails the test unless it exits 0.
func MustRun(t *testing.T, argv ...string) {
	t.Helper()
	res, err := run.Exec{}.Run(context.Background(), run.Cmd{Argv: argv, Env: []string{"LC_ALL=C"}})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("%s: %v exit %d: %s", strings.Join(argv, " "), err, res.ExitCode, res.Tail(10))
	}
}
