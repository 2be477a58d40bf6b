package calibrated

import (
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestMetricsAfterWorkload: after a known workload the metrics say what
// happened: conflicts counted, lock and read waits observed, entries
// applied, every backend active.
func TestMetricsAfterWorkload(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	urls := dbtest.Postgres(t, 2)
	cfg, err := ParseDSN(dbtest.DSN(urls, "conflict=reject", "ack=anchor"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := newConnector(cfg, WithMetrics(m))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	cl := &cluster{db: db, c: c, direct: dbtest.Open(t, urls), urls: urls}
	mustExec(t, db, `CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)`)
	mustExec(t, db, `INSERT INTO counter VALUES (1, 0)`)

	var wg sync.WaitGroup
	var conflicts int
	var mu sync.Mutex
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				_, err := db.Exec(`UPDATE counter SET n = n + 1 WHERE id = 1`)
				if errors.Is(err, ErrConflict) {
					mu.Lock()
					conflicts++
					mu.Unlock()
				} else if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// A read that must wait: b's applier is held back under a pending write.
	e := cl.engine(t)
	waitApplied(t, cl)
	e.StopApplier("b")
	mustExec(t, db, `UPDATE counter SET n = 0 WHERE id = 1`)
	go func() {
		time.Sleep(200 * time.Millisecond)
		e.StartApplier("b")
	}()
	var n int
	if err := db.QueryRowContext(ReadFrom(t.Context(), "b"), `SELECT n FROM counter WHERE id = 1`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("read from b: %d, %v", n, err)
	}
	time.Sleep(300 * time.Millisecond) // a monitor round for the gauges

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string, labels map[string]string) *dto.Metric {
		for _, f := range families {
			if f.GetName() != name {
				continue
			}
		next:
			for _, mt := range f.GetMetric() {
				for _, lp := range mt.GetLabel() {
					if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
						continue next
					}
				}
				return mt
			}
		}
		t.Fatalf("no metric %s%v", name, labels)
		return nil
	}
	if got := get("calibrated_conflicts_total", map[string]string{"kind": "reject"}).GetCounter().GetValue(); int(got) != conflicts || conflicts == 0 {
		t.Errorf("conflicts_total{reject} = %v; the clients saw %d", got, conflicts)
	}
	if got := get("calibrated_lock_wait_seconds", nil).GetHistogram().GetSampleCount(); got < 240 {
		t.Errorf("lock waits observed: %d, want one per write (≥ 240)", got)
	}
	rw := get("calibrated_read_wait_seconds", map[string]string{"backend": "b"}).GetHistogram()
	if rw.GetSampleCount() == 0 || rw.GetSampleSum() < 0.15 {
		t.Errorf("read waits on b: %d observed, %.3fs in all; want the held-back read's ~0.2s", rw.GetSampleCount(), rw.GetSampleSum())
	}
	if got := get("calibrated_applied_entries_total", map[string]string{"backend": "b"}).GetCounter().GetValue(); got < 2 {
		t.Errorf("applied entries on b: %v", got)
	}
	if got := get("calibrated_backend_state", map[string]string{"backend": "a", "state": "active"}).GetGauge().GetValue(); got != 1 {
		t.Errorf("backend_state{a,active} = %v", got)
	}
	if got := get("calibrated_ledger_append_seconds", nil).GetHistogram().GetSampleCount(); got == 0 {
		t.Error("no ledger append observed")
	}
}
