package daemon

import (
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Limits of the HTTP server, so that a slow client or huge headers cannot
// stall it or eat memory.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
)

// NewServer returns the read-only HTTP server of d: GET (or HEAD) /healthz,
// /readyz and /metrics; any other path is 404, any other method 405. The
// handlers read the last published state and never wait for the loop.
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

// Handler returns the endpoints of d.
func Handler(d *Daemon) http.Handler {
	mux := http.NewServeMux()
	// "GET /x" also matches HEAD; the mux answers other methods with 405
	// and an Allow header, and unknown paths with 404.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
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
