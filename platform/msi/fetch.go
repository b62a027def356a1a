package msi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/agentkeeper/agentkeeper/platform/privdir"
)

// MaxSize is the largest MSI Fetch accepts. The Azure VM agent's MSI is a few
// tens of MiB; anything far beyond is not it.
const MaxSize = 512 << 20

// maxSize is the limit in force: MaxSize, lowered by tests.
var maxSize int64 = MaxSize

// Timeouts of the default HTTP client (used when Fetch gets a nil client):
// connecting, the TLS handshake and the response headers each have their
// own bound, the whole download is bounded by totalTimeout and by the
// context, and a body that sends nothing for idleTimeout is abandoned
// whatever the client. Variables so that tests can shorten them.
var (
	dialTimeout   = 30 * time.Second
	headerTimeout = 60 * time.Second
	idleTimeout   = 60 * time.Second
	totalTimeout  = 30 * time.Minute
)

// Suffixes of the file while it is checked and once it is verified.
const (
	unverifiedExt = ".unverified"
	verifiedExt   = ".msi"
)

// Fetch copies (local path) or downloads (https://, or http:// to loopback)
// the MSI named by src.URL into dir as <name>.unverified, verifies it against
// src.SHA256 and, when src.Signer is set, its Authenticode signature (through
// verifySig), and only then renames it to <name>.msi and returns that path.
// <name> is the last element of the URL or path without its .msi extension.
//
// Everything configured must pass: a SHA-256 pin and a signer, when both are
// set, are both checked. With no SHA-256 and no signer that verifySig can
// check, Fetch refuses before reading anything (ErrNoVerification). On a
// mismatch it removes the unverified file and returns ErrVerification naming
// both hashes. Any other failure (HTTP status, a truncated or oversized
// download, the context ending) also leaves nothing behind. Fetch never runs
// the file.
//
// client may be nil for a client with sensible timeouts; its redirects are
// held to the same rules as src.URL.
func Fetch(ctx context.Context, src Source, dir string, client *http.Client, verifySig SignatureVerifier) (string, error) {
	p, _, err := fetch(ctx, src, dir, client, verifySig)
	return p, err
}

// fetch is Fetch, also returning the SHA-256 of the verified file.
func fetch(ctx context.Context, src Source, dir string, client *http.Client, verifySig SignatureVerifier) (string, []byte, error) {
	want, err := checkPolicy(src, verifySig)
	if err != nil {
		return "", nil, err
	}
	u, local, err := parseSource(src.URL)
	if err != nil {
		return "", nil, err
	}
	var name string
	if local != "" {
		name = baseName(filepath.Base(local))
	} else {
		name = baseName(path.Base(u.Path))
	}
	unverified := filepath.Join(dir, name+unverifiedExt)
	final := filepath.Join(dir, name+verifiedExt)

	// A file left by an interrupted run is removed (a link is removed, not
	// followed), then the file is created new: nothing planted at the name
	// is ever opened or truncated.
	if err := os.Remove(unverified); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", nil, fmt.Errorf("fetch %s: remove stale %s: %w", src.URL, unverified, err)
	}
	f, err := privdir.CreateNew(unverified)
	if err != nil {
		return "", nil, fmt.Errorf("fetch %s: %w", src.URL, err)
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(unverified)
		}
	}()

	h := sha256.New()
	if local != "" {
		err = copyLocal(ctx, f, h, local)
	} else {
		err = download(ctx, f, h, u, client)
	}
	if err != nil {
		return "", nil, fmt.Errorf("fetch %s: %w", src.URL, err)
	}
	if err := f.Sync(); err != nil {
		return "", nil, fmt.Errorf("fetch %s: sync %s: %w", src.URL, unverified, err)
	}
	if err := f.Close(); err != nil {
		return "", nil, fmt.Errorf("fetch %s: close %s: %w", src.URL, unverified, err)
	}

	if want != nil {
		got := h.Sum(nil)
		if !bytes.Equal(got, want) {
			return "", nil, fmt.Errorf("%w: %s (from %s): sha256 is %x, want %x",
				ErrVerification, unverified, src.URL, got, want)
		}
	}
	if want == nil {
		// No pin: the Authenticode signature from the expected signer decides.
		signer, err := verifySig(unverified)
		if err != nil {
			return "", nil, fmt.Errorf("%w: %s (from %s): Authenticode signature: %v",
				ErrVerification, unverified, src.URL, err)
		}
		if signer != src.Signer {
			return "", nil, fmt.Errorf("%w: %s (from %s): signed by %q, want %q",
				ErrVerification, unverified, src.URL, signer, src.Signer)
		}
	}
	if err := ctx.Err(); err != nil {
		return "", nil, fmt.Errorf("fetch %s: %w", src.URL, err)
	}
	if err := os.Rename(unverified, final); err != nil {
		return "", nil, fmt.Errorf("fetch %s: %w", src.URL, err)
	}
	ok = true
	return final, h.Sum(nil), nil
}

// checkPolicy decides how the download will be verified before anything is
// read: it returns the SHA-256 pin (nil when none) or why it refuses.
func checkPolicy(src Source, verifySig SignatureVerifier) ([]byte, error) {
	var want []byte
	if src.SHA256 != "" {
		b, err := hex.DecodeString(strings.TrimSpace(src.SHA256))
		if err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("%w: SHA-256 %q for %s is not 64 hex digits", ErrNoVerification, src.SHA256, src.URL)
		}
		want = b
	}
	if want != nil {
		// A SHA-256 pin names one exact file: it decides alone.
		return want, nil
	}
	if src.Signer != "" && verifySig == nil {
		return nil, fmt.Errorf("%w: signer %q is required for %s but Authenticode signatures cannot be checked on this system",
			ErrNoVerification, src.Signer, src.URL)
	}
	if src.Signer == "" {
		return nil, fmt.Errorf("%w (%s)", ErrNoVerification, src.URL)
	}
	return nil, nil
}

