package fsroot

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// forceWalk makes lookups use the walk (as on a kernel without openat2)
// until the test ends.
func forceWalk(t *testing.T) {
	t.Helper()
	old := noOpenat2.Load()
	noOpenat2.Store(true)
	t.Cleanup(func() { noOpenat2.Store(old) })
}

// kernelHasOpenat2 asks the kernel directly.
func kernelHasOpenat2(t *testing.T) bool {
	t.Helper()
	fd, err := unix.Openat2(unix.AT_FDCWD, ".", &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT})
	if err == nil {
		unix.Close(fd)
		return true
	}
	if errors.Is(err, unix.ENOSYS) {
		return false
	}
	t.Fatalf("openat2 probe: %v", err)
	return false
}

// TestLookupPathInUse: on a kernel with openat2 the lookups use it, and the
// walk only where the kernel lacks it.
func TestLookupPathInUse(t *testing.T) {
	root := linkRoot(t)
	before := walks.Load()
	if _, err := root.ReadFile("/etc/chain-1", MaxSmallFile); err != nil {
		t.Fatal(err)
	}
	used := walks.Load() > before
	if has := kernelHasOpenat2(t); has == used || has == noOpenat2.Load() {
		t.Errorf("kernel has openat2: %v, but the walk was used: %v (noOpenat2 %v)", has, used, noOpenat2.Load())
	}
}

// TestWalkFallback runs the lookup tests again through the walk that
// replaces openat2 on kernels without it.
func TestWalkFallback(t *testing.T) {
	forceWalk(t)
	before := walks.Load()
	t.Run("ResolveStaysInsideRoot", TestResolveStaysInsideRoot)
	t.Run("ReadFileThroughLinks", TestReadFileThroughLinks)
	t.Run("ExistsAndReadDirThroughLinks", TestExistsAndReadDirThroughLinks)
	t.Run("ReadFile", TestReadFile)
	t.Run("ExistsStatReadDir", TestExistsStatReadDir)
	t.Run("OpenRefusesDirectory", TestOpenRefusesDirectory)
	t.Run("ReadFileFIFO", TestReadFileFIFO)
	t.Run("OddNames", TestOddNames)
	if walks.Load() == before {
		t.Fatal("the walk was never used")
	}
}

