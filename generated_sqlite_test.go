package calibrated

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
)

// liteCluster opens calibrated over three SQLite files, and each file
// directly.
func liteCluster(t *testing.T) (*sql.DB, []*sql.DB) {
	t.Helper()
	dir := t.TempDir()
	var urls []string
	var direct []*sql.DB
	for _, n := range []string{"a", "b", "c"} {
		p := filepath.Join(dir, n+".db")
		urls = append(urls, "sqlite:"+p)
		d, err := sql.Open("sqlite", "file:"+p+"?_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		direct = append(direct, d)
	}
	db, err := sql.Open("calibrated", dbtest.DSN(urls))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, direct
}

func liteConverged(t *testing.T, db *sql.DB, direct []*sql.DB, tables ...string) {
	t.Helper()
	mustExec(t, db, "CREATE TABLE IF NOT EXISTS calibrated_test_barrier (id INTEGER PRIMARY KEY)") // waits for everything before it
	for _, table := range tables {
		first := dbtest.RowsDigest(t, direct[0], table, "rowid")
		for i, d := range direct[1:] {
			if got := dbtest.RowsDigest(t, d, table, "rowid"); got != first {
				t.Errorf("table %s differs on backend %c", table, 'b'+i)
			}
		}
	}
}

// TestSQLiteGeneratedIDs: INTEGER PRIMARY KEY (and AUTOINCREMENT) ids and
// CURRENT_TIMESTAMP defaults are drawn from the anchor, single and
// multi-row, with RETURNING, upserts and in transactions, concurrently;
// LastInsertId is the id given; a table rebuilt the way GORM's migrator
// does it (INSERT … SELECT without ORDER BY) is copied in key order; the
// files end identical.
func TestSQLiteGeneratedIDs(t *testing.T) {
	db, direct := liteCluster(t)
	mustExec(t, db, "CREATE TABLE `items` (`id` integer PRIMARY KEY AUTOINCREMENT, `code` text UNIQUE, `at` datetime DEFAULT CURRENT_TIMESTAMP, `r` integer DEFAULT (random()))")
	mustExec(t, db, "CREATE TABLE plain (id INTEGER PRIMARY KEY, v text)")
	res := mustExec(t, db, "INSERT INTO `items` (`code`) VALUES (?)", "a")
	if id, err := res.LastInsertId(); err != nil || id != 1 {
		t.Fatalf("LastInsertId %d, %v; want 1", id, err)
	}
	res = mustExec(t, db, "INSERT INTO plain (v) VALUES (?), (?), (?)", "x", "y", "z")
	if id, _ := res.LastInsertId(); id != 3 {
		t.Fatalf("LastInsertId %d after three rows, want 3", id)
	}
	var ids []int64
	rows, err := db.Query("INSERT INTO `items` (`code`) VALUES (?),(?) ON CONFLICT DO NOTHING RETURNING `id`", "a", "b")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if fmt.Sprint(ids) != "[3]" { // a exists; its drawn id 2 is a gap
		t.Fatalf("RETURNING gave %v, want [3]", ids)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"c", "d"} {
		if _, err := tx.Exec("INSERT INTO `items` (`code`) VALUES (?)", c); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				if _, err := db.Exec("INSERT INTO plain (v) VALUES (?)", fmt.Sprint(w, i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	_, err = db.Exec("INSERT INTO plain (id, v) VALUES (NULL + 1, 'n')")
	var unsafe *UnsafeStatementError
	if !errors.As(err, &unsafe) {
		t.Errorf("INTEGER PRIMARY KEY given an expression: %v, want *UnsafeStatementError", err)
	}

	// NULL written for the id, as GORM's SQLite dialect does in a batch.
	res = mustExec(t, db, "INSERT INTO plain (id, v) VALUES (NULL, ?), (?, ?), (NULL, ?)", "m1", 400, "m2", "m3")
	if id, _ := res.LastInsertId(); id != 402 {
		t.Fatalf("LastInsertId %d for NULL ids beside 400, want 402", id)
	}
	// NULL passed for the id, beside an explicit id: drawn above it.
	res = mustExec(t, db, "INSERT INTO plain (id, v) VALUES (?, ?), (?, ?)", nil, "n1", 500, "n2")
	if id, _ := res.LastInsertId(); id != 501 {
		t.Fatalf("LastInsertId %d for a NULL id beside 500, want 501", id)
	}
	var v string
	if err := direct[2].QueryRow("SELECT v FROM plain WHERE id = 501").Scan(&v); err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatal(err)
	}

	// GORM's SQLite migrator rebuilding a table, in a transaction.
	tx, err = db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE `items__temp` (`id` integer PRIMARY KEY AUTOINCREMENT, `code` text UNIQUE, `at` datetime DEFAULT CURRENT_TIMESTAMP, `r` integer, `extra` text)",
		"INSERT INTO `items__temp`(`id`,`code`,`at`,`r`) SELECT `id`,`code`,`at`,`r` FROM `items`",
		"DROP TABLE `items`",
		"ALTER TABLE `items__temp` RENAME TO `items`",
	} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	liteConverged(t, db, direct, "items", "plain")
	if err := direct[2].QueryRow("SELECT v FROM plain WHERE id = 501").Scan(&v); err != nil || v != "n1" {
		t.Fatalf("row 501 on backend c: %q, %v", v, err)
	}
	var n, stamped int
	if err := direct[2].QueryRow("SELECT count(*), count(at) FROM items").Scan(&n, &stamped); err != nil || n != 4 || stamped != 4 {
		t.Fatalf("backend c: %d items, %d stamped, %v", n, stamped, err)
	}
}

// TestSQLiteDefaultValues: INSERT … DEFAULT VALUES (GORM's Create of a
// model with no fields but its id) into INTEGER PRIMARY KEY tables, with
// and without AUTOINCREMENT and a CURRENT_TIMESTAMP default, gets its id
// from the anchor, through Exec (LastInsertId), RETURNING and a
// transaction; every file ends with the same rows and sequence.
func TestSQLiteDefaultValues(t *testing.T) {
	db, direct := liteCluster(t)
	mustExec(t, db, "CREATE TABLE `empty_structs` (`id` integer PRIMARY KEY AUTOINCREMENT)")
	mustExec(t, db, "CREATE TABLE stamped (id INTEGER PRIMARY KEY, at datetime DEFAULT CURRENT_TIMESTAMP, n integer DEFAULT 7)")
	var ids []int64
	for range 2 {
		var id int64
		if err := db.QueryRow("INSERT INTO `empty_structs` DEFAULT VALUES RETURNING `id`").Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	res := mustExec(t, db, "INSERT INTO `empty_structs` DEFAULT VALUES")
	if id, err := res.LastInsertId(); err != nil || id != 3 {
		t.Errorf("LastInsertId %d, %v; want 3", id, err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	res, err = tx.Exec("INSERT INTO stamped DEFAULT VALUES")
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := res.LastInsertId(); id != 1 {
		t.Errorf("LastInsertId %d in a transaction, want 1", id)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	res = mustExec(t, db, "INSERT INTO stamped DEFAULT VALUES")
	if id, _ := res.LastInsertId(); id != 2 {
		t.Errorf("LastInsertId %d, want 2", id)
	}
	if fmt.Sprint(ids) != "[1 2]" {
		t.Errorf("RETURNING gave %v, want [1 2]", ids)
	}
	liteConverged(t, db, direct, "empty_structs", "stamped", "sqlite_sequence")
	var n, at, seven int
	if err := direct[2].QueryRow("SELECT count(*), count(at), sum(n = 7) FROM stamped").Scan(&n, &at, &seven); err != nil || n != 2 || at != 2 || seven != 2 {
		t.Errorf("backend c: %d rows, %d stamped, %d defaults, %v", n, at, seven, err)
	}
}

// TestSQLiteColumnTypes: calibrated hands on the backend driver's column
// types, for reads and for the rows RETURNING gives: GORM scans a map
// result into a value of each column's ScanType. modernc.org/sqlite
// reports a DATETIME column as a string unless _texttotime=1 is in the
// URL (then a time.Time); through calibrated it is the same as directly.
func TestSQLiteColumnTypes(t *testing.T) {
	for _, c := range []struct {
		params string
		want   string
	}{{"?_texttotime=1", "time.Time"}, {"", "string"}} {
		db, direct, _ := liteFKCluster(t, c.params)
		mustExec(t, db, "CREATE TABLE ev (id INTEGER PRIMARY KEY, at datetime)")
		scanType := func(rows *sql.Rows, err error) string {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			ct, err := rows.ColumnTypes()
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
			}
			return fmt.Sprint(ct[0].ScanType())
		}
		ret := scanType(db.Query("INSERT INTO ev (at) VALUES (?) RETURNING at", "2026-01-02 03:04:05"))
		read := scanType(db.Query("SELECT at FROM ev"))
		var seq int
		var name, path string
		if err := direct[0].QueryRow("PRAGMA database_list").Scan(&seq, &name, &path); err != nil {
			t.Fatal(err)
		}
		d, err := sql.Open("sqlite", "file:"+path+c.params)
		if err != nil {
			t.Fatal(err)
		}
		want := scanType(d.Query("SELECT at FROM ev"))
		d.Close()
		if want != c.want || read != want || ret != want {
			t.Errorf("URL %q: ScanType directly %s (expected %s), through calibrated %s, of RETURNING %s", c.params, want, c.want, read, ret)
		}
		var v any
		if err := db.QueryRow("SELECT at FROM ev").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if tm, ok := v.(time.Time); !ok || tm.Format(time.DateTime) != "2026-01-02 03:04:05" {
			t.Errorf("URL %q: scanned into any: %T %v", c.params, v, v)
		}
	}
}

// TestSQLiteIDsAfterRecreate: a table dropped and created anew numbers its
// rows from 1 again, as SQLite does directly (GORM's
// TestForeignKeyConstraints relies on it), with and without AUTOINCREMENT.
func TestSQLiteIDsAfterRecreate(t *testing.T) {
	db, direct := liteCluster(t)
	for _, ddl := range []string{
		"CREATE TABLE `members` (`id` integer PRIMARY KEY AUTOINCREMENT, `name` text)",
		"CREATE TABLE `members` (`id` integer PRIMARY KEY, `name` text)",
	} {
		mustExec(t, db, ddl)
		mustExec(t, db, "INSERT INTO `members` (`name`) VALUES (?), (?), (?)", "a", "b", "c")
		mustExec(t, db, "DROP TABLE IF EXISTS `members`")
		mustExec(t, db, ddl)
		res := mustExec(t, db, "INSERT INTO `members` (`name`) VALUES (?)", "d")
		if id, err := res.LastInsertId(); err != nil || id != 1 {
			t.Errorf("%s: first id after DROP and CREATE %d, %v; want 1", ddl, id, err)
		}
		liteConverged(t, db, direct, "members")
		mustExec(t, db, "DROP TABLE `members`")
	}
}
