package msi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// payload is the fake MSI served by the tests (its bytes do not matter:
// Fetch never opens it as an MSI).
var payload = func() []byte {
	b := make([]byte, 300<<10)
	for i := range b {
		b[i] = byte(i*7 + i>>9)
	}
	return b
}()

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

const (
	msName    = "Microsoft Corporation"
	wrongHash = "0000000000000000000000000000000000000000000000000000000000000000"
)

// noDial is a client that fails the test's expectations if it ever dials.
func noDialClient(dials *atomic.Int32) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return nil, fmt.Errorf("test: dial %s refused", addr)
		},
	}}
}

// dirNames lists the names in dir.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestFetch(t *testing.T) {
	okHandler := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		w.Write(payload)
	}
	good := sha(payload)

	tests := []struct {
		desc    string
		handler http.HandlerFunc // served on 127.0.0.1; nil for none
		url     string           // overrides the server URL; "LOCAL" for a local file holding payload
		sha     string
		signer  string
		verify  SignatureVerifier
		max     int64 // maxSize for this case (0: MaxSize)
		noDial  bool  // use a client that must never dial

		wantErr      error    // errors.Is, when set
		wantText     []string // substrings of the error
		wantRequests int32    // -1: don't care
		wantOK       bool
	}{
		{
			desc: "right sha256 from loopback", handler: okHandler, sha: good,
			wantOK: true, wantRequests: 1,
		},
		{
			desc: "uppercase sha256 is the same pin", handler: okHandler, sha: strings.ToUpper(good),
			wantOK: true, wantRequests: 1,
		},
		{
			desc: "wrong sha256", handler: okHandler, sha: wrongHash,
			wantErr: ErrVerification, wantText: []string{good, wrongHash, "agent.unverified"}, wantRequests: 1,
		},
		{
			desc: "no sha256 and no signer: refused before downloading", handler: okHandler,
			wantErr: ErrNoVerification, wantRequests: 0,
		},
		{
			desc: "malformed sha256 is refused before downloading", handler: okHandler, sha: "abc",
			wantErr: ErrNoVerification, wantText: []string{`"abc"`, "64 hex"}, wantRequests: 0,
		},
		{
			desc: "signer without a verifier and no sha256 is refused before downloading", handler: okHandler, signer: msName,
			wantErr: ErrNoVerification, wantText: []string{"cannot be checked"}, wantRequests: 0,
		},
		{
			desc: "sha256 pin with a signer set and no verifier: the pin decides", handler: okHandler, sha: good, signer: msName,
			wantOK: true, wantRequests: 1,
		},
		{
			desc: "local path", url: "LOCAL", sha: good, wantOK: true, wantRequests: -1,
		},
		{
			desc: "local path with wrong sha256", url: "LOCAL", sha: wrongHash,
			wantErr: ErrVerification, wantText: []string{good}, wantRequests: -1,
		},
		{
			desc: "missing local path", url: filepath.Join(os.TempDir(), "agentkeeper-no-such.msi"), sha: good,
			wantText: []string{"agentkeeper-no-such.msi"}, wantRequests: -1,
		},
		{
			desc: "HTTP 404", sha: good,
			handler:  func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
			wantText: []string{"404"}, wantRequests: 1,
		},
		{
			desc: "HTTP 500", sha: good,
			handler:  func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) },
			wantText: []string{"500"}, wantRequests: 1,
		},
		{
			desc: "truncated: server closes before Content-Length", sha: good,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
				w.Write(payload[:1000])
			},
			wantText: []string{"1000 bytes"}, wantRequests: 1,
		},
		{
			desc: "truncated: connection cut mid-body", sha: good,
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
				w.Write(payload[:5000])
				w.(http.Flusher).Flush()
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
			},
			wantText: []string{"unexpected EOF"}, wantRequests: 1,
		},
		{
			desc: "huge Content-Length beyond the cap", sha: good, max: 1 << 10, handler: okHandler,
			wantText: []string{"limit"}, wantRequests: 1,
		},
		{
			desc: "huge chunked body beyond the cap", sha: good, max: 1 << 10,
			handler: func(w http.ResponseWriter, r *http.Request) {
				for i := 0; i < 16; i++ {
					if _, err := w.Write(payload[:4096]); err != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
			},
			wantText: []string{"limit"}, wantRequests: 1,
		},
		{
			desc: "local file beyond the cap", url: "LOCAL", sha: good, max: 1 << 10,
			wantText: []string{"limit"}, wantRequests: -1,
		},
		{
			desc: "plain http to a non-loopback host is refused before dialling",
			url:  "http://192.0.2.1/x.msi", sha: good, noDial: true,
			wantText: []string{"refusing plain http", "192.0.2.1"}, wantRequests: -1,
		},
		{
			desc: "plain http to a name other than localhost is refused",
			url:  "http://example.invalid/x.msi", sha: good, noDial: true,
			wantText: []string{"refusing plain http"}, wantRequests: -1,
		},
		{
			desc: "ftp is refused", url: "ftp://127.0.0.1/x.msi", sha: good, noDial: true,
			wantText: []string{"unsupported URL scheme"}, wantRequests: -1,
		},
		{
			desc: "redirect from loopback to plain http elsewhere is refused", sha: good,
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "http://192.0.2.1/x.msi", http.StatusFound)
			},
			wantText: []string{"redirect", "refusing plain http"}, wantRequests: 1,
		},
		{
			desc: "signer matches: accepted without sha256", handler: okHandler, signer: msName,
			verify: func(p string) (string, error) { return msName, nil },
			wantOK: true, wantRequests: 1,
		},
		{
			desc: "wrong signer", handler: okHandler, signer: msName,
			verify:  func(p string) (string, error) { return "Contoso Ltd", nil },
			wantErr: ErrVerification, wantText: []string{"Contoso Ltd", msName}, wantRequests: 1,
		},
		{
			desc: "signer differing only in case is refused", handler: okHandler, signer: msName,
			verify:  func(p string) (string, error) { return strings.ToLower(msName), nil },
			wantErr: ErrVerification, wantRequests: 1,
		},
		{
			desc: "verifier error", handler: okHandler, signer: msName,
			verify:  func(p string) (string, error) { return "", errors.New("TRUST_E_NOSIGNATURE") },
			wantErr: ErrVerification, wantText: []string{"TRUST_E_NOSIGNATURE"}, wantRequests: 1,
		},
		{
			desc: "sha256 pin wrong: refused even when signed", handler: okHandler, sha: wrongHash, signer: msName,
			verify:  func(p string) (string, error) { return msName, nil },
			wantErr: ErrVerification, wantRequests: 1,
		},
		{
			desc: "sha256 pin right: the signature is not consulted", handler: okHandler, sha: good, signer: msName,
			verify: func(p string) (string, error) { return "", errors.New("verifier must not run when a pin is set") },
			wantOK: true, wantRequests: 1,
		},
		{
			desc: "verifier without a signer is not consulted; no sha256: refused", handler: okHandler,
			verify:  func(p string) (string, error) { return msName, nil },
			wantErr: ErrNoVerification, wantRequests: 0,
		},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if tc.max > 0 {
				old := maxSize
				maxSize = tc.max
				t.Cleanup(func() { maxSize = old })
			}
			dir := t.TempDir()
			var requests, dials atomic.Int32
			client := http.DefaultClient
			url := tc.url
			if tc.handler != nil {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					requests.Add(1)
					tc.handler(w, r)
				}))
				t.Cleanup(srv.Close)
				client = srv.Client()
				if url == "" {
					url = srv.URL + "/dl/agent.msi"
				}
			}
			if url == "LOCAL" {
				src := filepath.Join(t.TempDir(), "agent.msi")
				if err := os.WriteFile(src, payload, 0o644); err != nil {
					t.Fatal(err)
				}
				url = src
			}
			if tc.noDial {
				client = noDialClient(&dials)
			}
			var verifyCalls []string
			var verify SignatureVerifier
			if tc.verify != nil {
				verify = func(p string) (string, error) {
					// The verifier sees the complete unverified file, never the final name.
					if b, err := os.ReadFile(p); err != nil || len(b) != len(payload) {
						t.Errorf("verifier: %s: %d bytes, err %v", p, len(b), err)
					}
					verifyCalls = append(verifyCalls, p)
					return tc.verify(p)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			got, err := Fetch(ctx, Source{URL: url, SHA256: tc.sha, Signer: tc.signer}, dir, client, verify)

			if tc.wantOK {
				if err != nil {
					t.Fatalf("Fetch: %v", err)
				}
				if want := filepath.Join(dir, "agent.msi"); got != want {
					t.Errorf("Fetch = %q, want %q", got, want)
				}
				b, err := os.ReadFile(got)
				if err != nil || sha(b) != sha(payload) {
					t.Errorf("fetched file: %d bytes (err %v), want the payload", len(b), err)
				}
				if names := dirNames(t, dir); !slices.Equal(names, []string{"agent.msi"}) {
					t.Errorf("dir holds %q, want only agent.msi", names)
				}
				for _, p := range verifyCalls {
					if !strings.HasSuffix(p, ".unverified") {
						t.Errorf("verifier got %s, want the .unverified file", p)
					}
				}
			} else {
				if err == nil {
					t.Fatalf("Fetch = %q, nil; want an error", got)
				}
				if got != "" {
					t.Errorf("Fetch returned path %q with an error", got)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("Fetch error %v, want errors.Is %v", err, tc.wantErr)
				}
				for _, s := range tc.wantText {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("Fetch error %q does not mention %q", err, s)
					}
				}
				if names := dirNames(t, dir); len(names) != 0 {
					t.Errorf("after a failed Fetch, dir holds %q, want nothing", names)
				}
			}
			if tc.wantRequests >= 0 && requests.Load() != tc.wantRequests {
				t.Errorf("server got %d requests, want %d", requests.Load(), tc.wantRequests)
			}
			if dials.Load() != 0 {
				t.Errorf("dialled %d times, want none", dials.Load())
			}
		})
	}
}

