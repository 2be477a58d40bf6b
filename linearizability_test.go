package calibrated

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"net/url"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/internal/faults"
	"github.com/calibrated/calibrated/internal/lincheck"
)

// The linearizability workload (DESIGN §10): linClients clients read and
// write linKeys registers, rows of kv, through one calibrated handle while
// backend b lags linLagMs behind a proxy.
const (
	linKeys    = 3
	linClients = 8
	linWriters = 2 // clients that write half the time; the others mostly read
	linLagMs   = 50
	linCheckIn = 30 * time.Second // porcupine's budget; Unknown fails the test
	linOpLimit = 10 * time.Second // per operation, so a stuck read ends the workload
)

// linCluster opens three backends, b behind a proxy, with kv holding 0 in
// every register; b starts lagging once everything is applied.
func linCluster(t *testing.T, opts ...string) (*cluster, *faults.Proxy) {
	t.Helper()
	urls := dbtest.Postgres(t, 3)
	u, err := url.Parse(urls[1])
	if err != nil {
		t.Fatal(err)
	}
	p := faults.New(t, u.Host)
	urls[1] = p.Through(t, urls[1])
	cl := openCluster(t, urls, opts...)
	mustExec(t, cl.db, `CREATE TABLE kv (id int PRIMARY KEY, v bigint NOT NULL)`)
	for k := range linKeys {
		mustExec(t, cl.db, `INSERT INTO kv VALUES ($1, 0)`, k)
	}
	linReset(t, cl, p)
	return cl, p
}

// linReset waits for b to catch up, sets every register back to 0, which
// the model starts from, and makes b lag again.
func linReset(t *testing.T, cl *cluster, p *faults.Proxy) {
	t.Helper()
	p.Clear()
	waitApplied(t, cl)
	mustExec(t, cl.db, `UPDATE kv SET v = 0`)
	waitApplied(t, cl)
	p.Latency(t, linLagMs)
}

// linWorkload runs linClients clients for d, each doing reads and writes
// of random registers half and half, and returns their history. Every
// write writes a value of its own.
func linWorkload(t *testing.T, db *sql.DB, d time.Duration) *lincheck.History {
	t.Helper()
	return linWorkloadOn(t, func(bool) *sql.DB { return db }, d)
}

// linWorkloadOn is linWorkload with each operation's handle chosen by
// on(write): writes and reads may go through different processes.
func linWorkloadOn(t *testing.T, on func(write bool) *sql.DB, d time.Duration) *lincheck.History {
	t.Helper()
	h := lincheck.NewHistory()
	var next, failures atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for c := range linClients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(rand.Uint64(), uint64(c)))
			writeOdds := 16 // one write in 16 operations
			if c < linWriters {
				writeOdds = 2
			}
			for time.Now().Before(deadline) {
				key := rng.IntN(linKeys)
				ctx, cancel := context.WithTimeout(context.Background(), linOpLimit)
				var err error
				if rng.IntN(writeOdds) == 0 {
					v := next.Add(1)
					err = h.Write(c, key, v, func() error {
						_, err := on(true).ExecContext(ctx, `UPDATE kv SET v = $2 WHERE id = $1`, key, v)
						return err
					})
				} else {
					err = h.Read(c, key, func() (int64, error) {
						var v int64
						err := on(false).QueryRowContext(ctx, `SELECT v FROM kv WHERE id = $1`, key).Scan(&v)
						return v, err
					})
				}
				cancel()
				if err != nil && failures.Add(1) <= 5 {
					t.Logf("client %d, key %d: %v", c, key, err)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("history: %s", h.Stats())
	return h
}

// TestLinearizable is P3 under load: with ack=anchor a write returns once
// the anchor has it while b still lags, so a read of b must wait, or go
// elsewhere, to stay linearizable under consistency=strong. read=nearest
// sends few reads to the busy, lagging b, so read=b runs too.
func TestLinearizable(t *testing.T) {
	for _, read := range []string{"read=nearest", "read=b"} {
		t.Run(read, func(t *testing.T) {
			cl, p := linCluster(t, "ack=anchor", read)
			h := linWorkload(t, cl.db, 3*time.Second)
			s := h.Stats()
			if s.Reads < 20 || s.Writes-s.FailedWrites < 5 {
				t.Fatalf("history too thin to mean anything: %s", s)
			}
			if s.FailedReads+s.FailedWrites > 0 {
				t.Errorf("operations failed on a healthy cluster: %s", s)
			}
			viz := filepath.Join(t.ArtifactDir(), "linearizability.html")
			start := time.Now()
			res, err := lincheck.Check(h.Operations(), linCheckIn, viz)
			t.Logf("porcupine: %s in %v", res, time.Since(start).Round(time.Millisecond))
			switch {
			case err != nil:
				t.Errorf("history not linearizable, and no visualisation: %v", err)
			case res == porcupine.Illegal:
				t.Errorf("history not linearizable: a read saw a stale or unwritten value; visualisation in %s", viz)
			case res == porcupine.Unknown:
				t.Errorf("porcupine could not decide within %v: linearizability unproven", linCheckIn)
			}
			p.Clear()
			waitApplied(t, cl)
			dbtest.Converged(t, cl.direct, "kv")
		})
	}
}

// TestLinearizabilityCheckerCatchesStaleReads shows TestLinearizable can
// fail: with consistency=none reads of the lagging b skip the pending check,
// and porcupine must find the stale read. A lucky schedule may show none,
// so the workload runs up to three times.
func TestLinearizabilityCheckerCatchesStaleReads(t *testing.T) {
	cl, p := linCluster(t, "ack=anchor", "read=b", "consistency=none")
	for attempt := 1; attempt <= 3; attempt++ {
		if attempt > 1 {
			linReset(t, cl, p)
		}
		h := linWorkload(t, cl.db, 1500*time.Millisecond)
		res, err := lincheck.Check(h.Operations(), linCheckIn, "")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("attempt %d: porcupine says %s", attempt, res)
		if res == porcupine.Illegal {
			p.Clear()
			waitApplied(t, cl)
			dbtest.Converged(t, cl.direct, "kv")
			return
		}
	}
	t.Fatal("porcupine found no stale read in three histories with consistency=none on a lagging backend: the linearizability test cannot catch a misread")
}
