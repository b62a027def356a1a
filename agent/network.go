package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// urlErr drops the *url.Error wrapper's URL (already in the message) so a
// proxy URL inside it is never repeated.
func urlErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// NewHTTPClient returns a client for the network checks. A process builds
// one and passes it in Options.HTTP to every inspection, so that the service
// does not make a transport per cycle. It never uses a proxy (the Azure host
// endpoints must be reached directly), bounds dialling, TLS and waiting for
// headers, and closes idle connections soon: the service checks once an
// interval and has no use for a connection kept open between checks. Each
// check's own deadline is Endpoints.Timeout, set on its request.
func NewHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		MaxIdleConns:          3,
		MaxIdleConnsPerHost:   1,
		IdleConnTimeout:       30 * time.Second,
	}}
}

// defaultHTTP is the client of inspections whose Options.HTTP is nil: one
// per process as well.
var defaultHTTP = sync.OnceValue(NewHTTPClient)

// networkChecks talks to the Azure host endpoints, only on a live Azure VM:
// off Azure (on-premises machines being prepared) and in images they are
// skipped, never failed.
func networkChecks(ctx context.Context, o *Options, rep *Report) {
	ids := []CheckID{IDNetworkWireServer, IDNetworkHostGAPlugin, IDNetworkIMDS}
	switch {
	case !o.live():
		skipAll(rep, "offline image: no network checks", ids...)
		return
	case o.NoNetwork:
		skipAll(rep, "network checks turned off (--no-network, config offline: true)", ids...)
		return
	case !rep.OS.Azure:
		skipAll(rep, "not an Azure VM: the Azure host endpoints are only reachable on Azure", ids...)
		return
	}
	rep.NetworkChecked = true
	e := o.Endpoints
	wire := strings.TrimRight(e.WireServer, "/") + "/?comp=versions"
	client, via := wireServerClient(o, rep, wire)
	probeWith(ctx, o, client, via, rep, IDNetworkWireServer, wire, nil, StatusFail,
		"allow outbound traffic to 168.63.129.16 on ports 80, 443 and 32526 (firewall, proxy settings, routes)")
	probe(ctx, o, rep, IDNetworkHostGAPlugin, strings.TrimRight(e.HostGAPlugin, "/")+"/health", nil, StatusFail,
		"allow outbound traffic to 168.63.129.16 port 32526")
	probe(ctx, o, rep, IDNetworkIMDS, strings.TrimRight(e.IMDS, "/")+"/metadata/instance?api-version=2021-02-01",
		map[string]string{"Metadata": "true"}, StatusWarn,
		"allow traffic to 169.254.169.254 and bypass any proxy for it")
}

func probe(ctx context.Context, o *Options, rep *Report, id CheckID, url string, hdr map[string]string, bad Status, fix string) {
	probeWith(ctx, o, o.HTTP, "", rep, id, url, hdr, bad, fix)
}

// wireServerClient returns the client that reaches the WireServer the way
// the agent does: through the agent's proxy (HttpProxy.Host, the unit's
// http_proxy, Windows' WinHTTP proxy) unless its bypass list names the
// host, else directly. via says which, for the message ("" when direct).
// Credentials are never sent (the agent does not send them either).
func wireServerClient(o *Options, rep *Report, target string) (*http.Client, string) {
	u, err := url.Parse(target)
	if err != nil {
		return o.HTTP, ""
	}
	var p ProxySetting
	var ok bool
	if o.agentProxy != nil {
		p, ok = o.agentProxy(u.Hostname())
	} else if rep.OS.Family == FamilyWindows {
		ps, w, _ := windowsProxies(o.Registry)
		if !w.Bypassed(u.Hostname()) {
			p, ok = agentHTTPProxy(ps, "", u.Hostname())
			if h := w.ProxyFor("http"); ok && h != "" {
				p = ParseProxy(regWinHTTPValue, p.Source, h)
			}
		}
	} else {
		ps, noProxy, _ := linuxProxies(o.Root, rep.Agent.Service)
		p, ok = agentHTTPProxy(ps, noProxy, u.Hostname())
	}
	if !ok || p.URL == nil {
		return o.HTTP, ""
	}
	// One request per inspection: no connection is kept for the next one.
	tr := &http.Transport{Proxy: http.ProxyURL(p.URL), DisableKeepAlives: true,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		TLSHandshakeTimeout: 10 * time.Second, ResponseHeaderTimeout: 30 * time.Second}
	return &http.Client{Transport: tr}, " via the agent's proxy " + p.Masked + " (" + p.Name + ")"
}

func probeWith(ctx context.Context, o *Options, client *http.Client, via string, rep *Report, id CheckID, url string, hdr map[string]string, bad Status, fix string) {
	ctx, cancel := context.WithTimeout(ctx, o.Endpoints.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		rep.Add(Check{ID: id, Status: bad, Message: fmt.Sprintf("bad endpoint %q: %v", url, err), Fix: "correct the network.* endpoint in the config"})
		return
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		rep.Add(Check{ID: id, Status: bad, Message: fmt.Sprintf("GET %s%s: %v", url, via, urlErr(err)), Fix: fix})
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		rep.Add(Check{ID: id, Status: bad, Message: fmt.Sprintf("GET %s%s: HTTP %d", url, via, resp.StatusCode), Fix: fix})
		return
	}
	rep.Add(Check{ID: id, Status: StatusPass, Message: "GET " + url + via + ": 200 OK"})
}