// TestFetchContextCancelled checks that a download stops when its context ends
// and leaves nothing behind.
func TestFetchContextCancelled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		w.Write(payload[:100])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Fetch(ctx, Source{URL: srv.URL + "/agent.msi", SHA256: sha(payload)}, dir, srv.Client(), nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Fetch error %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Fetch took %v after its context ended", d)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("dir holds %q, want nothing", names)
	}
}

// TestFetchReplacesStale checks that a leftover .unverified file from an
// earlier, interrupted run is overwritten, and an older verified .msi is
// replaced by the new verified one.
func TestFetchReplacesStale(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"agent.unverified", "agent.msi"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("stale"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	src := filepath.Join(t.TempDir(), "agent.msi")
	if err := os.WriteFile(src, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Fetch(context.Background(), Source{URL: src, SHA256: sha(payload)}, dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(got); sha(b) != sha(payload) {
		t.Errorf("%s is not the payload", got)
	}
	if names := dirNames(t, dir); !slices.Equal(names, []string{"agent.msi"}) {
		t.Errorf("dir holds %q, want only agent.msi", names)
	}
}

func TestBaseName(t *testing.T) {
	tests := []struct{ desc, in, want string }{
		{"release asset", "WindowsAzureVmAgent.amd64_2.7.41491.1178_2509151178.fre.msi", "WindowsAzureVmAgent.amd64_2.7.41491.1178_2509151178.fre"},
		{"upper-case extension", "AGENT.MSI", "AGENT"},
		{"no extension", "agent", "agent"},
		{"empty", "", "download"},
		{"root", "/", "download"},
		{"dots only", "..", "download"},
		{"odd characters", "a b;c$.msi", "a_b_c_"},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := baseName(tc.in); got != tc.want {
				t.Errorf("baseName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestIsLoopback(t *testing.T) {
	tests := []struct {
		desc, host string
		want       bool
	}{
		{"127.0.0.1", "127.0.0.1", true},
		{"127.8.9.10", "127.8.9.10", true},
		{"::1", "::1", true},
		{"localhost", "localhost", true},
		{"LOCALHOST", "LOCALHOST", true},
		{"documentation address", "192.0.2.1", false},
		{"wireserver", "168.63.129.16", false},
		{"a name", "localhost.example.com", false},
		{"empty", "", false},
		{"unspecified", "0.0.0.0", false},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			if got := isLoopback(tc.host); got != tc.want {
				t.Errorf("isLoopback(%q) = %v, want %v", tc.host, got, tc.want)
			}
		})
	}
}