// parseSource tells a URL from a local path. It returns the URL (https, or
// http to a loopback host) or the local path, or why the source is refused.
// Nothing is dialled here.
func parseSource(s string) (u *url.URL, local string, err error) {
	if s == "" {
		return nil, "", errors.New("fetch: empty MSI source")
	}
	if !strings.Contains(s, "://") {
		return nil, s, nil
	}
	u, err = url.Parse(s)
	if err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w", s, err)
	}
	if err := checkURL(u); err != nil {
		return nil, "", fmt.Errorf("fetch %s: %w", s, err)
	}
	return u, "", nil
}

// checkURL accepts https, and http only to a loopback host (for tests).
func checkURL(u *url.URL) error {
	switch strings.ToLower(u.Scheme) {
	case "https":
		if u.Hostname() == "" {
			return errors.New("no host in URL")
		}
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("refusing plain http to %q: use https (http is allowed only to loopback, for tests)", u.Host)
	default:
		return fmt.Errorf("unsupported URL scheme %q: use https or a local path", u.Scheme)
	}
}

// isLoopback reports whether host is "localhost" or a loopback IP literal.
// Names other than localhost are not resolved.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// baseName turns the last element of a URL path or file path into a safe
// file name without the .msi extension.
func baseName(s string) string {
	if len(s) > 4 && strings.EqualFold(s[len(s)-4:], verifiedExt) {
		s = s[:len(s)-4]
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	name := strings.Trim(b.String(), ".")
	if strings.Trim(name, "._") == "" {
		return "download"
	}
	if len(name) > 100 {
		name = name[:100]
	}
	return name
}

// download GETs u into w, hashing it, within maxSize and the Content-Length.
func download(ctx context.Context, w io.Writer, h hash.Hash, u *url.URL, client *http.Client) error {
	c := restrictRedirects(client)
	// A server that stops sending is abandoned after idleTimeout without a
	// byte, however long the client would wait.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stalled := fmt.Errorf("no data from the server for %s", idleTimeout)
	idle := time.AfterFunc(idleTimeout, func() { cancel(stalled) })
	defer idle.Stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		if context.Cause(ctx) == stalled {
			return stalled
		}
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP status %s", resp.Status)
	}
	if resp.ContentLength > maxSize {
		return fmt.Errorf("Content-Length %d is over the %d-byte limit", resp.ContentLength, maxSize)
	}
	n, err := copyCapped(ctx, w, h, &progressReader{r: resp.Body, progress: func() { idle.Reset(idleTimeout) }})
	if err != nil {
		if context.Cause(ctx) == stalled {
			err = stalled
		}
		return fmt.Errorf("read body after %d bytes: %w", n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return fmt.Errorf("truncated: got %d bytes, Content-Length %d", n, resp.ContentLength)
	}
	return nil
}

// NewClient returns the HTTP client Fetch uses when it is given none: a
// transport with dial, TLS handshake and response header timeouts and a
// bound on the whole download.
func NewClient() *http.Client {
	return &http.Client{
		Timeout: totalTimeout,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: dialTimeout}).DialContext,
			TLSHandshakeTimeout:   dialTimeout,
			ResponseHeaderTimeout: headerTimeout,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
	}
}

// restrictRedirects returns a copy of client (or NewClient) whose
// redirects must satisfy checkURL too, so https cannot be redirected to plain
// http elsewhere.
func restrictRedirects(client *http.Client) *http.Client {
	if client == nil {
		client = NewClient()
	}
	c := *client
	next := c.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := checkURL(req.URL); err != nil {
			return fmt.Errorf("redirect to %s: %w", req.URL.Redacted(), err)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

// progressReader calls progress after every read that returned data.
type progressReader struct {
	r        io.Reader
	progress func()
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.progress()
	}
	return n, err
}

// copyLocal copies the local file at p into w, hashing it, within maxSize.
// p must be a regular file: it is checked before it is opened (a FIFO would
// block the open), and opened so that a FIFO swapped in meanwhile does not
// block either (openLocal), then checked again.
func copyLocal(ctx context.Context, w io.Writer, h hash.Hash, p string) error {
	if fi, err := os.Stat(p); err != nil {
		return err
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s)", p, fi.Mode().Type())
	}
	src, err := openLocal(p)
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", p)
	}
	if fi.Size() > maxSize {
		return fmt.Errorf("%s is %d bytes, over the %d-byte limit", p, fi.Size(), maxSize)
	}
	if _, err := copyCapped(ctx, w, h, src); err != nil {
		return fmt.Errorf("copy %s: %w", p, err)
	}
	return nil
}

// copyCapped copies r to w and h, failing past maxSize or once ctx ends.
func copyCapped(ctx context.Context, w io.Writer, h hash.Hash, r io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, rerr := r.Read(buf)
		if m > 0 {
			if n+int64(m) > maxSize {
				return n, fmt.Errorf("over the %d-byte limit", maxSize)
			}
			if _, err := w.Write(buf[:m]); err != nil {
				return n, err
			}
			h.Write(buf[:m])
			n += int64(m)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}
