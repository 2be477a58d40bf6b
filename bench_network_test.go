package calibrated

import (
	"net/url"
	"testing"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/internal/faults"
)

// throughProxies puts each of urls behind its own in-process proxy that
// delays what the server sends by ms milliseconds: backends on other
// machines, as they are in production, rather than on this one's loopback.
func throughProxies(b *testing.B, urls []string, ms int) []string {
	b.Helper()
	out := make([]string, len(urls))
	for i, u := range urls {
		pu, err := url.Parse(u)
		if err != nil {
			b.Fatal(err)
		}
		p := faults.New(b, pu.Host)
		p.Latency(b, ms)
		out[i] = p.Through(b, u)
	}
	return out
}

// BenchmarkUpdateConcurrentNetwork: BenchmarkUpdateConcurrent with every
// database, the direct one too, 1 ms away (each server's replies delayed
// by 1 ms): the round trips, not this machine's 2 cores, are the limit, as
// they are between machines.
func BenchmarkUpdateConcurrentNetwork(b *testing.B) {
	direct := dbtest.Open(b, throughProxies(b, dbtest.Postgres(b, 1), 1))[0]
	updateConcurrent(b, direct, openCluster(b, throughProxies(b, dbtest.Postgres(b, 2), 1)), 200)
}

// BenchmarkPointReadConcurrentNetwork: BenchmarkPointReadConcurrent with
// every database 1 ms away: what the driver's own CPU per read costs when
// the round trip, not this machine's 2 cores, is the limit.
func BenchmarkPointReadConcurrentNetwork(b *testing.B) {
	pointReadConcurrent(b, 300, func(urls []string) []string { return throughProxies(b, urls, 1) })
}

// BenchmarkTPCBNetwork: BenchmarkTPCB with every database 1 ms away.
func BenchmarkTPCBNetwork(b *testing.B) {
	tpcb(b, 30, func(urls []string) []string { return throughProxies(b, urls, 1) })
}
