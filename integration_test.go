package calibrated

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/internal/engine"
	"github.com/calibrated/calibrated/ledger"
)

// cluster is one calibrated sql.DB over fresh PostgreSQL databases, with
// direct handles on each backend to check what they hold.
type cluster struct {
	db     *sql.DB
	c      *connector
	direct []*sql.DB
	urls   []string
}

func newCluster(t testing.TB, n int, opts ...string) *cluster {
	t.Helper()
	urls := dbtest.Postgres(t, n)
	return openCluster(t, urls, opts...)
}

func openCluster(t testing.TB, urls []string, opts ...string) *cluster {
	t.Helper()
	db, c := openDSN(t, dbtest.DSN(urls, opts...))
	return &cluster{db: db, c: c, direct: dbtest.Open(t, urls), urls: urls}
}

// openDSN opens a handle on dsn with its own connector, closed when t
// ends, and checks that it starts.
func openDSN(t testing.TB, dsn string, options ...Option) (*sql.DB, *connector) {
	t.Helper()
	cfg, err := ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	c, err := newConnector(cfg, options...)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	return db, c
}

func (cl *cluster) engine(t testing.TB) *engine.Engine {
	t.Helper()
	e, err := cl.c.engine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustExec(t testing.TB, db *sql.DB, q string, args ...any) sql.Result {
	t.Helper()
	res, err := db.Exec(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return res
}

func TestReadWriteThrough(t *testing.T) {
	cl := newCluster(t, 3)
	mustExec(t, cl.db, `CREATE TABLE users (id bigint PRIMARY KEY, name text NOT NULL, n int NOT NULL DEFAULT 0)`)
	for i := 1; i <= 5; i++ {
		mustExec(t, cl.db, `INSERT INTO users (id, name) VALUES ($1, $2)`, i, fmt.Sprint("user", i))
	}
	res := mustExec(t, cl.db, `UPDATE users SET n = n + 1 WHERE id IN ($1, $2)`, 1, 2)
	if n, _ := res.RowsAffected(); n != 2 {
		t.Fatalf("RowsAffected = %d, want 2", n)
	}
	mustExec(t, cl.db, `DELETE FROM users WHERE id = $1`, 5)
	var name string
	var n int
	if err := cl.db.QueryRow(`SELECT name, n FROM users WHERE id = $1`, 1).Scan(&name, &n); err != nil {
		t.Fatal(err)
	}
	if name != "user1" || n != 1 {
		t.Fatalf("got %q %d", name, n)
	}
	var count int
	if err := cl.db.QueryRow(`SELECT count(*) FROM users`).Scan(&count); err != nil || count != 4 {
		t.Fatalf("count = %d, %v; want 4", count, err)
	}
	// RETURNING gives the anchor's rows.
	var id int64
	if err := cl.db.QueryRow(`INSERT INTO users (id, name) VALUES ($1, $2) RETURNING id`, 42, "x").Scan(&id); err != nil || id != 42 {
		t.Fatalf("RETURNING id = %d, %v", id, err)
	}
	dbtest.Converged(t, cl.direct, "users")

	// A deterministic error is the same everywhere and is the backend's own.
	_, err := cl.db.Exec(`INSERT INTO users (id, name) VALUES ($1, $2)`, 1, "dup")
	var state interface{ SQLState() string }
	if !errors.As(err, &state) || state.SQLState() != "23505" {
		t.Fatalf("duplicate insert: %v, want unique violation 23505", err)
	}
	dbtest.Converged(t, cl.direct, "users")
}

func TestRefusals(t *testing.T) {
	cl := newCluster(t, 2)
	mustExec(t, cl.db, `CREATE TABLE s (id bigserial PRIMARY KEY, at timestamptz, v text)`)
	mustExec(t, cl.db, `INSERT INTO s (id, v) VALUES (1, 'a'), (2, 'b')`)
	for _, q := range []string{
		`UPDATE s SET v = random()::text`,                         // per row, every row
		`INSERT INTO s (v) SELECT v FROM s ORDER BY id`,           // generated ids for rows we cannot count
		`UPDATE s SET v = nextval('s_id_seq')::text WHERE id = 1`, // a sequence outside an INSERT's default
		`DELETE FROM s WHERE id IN (SELECT id FROM s LIMIT 1)`,    // which row is "first" differs
	} {
		_, err := cl.db.Exec(q)
		var unsafe *UnsafeStatementError
		if !errors.As(err, &unsafe) {
			t.Errorf("%s: %v, want *UnsafeStatementError", q, err)
		} else if unsafe.Fix == "" || unsafe.Fragment == "" {
			t.Errorf("%s: refusal %q does not name the fragment and the fix", q, err)
		}
	}
	if _, err := cl.db.Exec(`THIS IS NOT SQL`); err == nil {
		t.Error("unparsable write accepted")
	}
	// A total order is fine: the rows it keeps are the same everywhere.
	mustExec(t, cl.db, `DELETE FROM s WHERE id IN (SELECT id FROM s ORDER BY v, id LIMIT 1)`)
	var n int
	if err := cl.direct[1].QueryRow(`SELECT count(*) FROM s`).Scan(&n); err != nil || n != 1 {
		t.Errorf("backend b has %d rows, %v; want 1: the refusals changed something", n, err)
	}
	dbtest.Converged(t, cl.direct, "s")
}

// TestGeneratedValues: serial ids, volatile defaults and now() in
// statements end identical on every backend, and sequences stay ahead.
func TestGeneratedValues(t *testing.T) {
	cl := newCluster(t, 3)
	mustExec(t, cl.db, `CREATE TABLE ev (id bigserial PRIMARY KEY, uid uuid NOT NULL DEFAULT gen_random_uuid(),
		at timestamptz DEFAULT now(), note text, touched timestamptz)`)
	var id int64
	if err := cl.db.QueryRow(`INSERT INTO ev (note) VALUES ($1) RETURNING id`, "one").Scan(&id); err != nil || id != 1 {
		t.Fatalf("first id = %d, %v; want 1", id, err)
	}
	rows, err := cl.db.Query(`INSERT INTO ev (note) VALUES ($1), ($2), ($3) RETURNING id, uid`, "a", "b", "c")
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var uid string
		if err := rows.Scan(&id, &uid); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if len(ids) != 3 || ids[0] != 2 || ids[2] != 4 {
		t.Fatalf("batch ids %v, want [2 3 4]", ids)
	}
	mustExec(t, cl.db, `UPDATE ev SET touched = now(), note = note || '!' WHERE id = $1`, 2)
	mustExec(t, cl.db, `UPDATE ev SET touched = CURRENT_TIMESTAMP`)
	tx, err := cl.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.QueryRow(`INSERT INTO ev (note) VALUES ('in tx') RETURNING id`).Scan(&id); err != nil || id != 5 {
		t.Fatalf("id in transaction = %d, %v; want 5", id, err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// Concurrent inserts: unique ids everywhere.
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := cl.db.Exec(`INSERT INTO ev (note) VALUES ('concurrent')`); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	waitApplied(t, cl)
	dbtest.Converged(t, cl.direct, "ev")
	// Every backend's sequence is past every id, so any could be anchor next.
	for i, db := range cl.direct {
		var last, max int64
		if err := db.QueryRow(`SELECT pg_sequence_last_value('ev_id_seq'), (SELECT max(id) FROM ev)`).Scan(&last, &max); err != nil {
			t.Fatal(err)
		}
		if max != 85 || last < max {
			t.Errorf("backend %c: sequence at %d, max id %d; want max 85 and the sequence at or past it", 'a'+i, last, max)
		}
	}
}

// workload runs random inserts, updates and deletes by primary key over
// rows keys from goroutines for d, retrying nothing: conflicts are counted.
func workload(t *testing.T, db *sql.DB, goroutines, rows int, d time.Duration) (ok, conflicts int64) {
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	var okN, confN atomic.Int64
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 1))
			for time.Now().Before(deadline) {
				id := r.IntN(rows)
				var err error
				switch r.IntN(3) {
				case 0:
					_, err = db.Exec(`INSERT INTO kv (id, v) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET v = excluded.v`, id, r.IntN(1000))
				case 1:
					_, err = db.Exec(`UPDATE kv SET v = v + $2 WHERE id = $1`, id, r.IntN(10))
				default:
					_, err = db.Exec(`DELETE FROM kv WHERE id = $1`, id)
				}
				switch {
				case err == nil:
					okN.Add(1)
				case errors.Is(err, ErrConflict):
					confN.Add(1)
				default:
					t.Errorf("write: %v", err)
					return
				}
			}
		}(uint64(g))
	}
	wg.Wait()
	return okN.Load(), confN.Load()
}

