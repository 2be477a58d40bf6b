package calibrated

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/calibrated/calibrated/internal/dbtest"
	_ "github.com/calibrated/calibrated/sqlite"
)

// TestSQLite: the driver over three SQLite files: writes, reads, a
// transaction, a unique violation, refusals, and identical files at the end.
func TestSQLite(t *testing.T) {
	dir := t.TempDir()
	var urls, paths []string
	for _, n := range []string{"a", "b", "c"} {
		p := filepath.Join(dir, n+".db")
		paths = append(paths, p)
		urls = append(urls, "sqlite:"+p)
	}
	db, err := sql.Open("calibrated", dbtest.DSN(urls))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mustExec(t, db, "CREATE TABLE `kv` (`id` INTEGER PRIMARY KEY, `v` INTEGER NOT NULL, `note` TEXT UNIQUE)")
	for i := 1; i <= 10; i++ {
		mustExec(t, db, "INSERT INTO `kv` (`id`, `v`) VALUES (?, ?)", i, i%3)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("UPDATE kv SET v = v + 10 WHERE id = ?", 1); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "UPDATE kv SET note = ? WHERE id = ?", "x", 2)
	_, err = db.Exec("UPDATE kv SET note = ? WHERE id = ?", "x", 3)
	var state interface{ SQLState() string }
	if err == nil || !errors.As(err, &state) {
		t.Fatalf("unique violation: %v", err)
	}
	for _, q := range []string{
		"INSERT INTO kv (id, v) VALUES (NULL + 1, 1)", // the rowid given an expression, numbered by every backend
		"UPDATE kv SET v = random() WHERE id = 1",
		"DELETE FROM kv WHERE id IN (SELECT id FROM kv ORDER BY v LIMIT 1)",
	} {
		_, err := db.Exec(q)
		var unsafe *UnsafeStatementError
		if !errors.As(err, &unsafe) {
			t.Errorf("%s: %v, want *UnsafeStatementError", q, err)
		}
	}
	mustExec(t, db, "DELETE FROM kv WHERE id IN (SELECT id FROM kv ORDER BY v, id LIMIT 1)")
	var v int
	if err := db.QueryRow("SELECT v FROM kv WHERE id = ?", 1).Scan(&v); err != nil || v != 11 {
		t.Fatalf("v = %d, %v", v, err)
	}
	mustExec(t, db, "CREATE TABLE barrier (id INTEGER PRIMARY KEY)") // waits for everything before it
	var first string
	for i, p := range paths {
		d, err := sql.Open("sqlite", "file:"+p+"?_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		got := dbtest.RowsDigest(t, d, "kv", "id")
		d.Close()
		if i == 0 {
			first = got
		} else if got != first {
			t.Errorf("%s differs from %s", p, paths[0])
		}
	}
}
