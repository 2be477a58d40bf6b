package calibrated

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/internal/engine"
	"github.com/calibrated/calibrated/internal/faults"
	"github.com/calibrated/calibrated/ledger"
)

// slowSecond returns two backends, the second behind a proxy.
func slowSecond(t *testing.T) ([]string, *faults.Proxy) {
	urls := dbtest.Postgres(t, 2)
	u, err := url.Parse(urls[1])
	if err != nil {
		t.Fatal(err)
	}
	p := faults.New(t, u.Host)
	return []string{urls[0], p.Through(t, urls[1])}, p
}

// TestNoMisread is P3: while backend b lags behind a slow link, a read of a
// row pending there waits and returns the new value, never the old; a read
// of another row does not wait.
func TestNoMisread(t *testing.T) {
	urls, p := slowSecond(t)
	cl := openCluster(t, urls, "ack=anchor", "read=b")
	mustExec(t, cl.db, `CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL)`)
	mustExec(t, cl.db, `INSERT INTO kv VALUES (1, 0), (2, 0)`)
	e := cl.engine(t)
	var v int
	if err := cl.db.QueryRow(`SELECT v FROM kv WHERE id = $1`, 2).Scan(&v); err != nil {
		t.Fatal(err)
	}
	p.Latency(t, 100)
	defer p.Clear()
	for round := 1; round <= 3; round++ {
		// b's applier is held back (and its link is slow), so the update
		// stays pending on b for as long as the test needs.
		e.StopApplier("b")
		mustExec(t, cl.db, `UPDATE kv SET v = $2 WHERE id = $1`, 1, round)
		if !pendingOn(e, "b", ledger.RowKey("kv", "1")) {
			t.Fatal("the update is not pending on b")
		}
		if err := cl.db.QueryRow(`SELECT v FROM kv WHERE id = $1`, 2).Scan(&v); err != nil || v != 0 {
			t.Fatalf("read of row 2: %d, %v", v, err)
		}
		got := make(chan int, 1)
		go func() {
			var v int
			if err := cl.db.QueryRow(`SELECT v FROM kv WHERE id = $1`, 1).Scan(&v); err != nil {
				t.Error(err)
			}
			got <- v
		}()
		select {
		case v := <-got:
			t.Fatalf("read of the pending row returned %d at once; it must wait", v)
		case <-time.After(300 * time.Millisecond):
		}
		e.StartApplier("b")
		select {
		case v := <-got:
			if v != round {
				t.Fatalf("read of the pending row on b returned %d, want %d: a misread", v, round)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("read of the pending row never returned")
		}
	}
}

// TestMisreadDetectable shows the check above can fail: with
// consistency=none, reads skip the pending check and see the old value.
func TestMisreadDetectable(t *testing.T) {
	cl := newCluster(t, 2, "ack=anchor", "read=b", "consistency=none")
	mustExec(t, cl.db, `CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL)`)
	mustExec(t, cl.db, `INSERT INTO kv VALUES (1, 0)`)
	waitApplied(t, cl)
	e := cl.engine(t)
	e.StopApplier("b") // b lags for certain
	mustExec(t, cl.db, `UPDATE kv SET v = 1 WHERE id = 1`)
	var v int
	if err := cl.db.QueryRow(`SELECT v FROM kv WHERE id = $1`, 1).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != 0 {
		t.Fatalf("consistency=none read %d; expected the stale 0 while b lags", v)
	}
	e.StartApplier("b")
}

// waitApplied waits until no write is pending anywhere.
func waitApplied(t *testing.T, cl *cluster) {
	t.Helper()
	e := cl.engine(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, b := range e.Backends() {
		if err := e.Calibrator().WaitClear(ctx, b.Name, nil, ""); err != nil {
			t.Fatalf("backend %s never caught up: %v", b.Name, err)
		}
	}
}

// TestExactlyOnce is P5: an applier killed between batches, and one killed
// between its commit and its report, apply nothing twice when restarted.
func TestExactlyOnce(t *testing.T) {
	cl := newCluster(t, 2, "ack=anchor")
	mustExec(t, cl.db, `CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)`)
	mustExec(t, cl.db, `INSERT INTO counter VALUES (1, 0)`)
	waitApplied(t, cl)
	e := cl.engine(t)
	b := e.Backend("b")

	// Killed between batches: b falls behind while a goes on.
	e.StopApplier("b")
	mustExec(t, cl.db, `UPDATE counter SET n = n + 1 WHERE id = 1`)
	if n := count(t, cl.direct[1]); n != 0 {
		t.Fatalf("b applied %d with its applier stopped", n)
	}

	// Killed after committing a batch, before reporting it.
	var crashes atomic.Int32
	e.SetAfterCommit(func(string) error {
		crashes.Add(1)
		return errors.New("killed")
	})
	e.StartApplier(b.Name)
	waitStopped(t, e, "b")
	if crashes.Load() != 1 {
		t.Fatalf("applier crashed %d times", crashes.Load())
	}
	if n := count(t, cl.direct[1]); n != 1 {
		t.Fatalf("b has n=%d after its batch committed, want 1", n)
	}
	if !pendingOn(e, "b", ledger.RowKey("counter", "1")) {
		t.Fatal("the unreported batch was released")
	}

	// Restarted: the same entry comes again and is skipped.
	e.SetAfterCommit(nil)
	e.StartApplier(b.Name)
	for i := 0; i < 19; i++ {
		mustExec(t, cl.db, `UPDATE counter SET n = n + 1 WHERE id = 1`)
	}
	waitApplied(t, cl)
	countsAre(t, cl.direct, 20)
}

// waitStopped waits for the applier of name to stop by itself.
func waitStopped(t *testing.T, e *engine.Engine, name string) {
	t.Helper()
	select {
	case <-e.ApplierDone(name):
	case <-time.After(30 * time.Second):
		t.Fatal("applier did not stop")
	}
}

// countsAre checks that counter's row holds n on every backend.
func countsAre(t *testing.T, direct []*sql.DB, n int) {
	t.Helper()
	for i, db := range direct {
		if got := count(t, db); got != n {
			t.Errorf("backend %c: n = %d, want %d", 'a'+i, got, n)
		}
	}
}

func count(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT n FROM counter WHERE id = 1`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
