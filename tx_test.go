package calibrated

import (
	"context"
	"database/sql"
	"testing"

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
