package calibrated

import (
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/internal/engine"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/ledger/memlog"
)

// participant is one of several engines that share a ledger, standing for
// a process of its own.
type participant struct {
	db *sql.DB
	c  *connector
}

func shareLedger(t *testing.T, log ledger.Log, urls []string, n int, opts ...string) []*participant {
	t.Helper()
	var ps []*participant
	for range n {
		db, c := openDSN(t, dbtest.DSN(urls, opts...), WithLedger(log))
		ps = append(ps, &participant{db: db, c: c})
	}
	return ps
}

func (p *participant) engine(t *testing.T) *engine.Engine {
	t.Helper()
	e, err := p.c.engine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// crash stops the engine the way a killed process stops: its appliers and
// calibrator end mid-flight, and it gives nothing back, its leases included.
func (p *participant) crash(t *testing.T) {
	t.Helper()
	p.engine(t).Crash()
}

// leaseHolders returns who holds each backend's applier lease, as p sees it.
func leaseHolders(e *engine.Engine) map[string]string {
	m := map[string]string{}
	for _, b := range e.Backends() {
		m[b.Name], _ = e.Calibrator().LeaseHolder(b.Name)
	}
	return m
}

// TestSharedLedger: three engines, each standing for a process, share one
// ledger over three PostgreSQL databases. Every backend has exactly one
// applier; transfers in transactions from all three, whose anchor's applier
// runs in whichever engine holds its lease, keep the total; when the engine
// holding leases dies, another takes them over within the lease, the
// survivors finish, and every backend ends identical with no key held.
func TestSharedLedger(t *testing.T) {
	log := memlog.New()
	t.Cleanup(func() { log.Close() })
	urls := dbtest.Postgres(t, 3)
	ps := shareLedger(t, log, urls, 3, "lock_timeout=20s", "tx_lease=2s") // the survivor waits out the lease below
	const accounts = 20
	mustExec(t, ps[0].db, `CREATE TABLE acct (id int PRIMARY KEY, bal bigint NOT NULL)`)
	mustExec(t, ps[1].db, `INSERT INTO acct SELECT g, 1000 FROM generate_series(1, $1) g ORDER BY g`, accounts)

	holders := leaseHolders(ps[0].engine(t))
	origins := map[string]bool{}
	for _, p := range ps {
		origins[p.engine(t).Calibrator().Origin()] = true
	}
	for b, h := range holders {
		if !origins[h] {
			t.Fatalf("backend %s: lease held by %q, not by one of the engines", b, h)
		}
		for _, p := range ps {
			e := p.engine(t)
			running := e.ApplierDone(b) != nil
			if running != (e.Calibrator().Origin() == h) {
				t.Fatalf("backend %s: engine %s runs an applier: %v; lease holder %s", b, e.Calibrator().Origin(), running, h)
			}
		}
	}
	// The engine holding the anchor's lease is the one to kill.
	victim := 0
	for i, p := range ps {
		if p.engine(t).Calibrator().Origin() == holders["a"] {
			victim = i
		}
	}

	var done atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range ps {
		for g := range 4 {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, 9))
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
					err := bankTransfer(p.db, a, b, int64(1+r.IntN(20)), r.IntN(2) == 0)
					switch {
					case err == nil:
						done.Add(1)
					case i == victim && (errors.Is(err, ErrLedgerUnavailable) || errors.Is(err, context.Canceled) || errors.Is(err, sql.ErrConnDone)):
						return // its process died
					case Retryable(err):
					default:
						if i != victim {
							t.Errorf("transfer through engine %d: %v", i, err)
						}
						return
					}
				}
			}(uint64(10*i + g))
		}
	}
	time.Sleep(1500 * time.Millisecond)
	before := done.Load()
	ps[victim].crash(t)
	survivor := ps[(victim+1)%3].engine(t)
	deadline := time.Now().Add(3 * engine.ApplierLease)
	for {
		h := leaseHolders(survivor)
		if h["a"] != "" && h["a"] != holders["a"] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no engine took over the dead engine's lease on a within %v: %v", 3*engine.ApplierLease, h)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The dead engine's open transactions lose their keys when their
	// leases lapse in log time; the survivors go on past that.
	time.Sleep(3 * time.Second)
	close(stop)
	wg.Wait()
	if done.Load() <= before {
		t.Fatalf("no transfer succeeded after the crash (%d before, %d in all)", before, done.Load())
	}
	t.Logf("%d transfers, %d of them before the crash", done.Load(), before)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, b := range survivor.Backends() {
		if err := survivor.Calibrator().WaitClear(ctx, b.Name, nil, ""); err != nil {
			t.Fatalf("backend %s never caught up: %v", b.Name, err)
		}
	}
	checkBank(t, dbtest.Open(t, urls), accounts)
	// No key stays held past the dead engine's transaction leases.
	deadline = time.Now().Add(2*time.Second + 5*time.Second)
	for survivor.Calibrator().Stats().Holders > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("keys still held: %+v", survivor.Calibrator().Stats())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSharedLedgerHotRow: 3 engines × 8 goroutines × 30 increments of one
// row under conflict=wait add up exactly, on every backend.
func TestSharedLedgerHotRow(t *testing.T) {
	log := memlog.New()
	t.Cleanup(func() { log.Close() })
	urls := dbtest.Postgres(t, 2)
	ps := shareLedger(t, log, urls, 3, "lock_timeout=30s")
	mustExec(t, ps[0].db, `CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL)`)
	mustExec(t, ps[0].db, `INSERT INTO kv VALUES (1, 0)`)
	var wg sync.WaitGroup
	for _, p := range ps {
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 30 {
					if _, err := p.db.Exec(`UPDATE kv SET v = v + 1 WHERE id = 1`); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	for _, p := range ps {
		var v int
		if err := p.db.QueryRow(`SELECT v FROM kv WHERE id = 1`).Scan(&v); err != nil || v != 3*8*30 {
			t.Errorf("read through an engine: %d, %v; want %d", v, err, 3*8*30)
		}
	}
	direct := dbtest.Open(t, urls)
	dbtest.Converged(t, direct, "kv")
}
