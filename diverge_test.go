package calibrated

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/ledger"
)

// TestDivergenceAndResync is P7: a row changed behind the driver's back on
// one backend makes that backend's outcome differ from the anchor's on the
// next write of the row; it is marked diverged and serves nothing; resync
// rebuilds it from a healthy backend while writes go on, and it serves again.
func TestDivergenceAndResync(t *testing.T) {
	cl := newCluster(t, 3)
	e := cl.engine(t)
	mustExec(t, cl.db, `CREATE TABLE kv (id bigserial PRIMARY KEY, v int NOT NULL)`)
	for i := 0; i < 100; i++ {
		mustExec(t, cl.db, `INSERT INTO kv (v) VALUES ($1)`, 5)
	}
	waitApplied(t, cl)
	if _, err := cl.direct[2].Exec(`UPDATE kv SET v = 99 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	res := mustExec(t, cl.db, `UPDATE kv SET v = v + 1 WHERE id = 1 AND v = 5`)
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("the anchor's RowsAffected is %d, want 1", n)
	}
	waitFor(t, func() bool { return e.Calibrator().State("c") == ledger.Diverged }, "c diverged")
	if d := e.Calibrator().Divergences(); len(d) == 0 || d[0].Backend != "c" {
		t.Fatalf("divergences: %+v", d)
	}
	ctx, cancel := context.WithTimeout(ReadFrom(context.Background(), "c"), 200*time.Millisecond)
	var v int
	err := cl.db.QueryRowContext(ctx, `SELECT v FROM kv WHERE id = 2`).Scan(&v)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read from a diverged backend: %d, %v; want it to wait", v, err)
	}

	// Resync c from a while writers go on.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writes atomic.Int64
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := cl.db.Exec(`INSERT INTO kv (v) VALUES ($1)`, i); err != nil {
					t.Error(err)
					return
				}
				if _, err := cl.db.Exec(`UPDATE kv SET v = v + 1 WHERE id = $1`, 1+i%100); err != nil {
					t.Error(err)
					return
				}
				writes.Add(2)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	var copied atomic.Int64
	rctx, rcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer rcancel()
	if err := Resync(rctx, cl.c, "a", "c", func(table string, rows int64) { copied.Add(rows) }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if copied.Load() < 100 {
		t.Errorf("resync copied %d rows", copied.Load())
	}
	if s := e.Calibrator().State("c"); s != ledger.Active {
		t.Fatalf("c is %v after resync", s)
	}
	waitApplied(t, cl)
	dbtest.Converged(t, cl.direct, "kv")
	if err := cl.db.QueryRowContext(ReadFrom(context.Background(), "c"), `SELECT v FROM kv WHERE id = 2`).Scan(&v); err != nil {
		t.Fatalf("read from c after resync: %v", err)
	}
	t.Logf("%d writes during the test; resync copied %d rows", writes.Load(), copied.Load())
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
