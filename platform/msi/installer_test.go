//go:build !windows

package msi

import (
	"context"
	"crypto/sha256"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/install"
	"github.com/agentkeeper/agentkeeper/platform/run"
)

// msiexecFake answers msiexec with exit and records what it was given; it
// also checks that the package it is handed is the verified one.
func msiexecFake(t *testing.T, exit int, seen *[]string) *run.Fake {
	return &run.Fake{Respond: func(c run.Cmd) (run.Result, error) {
		if c.Argv[0] != "msiexec" || c.Argv[1] != "/i" {
			t.Errorf("unexpected command %s", c)
			return run.Result{ExitCode: 1}, nil
		}
		b, err := os.ReadFile(c.Argv[2])
		if err != nil || sha(b) != sha(payload) {
			t.Errorf("msiexec was handed %s (%v), not the verified payload", c.Argv[2], err)
		}
		*seen = append(*seen, c.Argv[2])
		return run.Result{ExitCode: exit}, nil
	}}
}

func newTestInstaller(t *testing.T, src Source, r run.Runner) (*Installer, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "agentkeeper", "downloads")
	i, err := NewInstaller(InstallerOptions{Source: src, Dir: dir, Runner: r, Live: true})
	if err != nil {
		t.Fatal(err)
	}
	return i, dir
}

func localPayload(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "WindowsAzureVmAgent.msi")
	if err := os.WriteFile(p, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInstallerInstall(t *testing.T) {
	for _, tc := range []struct {
		desc       string
		exit       int
		wantErr    error
		wantReboot bool
		wantStatus string
	}{
		{"success", 0, nil, false, install.StepPass},
		{"reboot required", 3010, nil, true, install.StepPass},
		{"another installation running", 1618, install.ErrBusy, false, install.StepDeferred},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var seen []string
			i, dir := newTestInstaller(t, Source{URL: localPayload(t), SHA256: sha(payload)}, msiexecFake(t, tc.exit, &seen))
			res, err := i.Install(context.Background(), "WindowsAzureVmAgent")
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tc.wantErr)
			}
			if res.RebootRequired != tc.wantReboot || len(res.Steps) != 2 || res.Steps[0].ID != "download" ||
				res.Steps[1].ID != "msiexec" || res.Steps[1].Status != tc.wantStatus {
				t.Errorf("result %+v, want download, msiexec %s, reboot %v", res, tc.wantStatus, tc.wantReboot)
			}
			if len(seen) != 1 || seen[0] != filepath.Join(dir, "WindowsAzureVmAgent.msi") {
				t.Errorf("msiexec ran on %q", seen)
			}
			for _, d := range []string{dir, filepath.Dir(dir)} {
				if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o077 != 0 {
					t.Errorf("%s: %v %v, want a private directory", d, fi, err)
				}
			}
		})
	}
}

func TestInstallerRefuses(t *testing.T) {
	var seen []string
	r := msiexecFake(t, 0, &seen)
	for _, tc := range []struct {
		desc string
		src  Source
		want string
	}{
		{"no source", Source{}, "windows.msi"},
		{"no SHA-256 and no signature check", Source{URL: "https://example.invalid/agent.msi", Signer: "Microsoft Corporation"}, "unverified"},
		{"plain http elsewhere", Source{URL: "http://192.0.2.1/agent.msi", SHA256: sha(payload)}, "plain http"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			i, _ := newTestInstaller(t, tc.src, r)
			if _, err := i.Candidate(context.Background(), "WindowsAzureVmAgent"); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Candidate: %v, want an error saying %q", err, tc.want)
			}
		})
	}
	t.Run("wrong SHA-256", func(t *testing.T) {
		wrong := strings.Repeat("0", 64)
		i, dir := newTestInstaller(t, Source{URL: localPayload(t), SHA256: wrong}, r)
		if _, err := i.Candidate(context.Background(), "x"); err != nil {
			t.Fatalf("Candidate: %v", err)
		}
		res, err := i.Install(context.Background(), "x")
		if !errors.Is(err, ErrVerification) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("err %v, want a refusal", err)
		}
		if len(res.Steps) != 1 || res.Steps[0].Status != install.StepFail {
			t.Errorf("steps %+v, want one failed download", res.Steps)
		}
		if names := dirNames(t, dir); len(names) != 0 {
			t.Errorf("left behind: %q", names)
		}
	})
	if len(seen) != 0 {
		t.Errorf("msiexec ran on a refused MSI: %q", seen)
	}
	if _, err := NewInstaller(InstallerOptions{Runner: r}); !errors.Is(err, install.ErrNotHere) {
		t.Errorf("offline: %v, want install.ErrNotHere", err)
	}
}

// A download folder another user could write is refused before anything is
// fetched.
func TestInstallerRefusesUnsafeDir(t *testing.T) {
	var seen []string
	i, dir := newTestInstaller(t, Source{URL: localPayload(t), SHA256: sha(payload)}, msiexecFake(t, 0, &seen))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := i.Install(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "cannot be trusted") || len(seen) != 0 {
		t.Errorf("err %v, msiexec %q: want a refusal before msiexec", err, seen)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("downloaded into an unsafe folder: %q", names)
	}
}

func TestHoldRefusesAChangedFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "agent.msi")
	os.WriteFile(p, payload, 0o600)
	sum := sha256Sum(payload)
	h, err := Hold(p, sum)
	if err != nil {
		t.Fatal(err)
	}
	h.Close()
	os.WriteFile(p, append(payload, 'x'), 0o600)
	if _, err := Hold(p, sum); !errors.Is(err, ErrVerification) {
		t.Errorf("changed file: %v, want ErrVerification", err)
	}
}

// A server that accepts the connection and never answers (or stops sending
// the body) gets a timely error from the fetcher's own client, not a
// 30-minute hang.
func TestFetchSilentServer(t *testing.T) {
	for _, tc := range []struct {
		desc    string
		headers bool
		want    string
	}{
		{"no response headers", false, "timeout awaiting response headers"},
		{"body stalls", true, "no data from the server"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			oldH, oldI := headerTimeout, idleTimeout
			headerTimeout, idleTimeout = 300*time.Millisecond, 300*time.Millisecond
			t.Cleanup(func() { headerTimeout, idleTimeout = oldH, oldI })
			if !tc.headers {
				idleTimeout = time.Hour
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			t.Cleanup(func() { close(done); ln.Close() })
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						defer c.Close()
						buf := make([]byte, 4096)
						c.Read(buf)
						if tc.headers {
							c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\nMZ"))
						}
						<-done
					}()
				}
			}()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			_, err = Fetch(ctx, Source{URL: "http://" + ln.Addr().String() + "/agent.msi", SHA256: sha(payload)}, t.TempDir(), nil, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || ctx.Err() != nil {
				t.Errorf("err %v, want one saying %q before the test's deadline", err, tc.want)
			}
		})
	}
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// A local source that is a FIFO is refused at once, not waited on.
func TestFetchRefusesFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "agent.msi")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Fetch(context.Background(), Source{URL: p, SHA256: sha(payload)}, t.TempDir(), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("FIFO source: %v, want not a regular file", err)
	}
}

// A link planted at the .unverified name is removed, never written through.
func TestFetchDoesNotWriteThroughALink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("keep"), 0o600)
	if err := os.Symlink(victim, filepath.Join(dir, "WindowsAzureVmAgent.unverified")); err != nil {
		t.Fatal(err)
	}
	if _, err := Fetch(context.Background(), Source{URL: localPayload(t), SHA256: sha(payload)}, dir, nil, nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep" {
		t.Errorf("the link's target was written: %q", b)
	}
}
