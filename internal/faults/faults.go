// Package faults puts an in-process TCP proxy (toxiproxy) between the
// driver and a backend, so tests can cut, slow and reset its link.
package faults

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Proxy is one proxied link to a backend.
type Proxy struct {
	p *toxiproxy.Proxy
}

// New starts a proxy to upstream (host:port) on a free loopback port,
// stopped when t ends.
func New(t testing.TB, upstream string) *Proxy {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(srv, strings.ReplaceAll(t.Name(), "/", "_")+"_"+upstream, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("start proxy: %v", err)
	}
	t.Cleanup(p.Stop)
	return &Proxy{p: p}
}

// Addr is where the proxy listens.
func (p *Proxy) Addr() string { return p.p.Listen }

// Through rewrites a postgres:// URL to go through p.
func (p *Proxy) Through(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.Addr()
	return u.String()
}

// Latency delays everything the backend sends by ms milliseconds.
func (p *Proxy) Latency(t testing.TB, ms int) {
	t.Helper()
	p.add(t, fmt.Sprintf(`{"name":"latency","type":"latency","stream":"downstream","attributes":{"latency":%d}}`, ms))
}

// Cut stops the proxy: existing connections break and new ones are refused.
func (p *Proxy) Cut() { p.p.Stop() }

// Restore starts a cut proxy again on the same address.
func (p *Proxy) Restore(t testing.TB) {
	t.Helper()
	if err := p.p.Start(); err != nil {
		t.Fatalf("restore proxy: %v", err)
	}
}

// ResetPeer makes the backend's side reset connections after ms
// milliseconds of traffic (toxiproxy's reset_peer).
func (p *Proxy) ResetPeer(t testing.TB, ms int) {
	t.Helper()
	p.add(t, fmt.Sprintf(`{"name":"reset","type":"reset_peer","stream":"upstream","attributes":{"timeout":%d}}`, ms))
}

// Clear removes every toxic.
func (p *Proxy) Clear() {
	p.p.Toxics.ResetToxics(context.Background())
}

func (p *Proxy) add(t testing.TB, js string) {
	t.Helper()
	if _, err := p.p.Toxics.AddToxicJson(strings.NewReader(js)); err != nil {
		t.Fatalf("add toxic %s: %v", js, err)
	}
}
