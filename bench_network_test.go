package calibrated

import (
	"database/sql"
	"math/rand/v2"
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
	cl := openCluster(b, throughProxies(b, dbtest.Postgres(b, 2), 1))
	update := func(db *sql.DB) func(c, i int) error {
		return func(c, i int) error {
			_, err := db.Exec(`UPDATE kv SET v = v + 1 WHERE id = $1`, 1+rand.IntN(1000))
			return err
		}
	}
	for _, db := range []*sql.DB{direct, cl.db} {
		seedKV(b, db, 1000)
	}
	pairedConcurrent(b, 8, 200, "direct-writes/s", "calibrated-writes/s", update(direct), update(cl.db), direct, cl.db)
}