func TestConvergence(t *testing.T) {
	for _, policy := range []string{"wait", "reject"} {
		t.Run(policy, func(t *testing.T) {
			cl := newCluster(t, 3, "conflict="+policy)
			mustExec(t, cl.db, `CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL)`)
			ok, conflicts := workload(t, cl.db, 8, 50, 3*time.Second)
			t.Logf("conflict=%s: %d writes, %d conflicts", policy, ok, conflicts)
			if ok == 0 {
				t.Fatal("no write succeeded")
			}
			if policy == "wait" && conflicts != 0 {
				t.Errorf("conflict=wait returned %d conflicts", conflicts)
			}
			dbtest.Converged(t, cl.direct, "kv")
		})
	}
}

func TestHotKeyWait(t *testing.T) {
	cl := newCluster(t, 3, "conflict=wait", "lock_timeout=30s")
	mustExec(t, cl.db, `CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)`)
	mustExec(t, cl.db, `INSERT INTO counter VALUES (1, 0)`)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if _, err := cl.db.Exec(`UPDATE counter SET n = n + 1 WHERE id = $1`, 1); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for i, db := range cl.direct {
		var n int
		if err := db.QueryRow(`SELECT n FROM counter WHERE id = 1`).Scan(&n); err != nil || n != 800 {
			t.Errorf("backend %c: n = %d, %v; want 800", 'a'+i, n, err)
		}
	}
}

