//go:build linux

// Package debroot gives tests a fresh writable copy of a cached Debian 12
// root of e2e/debian/mkroot.sh (base, waagent, kernel, i386, netcfg) in
// milliseconds: an overlay mounted over the root's pristine unpacked copy,
// unmounted again when the test ends. Where overlayfs cannot be mounted,
// mkroot.sh unpacks the tarball instead and says so in the test log.
package debroot

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Names are the roots mkroot.sh builds.
var Names = []string{"base", "waagent", "kernel", "i386", "netcfg"}

// Script returns the absolute path of e2e/debian/mkroot.sh, found from the
// module root above the working directory (go test runs in the package's
// folder).
func Script() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(dir, "e2e", "debian", "mkroot.sh")
			if _, err := os.Stat(p); err != nil {
				return "", fmt.Errorf("find mkroot.sh: %w", err)
			}
			return p, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("find mkroot.sh: no go.mod above the working directory")
		}
		dir = up
	}
}

// Copy returns a new folder in t's temporary directory holding a fresh
// writable copy of the cached root name, built by the mkroot.sh script
// (with its cache where AGENTKEEPER_CACHE or $HOME says) when missing.
// The copy is unmounted and deleted when the test ends. Failures fail the
// test; callers check their prerequisites (root, the tarball) first.
func Copy(t testing.TB, script, name string) string {
	t.Helper()
	return fresh(t, script, name, nil)
}

// CopyTar is Copy for a tarball path CACHE/debian/NAME.tar (what
// AGENTKEEPER_DEBIAN_BASE_TAR names): mkroot.sh is found from the module
// root and run with AGENTKEEPER_CACHE=CACHE. A tarball elsewhere is
// unpacked with tar, as before there were overlays.
func CopyTar(t testing.TB, tarball string) string {
	t.Helper()
	name, cache, ok := cacheOf(tarball)
	script, err := Script()
	if !ok || err != nil {
		why := fmt.Sprintf("%s is not NAME.tar in a mkroot.sh cache (CACHE/debian/NAME.tar)", tarball)
		if err != nil {
			why = err.Error()
		}
		t.Logf("%s: unpacking %s with tar instead of an overlay", why, tarball)
		return untar(t, tarball)
	}
	return fresh(t, script, name, []string{"AGENTKEEPER_CACHE=" + cache})
}

// cacheOf splits CACHE/debian/NAME.tar.
func cacheOf(tarball string) (name, cache string, ok bool) {
	abs, err := filepath.Abs(tarball)
	if err != nil {
		return "", "", false
	}
	dir, file := filepath.Split(abs)
	name, found := strings.CutSuffix(file, ".tar")
	if !found || filepath.Base(dir) != "debian" {
		return "", "", false
	}
	for _, n := range Names {
		if n == name {
			return name, filepath.Dir(filepath.Clean(dir)), true
		}
	}
	return "", "", false
}

func fresh(t testing.TB, script, name string, env []string) string {
	t.Helper()
	// TempDir first: its removal is registered before the unmount below,
	// so it runs after it.
	dest := filepath.Join(t.TempDir(), name)
	env = append(os.Environ(), append(env, "MKROOT_OWNER="+strconv.Itoa(os.Getpid()))...)
	start := time.Now()
	out, err := mkroot(env, script, "overlay", name, dest)
	logLines(t, out)
	t.Cleanup(func() {
		if out, err := mkroot(env, script, "drop", dest); err != nil {
			t.Errorf("bash %s drop %s: %v\n%s", script, dest, err, out)
		}
	})
	if err != nil {
		t.Fatalf("bash %s overlay %s %s: %v", script, name, dest, err)
	}
	t.Logf("fresh %s root at %s in %s", name, dest, time.Since(start).Round(time.Millisecond))
	return dest
}

func mkroot(env []string, script string, args ...string) ([]byte, error) {
	cmd := exec.Command("bash", append([]string{script}, args...)...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// untar extracts tarball into a new folder in t's temporary directory.
func untar(t testing.TB, tarball string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	argv := []string{"tar", "--numeric-owner", "-p", "--xattrs", "--xattrs-include=*", "--acls", "-C", dir, "-xf", tarball}
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	t.Logf("unpacked %s in %s", tarball, time.Since(start).Round(time.Millisecond))
	return dir
}

func logLines(t testing.TB, out []byte) {
	t.Helper()
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if l != "" {
			t.Log(l)
		}
	}
}
