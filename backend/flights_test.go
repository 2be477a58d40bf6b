package backend

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/ledger/memlog"
)

// flightRig is one PostgreSQL backend with its applier on an in-process
// ledger, for submitting entries straight to the calibrator.
type flightRig struct {
	db  *sql.DB
	cal *ledger.Calibrator
	app *Applier
}

func newFlightRig(t *testing.T, setup ...string) *flightRig {
	t.Helper()
	db := dbtest.Open(t, dbtest.Postgres(t, 1))[0]
	ctx := context.Background()
	if err := EnsureApplied(ctx, db, "postgres"); err != nil {
		t.Fatal(err)
	}
	for _, q := range setup {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	cal := ledger.NewCalibrator(memlog.New(), "flights", []string{"a"})
	if err := cal.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cal.Stop)
	app := &Applier{B: &Backend{Name: "a", Dialect: "postgres", DB: db}, Cal: cal, LedgerID: "flights-test"}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = app.Run(runCtx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return &flightRig{db: db, cal: cal, app: app}
}

// write submits one entry and waits until it is applied.
func (r *flightRig) write(t *testing.T, keys []ledger.Key, sql string, args ...any) (*ledger.Job, ledger.Result) {
	tk, err := r.cal.Submit(context.Background(), &ledger.Event{Type: ledger.Write, Keys: keys, Stmts: []ledger.Stmt{{SQL: sql, Args: args}}})
	if err != nil {
		t.Error(err)
		return nil, ledger.Result{}
	}
	<-tk.Decided()
	j := tk.Job()
	if j == nil {
		t.Errorf("%s: not admitted: %v", sql, tk.Decision())
		return nil, ledger.Result{}
	}
	select {
	case <-j.Done():
	case <-time.After(30 * time.Second):
		t.Errorf("%s: not applied", sql)
		return j, ledger.Result{}
	}
	res, _ := r.cal.Result(j, "a")
	return j, res
}

// TestFlightsKeepOrder: 8 writers update 20 rows with a step that does not
// commute (v = 3v + k) while others touch a table with a unique index and
// swap its unique values (which must not fly). Entries on other rows fly
// side by side, and every row ends as applying its entries in ledger order
// gives.
func TestFlightsKeepOrder(t *testing.T) {
	r := newFlightRig(t,
		`CREATE TABLE kv (id int PRIMARY KEY, v bigint NOT NULL)`,
		`INSERT INTO kv SELECT g, 0 FROM generate_series(1, 20) g`,
		`CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, n int NOT NULL)`,
		`INSERT INTO users VALUES (1, 'a', 0), (2, 'b', 0)`,
	)
	type step struct {
		seq ledger.Seq
		k   int64
	}
	var mu sync.Mutex
	steps := map[int][]step{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				switch {
				case w == 7 && i%3 == 0:
					// Swap the two emails through a third value: each
					// UPDATE frees the value the next one takes.
					for _, s := range [][2]any{{"t", 1}, {"a", 2}, {"b", 1}} {
						_, res := r.write(t, []ledger.Key{ledger.RowKey("users", fmt.Sprint(s[1])), {Table: "users", Row: `email\=` + s[0].(string)}},
							`UPDATE users SET email = $1 WHERE id = $2`, s[0], s[1])
						if res.SQLState != "" {
							t.Errorf("swap step %v: %s %s", s, res.SQLState, res.Msg)
						}
					}
				case w == 6:
					r.write(t, []ledger.Key{ledger.RowKey("users", "1")}, `UPDATE users SET n = n + 1 WHERE id = $1`, 1)
				default:
					id, k := 1+rand.IntN(20), int64(1+rand.IntN(9))
					j, res := r.write(t, []ledger.Key{ledger.RowKey("kv", fmt.Sprint(id))}, `UPDATE kv SET v = (v * 3 + $1) % 1000003 WHERE id = $2`, k, id)
					if j == nil {
						continue
					}
					if res.Outcome.Rows != 1 || res.SQLState != "" {
						t.Errorf("update of row %d: %+v", id, res.Outcome)
					}
					mu.Lock()
					steps[id] = append(steps[id], step{j.Seq, k})
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	for id := 1; id <= 20; id++ {
		s := steps[id]
		// The calibrator queues writes on one row in ledger order.
		for i := 1; i < len(s); i++ {
			for j := i; j > 0 && s[j].seq < s[j-1].seq; j-- {
				s[j], s[j-1] = s[j-1], s[j]
			}
		}
		var want int64
		for _, st := range s {
			want = (want*3 + st.k) % 1000003
		}
		var got int64
		if err := r.db.QueryRow(`SELECT v FROM kv WHERE id = $1`, id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("row %d: v = %d after %d steps, want %d", id, got, len(s), want)
		}
	}
	var n int
	var emails string
	if err := r.db.QueryRow(`SELECT (SELECT n FROM users WHERE id = 1), string_agg(email, ',' ORDER BY id) FROM users`).Scan(&n, &emails); err != nil {
		t.Fatal(err)
	}
	if n != 60 || (emails != "a,b" && emails != "b,a") {
		t.Errorf("users: n = %d, emails %s", n, emails)
	}
	if r.app.flying.beside.Load() == 0 {
		t.Error("no batch flew beside another: the test did not exercise parallel apply")
	}
}

// TestFlightFails: a flight whose statement fails (a CHECK violation) is
// applied again the usual way: the failing entry's outcome is the error,
// the entries beside it are applied once each.
func TestFlightFails(t *testing.T) {
	r := newFlightRig(t,
		`CREATE TABLE chk (id int PRIMARY KEY, v int NOT NULL CHECK (v < 1000))`,
		`INSERT INTO chk SELECT g, 0 FROM generate_series(1, 160) g`,
	)
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				id := 1 + w*20 + i
				v := 1
				if id%7 == 0 {
					v = 5000
				}
				_, res := r.write(t, []ledger.Key{ledger.RowKey("chk", fmt.Sprint(id))}, `UPDATE chk SET v = v + $1 WHERE id = $2`, v, id)
				switch {
				case v == 5000 && res.SQLState != "23514":
					t.Errorf("row %d: outcome %+v, want a check violation", id, res.Outcome)
				case v == 5000:
					mu.Lock()
					failed++
					mu.Unlock()
				case res.SQLState != "" || res.Outcome.Rows != 1:
					t.Errorf("row %d: outcome %+v", id, res.Outcome)
				}
			}
		}()
	}
	wg.Wait()
	var sum, marks int
	if err := r.db.QueryRow(`SELECT sum(v), (SELECT count(*) FROM `+AppliedTable+`) FROM chk`).Scan(&sum, &marks); err != nil {
		t.Fatal(err)
	}
	if r.app.flying.beside.Load() == 0 {
		t.Error("no batch flew beside another")
	}
	if failed != 160/7 || sum != 160-failed || marks != 160 {
		t.Errorf("sum %d over %d failed, %d marks; want %d failed, sum %d, 160 marks", sum, failed, marks, 160/7, 160-failed)
	}
}