func TestHotKeyReject(t *testing.T) {
	cl := newCluster(t, 3, "conflict=reject")
	mustExec(t, cl.db, `CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)`)
	mustExec(t, cl.db, `INSERT INTO counter VALUES (1, 0)`)
	var wg sync.WaitGroup
	var okN, confN atomic.Int64
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				_, err := cl.db.Exec(`UPDATE counter SET n = n + 1 WHERE id = $1`, 1)
				switch {
				case err == nil:
					okN.Add(1)
				case errors.Is(err, ErrConflict):
					var st interface{ SQLState() string }
					if !errors.As(err, &st) || st.SQLState() != "40001" {
						t.Errorf("conflict without SQLSTATE 40001: %v", err)
					}
					confN.Add(1)
				default:
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if confN.Load() == 0 {
		t.Error("8 writers on one row under conflict=reject met no conflict")
	}
	for i, db := range cl.direct {
		var n int64
		if err := db.QueryRow(`SELECT n FROM counter WHERE id = 1`).Scan(&n); err != nil || n != okN.Load() {
			t.Errorf("backend %c: n = %d, %v; want %d successful writes", 'a'+i, n, err, okN.Load())
		}
	}
	t.Logf("%d writes, %d conflicts", okN.Load(), confN.Load())
}

// pendingOn reports whether backend has a pending write on key.
func pendingOn(e *engine.Engine, backend string, key ledger.Key) bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return e.Calibrator().WaitClear(ctx, backend, []ledger.Key{key}, "") != nil
}

// TestPrivateTables: statements on private tables run on the anchor alone;
// a write that would replay shared data from private tables is refused.
func TestPrivateTables(t *testing.T) {
	cl := newCluster(t, 2, "private=sessions")
	mustExec(t, cl.db, `CREATE TABLE sessions (id int PRIMARY KEY, token text)`)
	mustExec(t, cl.db, `CREATE TABLE users (id int PRIMARY KEY, name text)`)
	mustExec(t, cl.db, `INSERT INTO sessions VALUES (1, 'secret')`)
	var tok string
	if err := cl.db.QueryRow(`SELECT token FROM sessions WHERE id = 1`).Scan(&tok); err != nil || tok != "secret" {
		t.Fatalf("private read: %q, %v", tok, err)
	}
	_, err := cl.db.Exec(`INSERT INTO users SELECT id, token FROM sessions ORDER BY id`)
	var unsafe *UnsafeStatementError
	if !errors.As(err, &unsafe) {
		t.Fatalf("shared write from a private table: %v, want *UnsafeStatementError", err)
	}
	var exists bool
	if err := cl.direct[1].QueryRow(`SELECT to_regclass('sessions') IS NOT NULL`).Scan(&exists); err != nil || exists {
		t.Fatalf("the private table reached backend b: %v, %v", exists, err)
	}
	waitApplied(t, cl)
	dbtest.Converged(t, cl.direct, "users")
}
