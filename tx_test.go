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
)

func TestTransactions(t *testing.T) {
	cl := newCluster(t, 3)
	ctx := context.Background()
	mustExec(t, cl.db, `CREATE TABLE acct (id int PRIMARY KEY, bal int NOT NULL)`)
	mustExec(t, cl.db, `INSERT INTO acct VALUES (1, 100), (2, 100)`)

	// A committed transfer reaches every backend.
	tx, err := cl.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var bal int
	if err := tx.QueryRow(`SELECT bal FROM acct WHERE id = $1`, 1).Scan(&bal); err != nil || bal != 100 {
		t.Fatalf("bal = %d, %v", bal, err)
	}
	for _, q := range []string{`UPDATE acct SET bal = bal - 10 WHERE id = 1`, `UPDATE acct SET bal = bal + 10 WHERE id = 2`} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	// Savepoints: what is rolled back never reaches the other backends.
	for _, q := range []string{`SAVEPOINT s1`, `UPDATE acct SET bal = 0 WHERE id = 1`, `ROLLBACK TO SAVEPOINT s1`, `RELEASE SAVEPOINT s1`} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// A rolled-back one reaches none.
	tx, err = cl.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE acct SET bal = 0 WHERE id = 2`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	// Its locks are gone: an autocommit write on the same row proceeds.
	mustExec(t, cl.db, `UPDATE acct SET bal = bal + 1 WHERE id = 2`)

	// Read-only transactions run on the anchor with the anchor's rules.
	ro, err := cl.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro.Exec(`UPDATE acct SET bal = 0 WHERE id = 1`); err == nil {
		t.Error("write in a read-only transaction succeeded")
	}
	_ = ro.Rollback()

	for i, db := range cl.direct {
		var a, b int
		if err := db.QueryRow(`SELECT (SELECT bal FROM acct WHERE id = 1), (SELECT bal FROM acct WHERE id = 2)`).Scan(&a, &b); err != nil {
			t.Fatal(err)
		}
		if a != 90 || b != 111 {
			t.Errorf("backend %c: balances %d, %d; want 90, 111", 'a'+i, a, b)
		}
	}
	dbtest.Converged(t, cl.direct, "acct")
}

// TestBank moves money between accounts in transactions that read both
// balances and update them in random order, so transactions deadlock;
// they retry on ErrConflict and ErrDeadlock. The total is preserved and the
// backends are identical, and deadlocks are reported at once, not after
// lock_timeout.
func TestBank(t *testing.T) {
	for _, tc := range []struct {
		policy   string
		accounts int
	}{{"wait", 100}, {"reject", 100}, {"wait", 5}} {
		policy, accounts := tc.policy, tc.accounts
		t.Run(fmt.Sprintf("%s-%d", policy, accounts), func(t *testing.T) {
			cl := newCluster(t, 3, "conflict="+policy, "lock_timeout=20s")
			mustExec(t, cl.db, `CREATE TABLE acct (id int PRIMARY KEY, bal bigint NOT NULL)`)
			mustExec(t, cl.db, `INSERT INTO acct SELECT g, 1000 FROM generate_series(1, $1) g ORDER BY g`, accounts)
			var done, retried, deadlocks atomic.Int64
			var slowest atomic.Int64
			deadline := time.Now().Add(3 * time.Second)
			var wg sync.WaitGroup
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func(seed uint64) {
					defer wg.Done()
					r := rand.New(rand.NewPCG(seed, 7))
					for time.Now().Before(deadline) {
						a, b := 1+r.IntN(accounts), 1+r.IntN(accounts)
						if a == b {
							continue
						}
						start := time.Now()
						err := bankTransfer(cl.db, a, b, int64(1+r.IntN(20)), r.IntN(2) == 0)
						switch {
						case err == nil:
							done.Add(1)
						case errors.Is(err, ErrDeadlock):
							deadlocks.Add(1)
							if d := time.Since(start); d > time.Duration(slowest.Load()) {
								slowest.Store(int64(d))
							}
							retried.Add(1)
						case errors.Is(err, ErrConflict):
							retried.Add(1)
						default:
							t.Errorf("transfer: %v", err)
							return
						}
					}
				}(uint64(g))
			}
			wg.Wait()
			t.Logf("conflict=%s: %d transfers, %d retried, %d deadlocks (slowest transaction ending in a deadlock: %v)",
				policy, done.Load(), retried.Load(), deadlocks.Load(), time.Duration(slowest.Load()))
			if done.Load() == 0 {
				t.Fatal("no transfer succeeded")
			}
			if policy == "wait" && accounts <= 5 && deadlocks.Load() == 0 {
				t.Error("no deadlock among 8 clients on 5 accounts: is detection working?")
			}
			if time.Duration(slowest.Load()) > 5*time.Second {
				t.Errorf("a deadlock took %v to report; lock_timeout is 20s", time.Duration(slowest.Load()))
			}
			waitApplied(t, cl)
			checkBank(t, cl.direct, accounts)
		})
	}
}

// checkBank checks every backend, directly, for the bank's total (1000 in
// each of accounts accounts) and the same rows everywhere.
func checkBank(t *testing.T, direct []*sql.DB, accounts int) {
	t.Helper()
	for i, db := range direct {
		var sum int64
		if err := db.QueryRow(`SELECT sum(bal) FROM acct`).Scan(&sum); err != nil || sum != int64(accounts)*1000 {
			t.Errorf("backend %c: total %d, %v; want %d", 'a'+i, sum, err, accounts*1000)
		}
	}
	dbtest.Converged(t, direct, "acct")
}

func bankTransfer(db *sql.DB, from, to int, amount int64, fromFirst bool) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var bf, bt int64
	if err := tx.QueryRow(`SELECT bal FROM acct WHERE id = $1`, from).Scan(&bf); err != nil {
		return err
	}
	if err := tx.QueryRow(`SELECT bal FROM acct WHERE id = $1`, to).Scan(&bt); err != nil {
		return err
	}
	if bf < amount {
		return tx.Commit()
	}
	steps := [][2]int64{{int64(from), -amount}, {int64(to), amount}}
	if !fromFirst {
		steps[0], steps[1] = steps[1], steps[0]
	}
	for _, s := range steps {
		if _, err := tx.Exec(`UPDATE acct SET bal = bal + $2 WHERE id = $1`, s[0], s[1]); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// TestSelectForUpdateLocks: a row read FOR UPDATE in a transaction is
// locked in the ledger, so an autocommit write on it waits for the
// transaction instead of racing it on the anchor.
func TestSelectForUpdateLocks(t *testing.T) {
	cl := newCluster(t, 2, "conflict=reject")
	mustExec(t, cl.db, `CREATE TABLE acct (id int PRIMARY KEY, bal int NOT NULL)`)
	mustExec(t, cl.db, `INSERT INTO acct VALUES (1, 100), (2, 100)`)
	tx, err := cl.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var bal int
	if err := tx.QueryRow(`SELECT bal FROM acct WHERE id = $1 FOR UPDATE`, 1).Scan(&bal); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.db.Exec(`UPDATE acct SET bal = 0 WHERE id = 1`); !errors.Is(err, ErrConflict) {
		t.Fatalf("write on a row locked FOR UPDATE: %v, want ErrConflict", err)
	}
	if _, err := cl.db.Exec(`UPDATE acct SET bal = 0 WHERE id = 2`); err != nil {
		t.Fatalf("write on another row: %v", err)
	}
	if _, err := tx.Exec(`UPDATE acct SET bal = $1 WHERE id = 1`, bal+1); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	dbtest.Converged(t, cl.direct, "acct")
}

// TestTxLease: a transaction whose client vanishes (it never commits or
// rolls back) loses its locks when its lease lapses in log time, and a
// writer waiting on its row then proceeds; the vanished transaction's
// change reaches no backend.
func TestTxLease(t *testing.T) {
	cl := newCluster(t, 2, "tx_lease=1s", "lock_timeout=20s")
	mustExec(t, cl.db, `CREATE TABLE acct (id int PRIMARY KEY, bal int NOT NULL)`)
	mustExec(t, cl.db, `INSERT INTO acct VALUES (1, 100)`)
	tx, err := cl.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE acct SET bal = 0 WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	// The client goes away with its transaction open. Another writer waits.
	start := time.Now()
	mustExec(t, cl.db, `UPDATE acct SET bal = bal + 1 WHERE id = 1`)
	if waited := time.Since(start); waited < 500*time.Millisecond || waited > 10*time.Second {
		t.Errorf("the waiting writer took %v; the lease is 1s", waited)
	}
	if err := tx.Commit(); !errors.Is(err, ErrTxExpired) {
		t.Errorf("commit after the lease lapsed: %v, want ErrTxExpired", err)
	}
	waitApplied(t, cl)
	for i, db := range cl.direct {
		var bal int
		if err := db.QueryRow(`SELECT bal FROM acct WHERE id = 1`).Scan(&bal); err != nil || bal != 101 {
			t.Errorf("backend %c: bal = %d, %v; want 101", 'a'+i, bal, err)
		}
	}
}

// TestAnchorCommitMarked: on PostgreSQL a transaction's applied mark and
// its COMMIT go to the anchor together; the mark is there for every
// commit, the anchor's applier applies none of them again, and no anchor
// connection is left inside a transaction.
func TestAnchorCommitMarked(t *testing.T) {
	cl := openCluster(t, dbtest.Postgres(t, 2))
	mustExec(t, cl.db, `CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)`)
	mustExec(t, cl.db, `INSERT INTO counter VALUES (1, 0)`)
	waitApplied(t, cl)
	var before int
	if err := cl.direct[0].QueryRow(`SELECT count(*) FROM calibrated_applied`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	const txs = 20
	for range txs {
		tx, err := cl.db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`UPDATE counter SET n = n + 1 WHERE id = 1`); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	waitApplied(t, cl)
	countsAre(t, cl.direct, txs)
	for i, db := range cl.direct {
		var marks int
		if err := db.QueryRow(`SELECT count(*) FROM calibrated_applied`).Scan(&marks); err != nil {
			t.Fatal(err)
		}
		if marks != before+txs {
			t.Errorf("backend %c: %d marks after %d commits; want %d", 'a'+i, marks, txs, before+txs)
		}
	}
	var open int
	if err := cl.direct[0].QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`).Scan(&open); err != nil {
		t.Fatal(err)
	}
	if open != 0 {
		t.Errorf("%d anchor connections idle in a transaction after every commit ended", open)
	}
}
