package service

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/internal/testenv"
	"github.com/agentkeeper/agentkeeper/platform/fsroot"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// TestSystemdLiveReal asks this machine's real systemctl. Where systemd
// runs, journald must be found running; elsewhere (containers, CI) the
// answer must be ErrNoSystemd, which callers turn into the offline check.
func TestSystemdLiveReal(t *testing.T) {
	if _, err := os.Stat("/usr/bin/systemctl"); err != nil {
		if _, err := os.Stat("/bin/systemctl"); err != nil {
			t.Skip("no systemctl on this machine")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	booted := false
	if fi, err := os.Stat("/run/systemd/system"); err == nil && fi.IsDir() {
		booted = true // sd_booted(3)
	}
	tests := []struct {
		desc        string
		unit        string
		wantFound   bool
		wantRunning bool
	}{
		{desc: "journald", unit: "systemd-journald.service", wantFound: true, wantRunning: true},
		{desc: "missing unit", unit: "agentkeeper-no-such-unit.service"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			st, err := SystemdLive(ctx, run.Exec{}, tc.unit)
			if !booted {
				if !errors.Is(err, ErrNoSystemd) {
					t.Fatalf("not booted with systemd: got %+v, %v; want ErrNoSystemd", st, err)
				}
				t.Logf("as expected: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Installed != tc.wantFound || st.Running == nil || *st.Running != tc.wantRunning {
				t.Errorf("got %+v, want installed %v running %v", st, tc.wantFound, tc.wantRunning)
			}
		})
	}
}

// TestSystemctlMissing runs the real runner with an empty PATH.
func TestSystemctlMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := SystemdLive(context.Background(), run.Exec{}, "walinuxagent.service")
	if !errors.Is(err, ErrNoSystemd) || !strings.Contains(err.Error(), "systemctl not found") {
		t.Fatalf("err = %v, want ErrNoSystemd saying systemctl is missing", err)
	}
}

// TestSystemdOfflineDebianImage checks the unit layout of real Debian 12
// roots built by e2e/debian/mkroot.sh: with the waagent package installed
// (enabled via multi-user.target.wants, /lib -> usr/lib) and without it.
func TestSystemdOfflineDebianImage(t *testing.T) {
	cache := os.Getenv("AGENTKEEPER_CACHE")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			testenv.Need(t, "no home directory for the image cache: %v", err)
		}
		cache = filepath.Join(home, ".cache", "agentkeeper")
	}
	tests := []struct {
		desc string
		tar  string
		want State
	}{
		{desc: "waagent installed", tar: "waagent.tar", want: State{Installed: true, Enabled: true, StartType: "enabled"}},
		{desc: "base system", tar: "base.tar", want: State{}},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			tarball := filepath.Join(cache, "debian", tc.tar)
			if _, err := os.Stat(tarball); err != nil {
				testenv.Need(t, "%s missing (build it with e2e/debian/mkroot.sh build): %v", tarball, err)
			}
			dir := t.TempDir()
			extractUnits(t, tarball, dir)
			got, err := SystemdOffline(fsroot.New(dir), "walinuxagent.service")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("detail: %s", got.Detail)
			got.Detail = ""
			if got.Installed != tc.want.Installed || got.Enabled != tc.want.Enabled ||
				got.StartType != tc.want.StartType || got.Running != nil {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// extractUnits copies what SystemdOffline looks at out of a root tarball:
// top-level symlinks (lib -> usr/lib), systemd's unit directories and
// /etc/systemd/system with its links.
func extractUnits(t *testing.T, tarball, dir string) {
	t.Helper()
	f, err := os.Open(tarball)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("read %s: %v", tarball, err)
		}
		name := strings.TrimPrefix(filepath.Clean(h.Name), "./")
		keep := strings.HasPrefix(name, "etc/systemd/system/") ||
			strings.HasPrefix(name, "usr/lib/systemd/system/") ||
			strings.HasPrefix(name, "lib/systemd/system/") ||
			(!strings.Contains(name, "/") && h.Typeflag == tar.TypeSymlink)
		if !keep || strings.Contains(name, "..") {
			continue
		}
		dst := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(dst, 0o755)
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, dst)
		case tar.TypeReg:
			var data []byte
			if data, err = io.ReadAll(io.LimitReader(tr, fsroot.MaxSmallFile)); err == nil {
				err = os.WriteFile(dst, data, 0o644)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