// TestOddNames: paths with "..", ".", repeated slashes and trailing
// slashes, links to the root and to ".." of the root stay inside.
func TestOddNames(t *testing.T) {
	dir := t.TempDir()
	mkfiles(t, dir, map[string]string{"etc/os-release": "ID=inside\n", "etc/sub/": ""})
	for name, target := range map[string]string{
		"etc/to-root":    "/",
		"etc/to-dotdot":  "..",
		"etc/sub/up3":    "../../../..",
		"etc/sub/abs-up": "/../../..//etc",
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	root := New(dir)
	for _, p := range []string{
		"/etc/os-release", "etc/os-release", "//etc//os-release", "/./etc/./os-release",
		"/../../etc/os-release", "/etc/../../../etc/os-release", "/etc/to-root/etc/os-release",
		"/etc/to-dotdot/etc/os-release", "/etc/sub/up3/etc/os-release", "/etc/sub/abs-up/os-release",
		"/etc/to-root/../../etc/to-dotdot/../etc/os-release",
	} {
		got, err := root.ReadFile(p, MaxSmallFile)
		if err != nil || string(got) != "ID=inside\n" {
			t.Errorf("ReadFile(%q) = %q, %v; want the root's os-release", p, got, err)
		}
	}
	for _, p := range []string{"/", "", ".", "..", "/etc/to-root", "/etc/sub/up3/"} {
		ents, err := root.ReadDir(p)
		if err != nil || len(ents) != 1 || ents[0].Name() != "etc" {
			t.Errorf("ReadDir(%q) = %v, %v; want the root itself ([etc])", p, ents, err)
		}
	}
	if _, err := root.ReadFile("/etc/os-release/", MaxSmallFile); err == nil {
		t.Errorf("ReadFile of a file with a trailing slash succeeded")
	}
}

// TestRacingWriterCannotRedirect: while writers inside the image swap
// folders for links to a host folder (atomically with RENAME_EXCHANGE, and
// by rename-then-symlink), reads beneath the root must never return what
// the host folder holds. The test fails on any read of host content.
func TestRacingWriterCannotRedirect(t *testing.T) {
	for _, mode := range []string{"openat2", "walk"} {
		t.Run(mode, func(t *testing.T) {
			if mode == "walk" {
				forceWalk(t)
			}
			racingReads(t, 3000)
		})
	}
}

const hostSecret = "HOST-SECRET"

func racingReads(t *testing.T, rounds int) {
	top := t.TempDir()
	host := filepath.Join(top, "host")
	dir := filepath.Join(top, "root")
	mkfiles(t, host, map[string]string{
		"etc/os-release":          "ID=" + hostSecret + "\n",
		"etc/host-only":           hostSecret,
		"waagent/status/1.status": hostSecret,
		"waagent/host-only":       hostSecret,
		"share/os-release":        "ID=" + hostSecret + "\n",
	})
	mkfiles(t, dir, map[string]string{
		"etc/os-release":                  "ID=inside\n",
		"var/lib/waagent/status/1.status": "inside",
		"usr/share/os-release":            "ID=inside\n",
	})
	// The links the writers swap in: to the host folder by absolute host
	// path and by climbing "..".
	mustSymlink(t, filepath.Join(host, "etc"), filepath.Join(dir, "etc-swap"))
	mustSymlink(t, "../../../host/waagent", filepath.Join(dir, "var/lib/waagent-swap"))

	var stop atomic.Bool
	var swaps atomic.Int64
	var wg sync.WaitGroup
	exchange := func(a, b string) {
		defer wg.Done()
		for !stop.Load() {
			if err := unix.Renameat2(unix.AT_FDCWD, a, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
				t.Errorf("exchange %s, %s: %v", a, b, err)
				return
			}
			swaps.Add(1)
		}
	}
	wg.Add(3)
	go exchange(filepath.Join(dir, "etc"), filepath.Join(dir, "etc-swap"))
	go exchange(filepath.Join(dir, "var/lib/waagent"), filepath.Join(dir, "var/lib/waagent-swap"))
	// Not atomic: usr/share is moved away and a link to the host put there.
	go func() {
		defer wg.Done()
		share, real := filepath.Join(dir, "usr/share"), filepath.Join(dir, "usr/share.real")
		for !stop.Load() {
			if err := os.Rename(share, real); err != nil {
				t.Errorf("rename: %v", err)
				return
			}
			os.Symlink(filepath.Join(host, "share"), share)
			os.Remove(share)
			if err := os.Rename(real, share); err != nil {
				t.Errorf("rename back: %v", err)
				return
			}
			swaps.Add(1)
		}
	}()
	defer func() { stop.Store(true); wg.Wait() }()

	root := New(dir)
	var inside, failed, tried int
	leak := func(what string, got string) {
		t.Fatalf("%s read host content through a racing link: %q (after %d reads, %d swaps)", what, got, tried, swaps.Load())
	}
	for range rounds {
		for _, p := range []string{"/etc/os-release", "/var/lib/waagent/status/1.status", "/usr/share/os-release"} {
			tried++
			b, err := root.ReadFile(p, MaxSmallFile)
			switch {
			case err != nil:
				failed++
			case strings.Contains(string(b), hostSecret):
				leak("ReadFile("+p+")", string(b))
			default:
				inside++
			}
			tried++
			if f, _, err := root.Open(p); err == nil {
				buf := make([]byte, 64)
				n, _ := f.Read(buf)
				f.Close()
				if strings.Contains(string(buf[:n]), hostSecret) {
					leak("Open("+p+")", string(buf[:n]))
				}
			}
		}
		for _, d := range []string{"/etc", "/var/lib/waagent"} {
			tried++
			ents, err := root.ReadDir(d)
			if err == nil {
				for _, e := range ents {
					if e.Name() == "host-only" {
						leak("ReadDir("+d+")", e.Name())
					}
				}
			}
			tried++
			if _, err := root.Stat(d + "/host-only"); err == nil {
				leak("Stat("+d+"/host-only)", "exists")
			}
		}
	}
	stop.Store(true)
	wg.Wait()
	t.Logf("%d hostile reads during %d swaps: %d read the root's file, %d failed (link swapped in: the host path is not inside the root)", tried, swaps.Load(), inside, failed)
	if swaps.Load() == 0 || inside == 0 || failed == 0 {
		t.Errorf("the race did not run both ways (%d swaps, %d inside reads, %d refused)", swaps.Load(), inside, failed)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestWalkErrors: the walk answers like the kernel: ENOENT, ENOTDIR, ELOOP.
func TestWalkErrors(t *testing.T) {
	forceWalk(t)
	root := linkRoot(t)
	for _, tc := range []struct {
		p    string
		want error
	}{
		{"/etc/nothing", fs.ErrNotExist},
		{"/etc/os-release/x", syscall.ENOTDIR},
		{"/etc/loop-a", ErrLinkLoop},
		{"/etc/loop-b/x", ErrLinkLoop},
	} {
		_, err := root.Stat(tc.p)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), root.Join(tc.p)) {
			t.Errorf("Stat(%q) error = %v, want %v naming %s", tc.p, err, tc.want, root.Join(tc.p))
		}
	}
}
