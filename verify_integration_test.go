package calibrated_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/calibrated/calibrated"
	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/verify"
)

// TestVerifyFindsAndResyncRepairs uses only the public API: a backend
// changed behind the driver's back is marked diverged on the next write of
// the row, verify names the table and the key, Resync repairs it, and
// verify then finds nothing.
func TestVerifyFindsAndResyncRepairs(t *testing.T) {
	urls := dbtest.Postgres(t, 3)
	cfg, err := calibrated.ParseDSN(dbtest.DSN(urls))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := calibrated.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL)`,
		`INSERT INTO kv SELECT g, 5 FROM generate_series(1, 50) g ORDER BY g`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	direct := dbtest.Open(t, urls)
	if _, err := direct[1].Exec(`UPDATE kv SET v = 99 WHERE id = 7`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE kv SET v = v + 1 WHERE id = 7 AND v = 5`); err != nil {
		t.Fatal(err)
	}
	state := func(name string) string {
		st, err := calibrated.StatusOf(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range st.Backends {
			if b.Name == name {
				return b.State
			}
		}
		return ""
	}
	for end := time.Now().Add(10 * time.Second); state("b") != "diverged"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("b is %s, want diverged", state("b"))
		}
	}
	rep, err := verify.Run(ctx, cfg, verify.Options{Keys: true})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Differs() || len(rep.DifferingTables()) != 1 || rep.DifferingTables()[0] != "kv" {
		t.Fatalf("verify: differing tables %v", rep.DifferingTables())
	}
	var keys []string
	for _, tr := range rep.Tables {
		for _, k := range tr.Keys {
			keys = append(keys, k.Key)
		}
	}
	if len(keys) != 1 || keys[0] != "7" {
		t.Fatalf("verify: differing keys %v, want [7]", keys)
	}
	if err := calibrated.Resync(ctx, conn, "a", "b", nil); err != nil {
		t.Fatal(err)
	}
	if s := state("b"); s != "active" {
		t.Fatalf("b is %s after resync", s)
	}
	rep, err = verify.Run(ctx, cfg, verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Differs() {
		t.Fatalf("after resync verify still finds %v", rep.DifferingTables())
	}
}
