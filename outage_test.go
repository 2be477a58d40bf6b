package calibrated

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/internal/engine"
	"github.com/calibrated/calibrated/internal/faults"
	"github.com/calibrated/calibrated/ledger"
)

// proxiedCluster opens n backends, each behind its own proxy; cl.direct
// reaches them without the proxies.
func proxiedCluster(t *testing.T, n int, opts ...string) (*cluster, []*faults.Proxy) {
	t.Helper()
	urls := dbtest.Postgres(t, n)
	proxied := make([]string, n)
	proxies := make([]*faults.Proxy, n)
	for i, u := range urls {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		proxies[i] = faults.New(t, pu.Host)
		proxied[i] = proxies[i].Through(t, u)
	}
	cl := openCluster(t, proxied, opts...)
	cl.direct = dbtest.Open(t, urls)
	return cl, proxies
}

// outageWorkload runs the bank workload and balance reads until stop is
// closed. Transfers retry whatever Retryable says; reads must never fail.
type outageWorkload struct {
	transfers, retries, reads atomic.Int64
	readErrs                  atomic.Int64
}

func (w *outageWorkload) run(t *testing.T, db *sql.DB, accounts int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 11))
			for {
				select {
				case <-stop:
					return
				default:
				}
				a, b := 1+r.IntN(accounts), 1+r.IntN(accounts)
				if a == b {
					continue
				}
				err := bankTransfer(db, a, b, int64(1+r.IntN(20)), r.IntN(2) == 0)
				switch {
				case err == nil:
					w.transfers.Add(1)
				case Retryable(err):
					w.retries.Add(1)
				default:
					t.Errorf("transfer: %v", err)
					return
				}
			}
		}(uint64(g))
	}
	for g := 0; g < 2; g++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 13))
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				var bal int64
				err := db.QueryRowContext(ctx, `SELECT bal FROM acct WHERE id = $1`, 1+r.IntN(accounts)).Scan(&bal)
				cancel()
				if err != nil {
					w.readErrs.Add(1)
					t.Errorf("read=nearest failed during the outage: %v", err)
					return
				}
				w.reads.Add(1)
			}
		}(uint64(100 + g))
	}
	return &wg
}

// waitStates waits until every backend is active again.
func waitStates(t *testing.T, e *engine.Engine, want ledger.BackendState, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ok := true
		for _, b := range e.Backends() {
			ok = ok && e.Calibrator().State(b.Name) == want
		}
		if ok {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("backends did not all become %v: %+v", want, e.Calibrator().Stats().States)
}

// TestOutage is P4: a backend cut in the middle of the bank workload is
// marked down, writes go on, read=nearest never fails, a read pinned to the
// cut backend waits and then returns current data, and after the backend
// returns it catches up: totals preserved, all backends identical.
func TestOutage(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cut   int
		fault func(t *testing.T, p *faults.Proxy) (restore func())
	}{
		{"cut-c", 2, func(t *testing.T, p *faults.Proxy) func() { p.Cut(); return func() { p.Restore(t) } }},
		{"cut-anchor", 0, func(t *testing.T, p *faults.Proxy) func() { p.Cut(); return func() { p.Restore(t) } }},
		{"latency-and-reset-b", 1, func(t *testing.T, p *faults.Proxy) func() {
			p.Latency(t, 300)
			p.ResetPeer(t, 200)
			return p.Clear
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const accounts = 50
			cl, proxies := proxiedCluster(t, 3, "down_after=1s", "lock_timeout=30s")
			e := cl.engine(t)
			mustExec(t, cl.db, `CREATE TABLE acct (id int PRIMARY KEY, bal bigint NOT NULL)`)
			mustExec(t, cl.db, `INSERT INTO acct SELECT g, 1000 FROM generate_series(1, $1) g ORDER BY g`, accounts)
			victim := e.Backends()[tc.cut].Name

			stop := make(chan struct{})
			var w outageWorkload
			wg := w.run(t, cl.db, accounts, stop)
			time.Sleep(time.Second)
			restore := tc.fault(t, proxies[tc.cut])
			before := w.transfers.Load()

			// A read pinned to the faulty backend waits, then returns
			// current data; meanwhile writes go on elsewhere.
			pinned := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(ReadFrom(context.Background(), victim), 30*time.Second)
				defer cancel()
				var sum int64
				err := cl.db.QueryRowContext(ctx, `SELECT sum(bal) FROM acct`).Scan(&sum)
				if err == nil && sum != accounts*1000 {
					err = fmt.Errorf("pinned read saw a total of %d", sum)
				}
				pinned <- err
			}()
			sawDown := false
			for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
				sawDown = sawDown || e.Calibrator().State(victim) == ledger.Down
			}
			if tc.name != "latency-and-reset-b" && !sawDown {
				t.Errorf("%s was never marked down while cut", victim)
			}
			during := w.transfers.Load() - before
			restore()
			time.Sleep(2 * time.Second)
			close(stop)
			wg.Wait()
			if err := <-pinned; err != nil {
				t.Errorf("read pinned to %s: %v", victim, err)
			}
			t.Logf("%s: %d transfers (%d during the fault), %d retried, %d reads, states %v",
				tc.name, w.transfers.Load(), during, w.retries.Load(), w.reads.Load(), e.Calibrator().Stats().States)
			if during == 0 {
				t.Error("no transfer completed during the fault")
			}
			waitStates(t, e, ledger.Active, 30*time.Second)
			waitApplied(t, cl)
			for i, db := range cl.direct {
				var sum int64
				if err := db.QueryRow(`SELECT sum(bal) FROM acct`).Scan(&sum); err != nil || sum != accounts*1000 {
					t.Errorf("backend %c: total %d, %v", 'a'+i, sum, err)
				}
			}
			dbtest.Converged(t, cl.direct, "acct")
		})
	}
}
