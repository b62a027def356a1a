package agent

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestInspectionsShareOneClient: inspections that leave Options.HTTP nil
// (each service cycle, each reload) share one transport, so a second
// inspection reuses the first one's connection instead of opening another.
func TestInspectionsShareOneClient(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	for i := range 3 {
		o := Options{Endpoints: Endpoints{Timeout: 5 * time.Second}}
		o.defaults()
		rep := &Report{}
		probe(context.Background(), &o, rep, "network.wireserver", srv.URL+"/?comp=versions", nil, StatusFail, "")
		if len(rep.Checks) != 1 || rep.Checks[0].Status != StatusPass {
			t.Fatalf("inspection %d: %+v", i, rep.Checks)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("3 inspections opened %d connections, want 1 (one client per process)", n)
	}
}

func TestNewHTTPClient(t *testing.T) {
	tr, ok := NewHTTPClient().Transport.(*http.Transport)
	if !ok {
		t.Fatalf("transport %T", NewHTTPClient().Transport)
	}
	if tr.Proxy != nil {
		t.Error("the network checks must not go through a proxy")
	}
	if tr.IdleConnTimeout <= 0 || tr.IdleConnTimeout > time.Minute {
		t.Errorf("IdleConnTimeout %s: idle connections must be closed, and soon", tr.IdleConnTimeout)
	}
	if tr.TLSHandshakeTimeout <= 0 || tr.ResponseHeaderTimeout <= 0 {
		t.Errorf("TLS %s, headers %s: both must be bounded", tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout)
	}
}