// TestFlightsFreedUniqueValue: an UPDATE that frees a unique value and one
// that takes it have disjoint keys (the freed value is unknown before the
// statement runs), so they must not fly side by side: the second succeeds
// exactly when the ledger put the first before it.
func TestFlightsFreedUniqueValue(t *testing.T) {
	r := newFlightRig(t,
		`CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, n int NOT NULL DEFAULT 0)`,
		`INSERT INTO users VALUES (1, 'a'), (2, 'b')`,
		`CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL)`,
		`INSERT INTO kv SELECT g, 0 FROM generate_series(1, 8) g`,
	)
	email := func(id int, v string) []ledger.Key {
		return []ledger.Key{ledger.RowKey("users", fmt.Sprint(id)), {Table: "users", Row: `email\=` + v}}
	}
	// At least 30 rounds, and on until batches have flown beside others.
	for i := 0; i < 30 || r.app.flying.beside.Load() == 0 && i < 300; i++ {
		var wg sync.WaitGroup
		var free, take *ledger.Job
		var took ledger.Result
		// Traffic beside them, so that flights are up.
		for k := 1; k <= 8; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 3 {
					r.write(t, []ledger.Key{ledger.RowKey("kv", fmt.Sprint(k))}, `UPDATE kv SET v = v + 1 WHERE id = $1`, k)
				}
			}()
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			free, _ = r.write(t, email(1, fmt.Sprint("x", i)), `UPDATE users SET email = $1 WHERE id = $2`, fmt.Sprint("x", i), 1)
		}()
		go func() {
			defer wg.Done()
			take, took = r.write(t, email(2, "a"), `UPDATE users SET email = $1 WHERE id = $2`, "a", 2)
		}()
		wg.Wait()
		if free == nil || take == nil {
			t.FailNow()
		}
		if ok := took.SQLState == ""; ok != (free.Seq < take.Seq) {
			t.Fatalf("round %d: freeing at %d, taking at %d: the take gave %+v", i, free.Seq, take.Seq, took.Outcome)
		}
		// Back to a, b for the next round, one after the other.
		if took.SQLState == "" {
			r.write(t, email(2, "b"), `UPDATE users SET email = $1 WHERE id = $2`, "b", 2)
		}
		r.write(t, email(1, "a"), `UPDATE users SET email = $1 WHERE id = $2`, "a", 1)
	}
	if r.app.flying.beside.Load() == 0 {
		t.Error("no batch flew beside another")
	}
}
