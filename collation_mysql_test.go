package calibrated

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/calibrated/calibrated/backend"
)

func TestMySQLFold(t *testing.T) {
	for _, tt := range []struct{ coll, a, b string }{
		{"utf8mb4_general_ci", "A@x", "a@x"},
		{"utf8mb4_unicode_ci", "Émile ", "emile"},
		{"utf8mb4_0900_ai_ci", "ÉMILE", "emile"},
		{"latin1_swedish_ci", "Ab", "aB  "},
		{"utf8mb4_bin", "ab ", "ab"},
	} {
		if x, y := backend.MySQLFold(tt.coll, tt.a), backend.MySQLFold(tt.coll, tt.b); x != y {
			t.Errorf("%s: %q folds to %q, %q to %q", tt.coll, tt.a, x, tt.b, y)
		}
	}
	for _, tt := range []struct{ coll, a, b string }{
		{"utf8mb4_bin", "A", "a"},
		{"utf8mb4_0900_as_ci", "é", "e"},
		{"utf8mb4_0900_ai_ci", "a ", "a"}, // NO PAD
	} {
		if x, y := backend.MySQLFold(tt.coll, tt.a), backend.MySQLFold(tt.coll, tt.b); x == y {
			t.Errorf("%s: %q and %q both fold to %q", tt.coll, tt.a, tt.b, x)
		}
	}
}

// TestMySQLCollationKeys: under a _ci collation 'A@x' and 'a@x' are one
// unique key (and one primary key), so a write of one meets a transaction
// holding the other in the ledger, as it meets it in the backends' indexes.
func TestMySQLCollationKeys(t *testing.T) {
	cl := mysqlCluster(t, 2, "conflict=reject")
	mustExec(t, cl.db, "CREATE TABLE users (id int PRIMARY KEY, email varchar(64) COLLATE utf8mb4_general_ci UNIQUE, code varchar(8) COLLATE utf8mb4_bin)")
	mustExec(t, cl.db, "CREATE TABLE tags (name varchar(32) COLLATE utf8mb4_unicode_ci PRIMARY KEY, n int)")
	tx, err := cl.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO users (id, email) VALUES (?, ?)", 1, "A@x"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO tags (name, n) VALUES (?, ?)", "Go", 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO users (id, email) VALUES (?, ?)", []any{2, "a@x"}},
		{"INSERT INTO tags (name, n) VALUES (?, ?)", []any{"go ", 2}},
		{"UPDATE tags SET n = 3 WHERE name = 'GO'", nil},
	} {
		if _, err := cl.db.ExecContext(ctx, q.sql, q.args...); !errors.Is(err, ErrConflict) {
			t.Errorf("%s %v: %v, want ErrConflict", q.sql, q.args, err)
		}
	}
	// A byte-compared column keeps its case.
	if _, err := cl.db.ExecContext(ctx, "INSERT INTO users (id, email, code) VALUES (?, ?, ?)", 3, "b@x", "A"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	waitApplied(t, cl)
	mysqlConverged(t, cl, "users", "id")
	mysqlConverged(t, cl, "tags", "name")
}
