package daemon

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/net/netutil"
)

// Limits of the HTTP server, so that a slow client, huge headers or many
// idle connections cannot stall it, eat memory or use up descriptors.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 15 * time.Second
	maxHeaderBytes    = 16 << 10
	// MaxConns is how many connections the server holds open at once;
	// further ones wait in the kernel's listen queue, where they cost the
	// process no descriptor. The endpoints serve a local monitor or two.
	MaxConns = 64
)

// NewServer returns the read-only HTTP server of d: GET (or HEAD) /healthz,
// /readyz and /metrics; any other path is 404, any other method 405. The
// handlers read the last published state and never wait for the loop.
// Serve it with Serve, which caps its connections.
func NewServer(d *Daemon) *http.Server {
	return &http.Server{
		Handler:           Handler(d),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          nil,
	}
}

// Serve serves srv on ln with at most max connections open at once
// (golang.org/x/net/netutil.LimitListener). When the last one is taken,
// idle keep-alive connections are closed to make room, and while the cap
// is reached a connection that turns idle is closed at once, so that idle
// clients cannot keep new ones out.
func Serve(srv *http.Server, ln net.Listener, max int) error {
	cl := &connLimit{max: max, idle: map[net.Conn]struct{}{}}
	prev := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		cl.state(c, s)
		if prev != nil {
			prev(c, s)
		}
	}
	return srv.Serve(netutil.LimitListener(ln, max))
}

// connLimit tracks a server's connections by their state.
type connLimit struct {
	max  int
	mu   sync.Mutex
	open int
	idle map[net.Conn]struct{}
}

func (l *connLimit) state(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch s {
	case http.StateNew:
		l.open++
		if l.open >= l.max {
			// The last slot is taken: free the idle ones.
			for ic := range l.idle {
				ic.Close()
				delete(l.idle, ic)
			}
		}
	case http.StateIdle:
		if l.open >= l.max {
			c.Close()
			return
		}
		l.idle[c] = struct{}{}
	case http.StateActive:
		delete(l.idle, c)
	case http.StateClosed, http.StateHijacked:
		l.open--
		delete(l.idle, c)
	}
}

// Handler returns the endpoints of d.
func Handler(d *Daemon) http.Handler {
	mux := http.NewServeMux()
	// "GET /x" also matches HEAD; the mux answers other methods with 405
	// and an Allow header, and unknown paths with 404.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if msg := d.InternalError(); msg != "" {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintln(w, "internal error:", msg)
			return
		}
		if !d.Alive() {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "loop stalled")
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if msg := d.InternalError(); msg != "" {
			w.WriteHeader(http.StatusInternalServerError)
			b, _ := json.Marshal(map[string]any{"ready": false, "internal_error": true, "error": "internal error: " + msg})
			w.Write(append(b, '\n'))
			return
		}
		body := d.Report()
		if body == nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, `{"ready":false,"error":"no check has completed yet"}`)
			return
		}
		if !d.Ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write(body)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(d.metrics.Registry, promhttp.HandlerOpts{
		MaxRequestsInFlight: 4,
		Timeout:             5 * time.Second,
	}))
	return mux
}
