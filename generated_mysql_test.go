package calibrated

import (
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
)

// mysqlClusterURLs opens calibrated over n fresh MySQL/MariaDB databases,
// with params appended to backend i's go-sql-driver DSN.
func mysqlClusterURLs(t *testing.T, n int, params map[int]string) *cluster {
	t.Helper()
	dsns := dbtest.MySQL(t, n)
	urls := make([]string, n)
	for i, d := range dsns {
		urls[i] = "mysql://" + d
		if p := params[i]; p != "" {
			urls[i] += "?" + p
		}
	}
	cfg, err := ParseDSN(dbtest.DSN(urls))
	if err != nil {
		t.Fatal(err)
	}
	c, err := newConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	if err := db.Ping(); err != nil {
		t.Fatal(err)
	}
	direct := make([]*sql.DB, n)
	for i, d := range dsns {
		if direct[i], err = sql.Open("mysql", d); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { direct[i].Close() })
	}
	return &cluster{db: db, c: c, direct: direct, urls: urls}
}

func resultOf(t *testing.T, res sql.Result) (id, rows int64) {
	t.Helper()
	id, err := res.LastInsertId()
	if err != nil {
		t.Fatal(err)
	}
	rows, err = res.RowsAffected()
	if err != nil {
		t.Fatal(err)
	}
	return id, rows
}

// TestMySQLGeneratedIDs: AUTO_INCREMENT ids come from the anchor, single
// and multi-row, with the anchor's auto_increment_increment (2 here, 1 on
// the other backends), through IGNORE, ON DUPLICATE KEY UPDATE and REPLACE,
// in and out of transactions; LastInsertId and RowsAffected are the
// anchor's; CURRENT_TIMESTAMP defaults, ON UPDATE CURRENT_TIMESTAMP and
// NOW() take one instant everywhere; the backends end identical.
func TestMySQLGeneratedIDs(t *testing.T) {
	cl := mysqlClusterURLs(t, 3, map[int]string{0: "auto_increment_increment=2"})
	mustExec(t, cl.db, "CREATE TABLE items (id bigint AUTO_INCREMENT PRIMARY KEY, code varchar(32) NOT NULL UNIQUE, n int NOT NULL DEFAULT 0, "+
		"created datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), changed datetime(6) NULL ON UPDATE CURRENT_TIMESTAMP(6), touched datetime(6) NULL)")

	id, rows := resultOf(t, mustExec(t, cl.db, "INSERT INTO items (code) VALUES (?)", "a"))
	if id != 1 || rows != 1 {
		t.Fatalf("single insert: id %d, rows %d; want 1, 1", id, rows)
	}
	id, rows = resultOf(t, mustExec(t, cl.db, "INSERT INTO items (code, n) VALUES (?, ?), (?, ?), ('d', 4)", "b", 2, "c", 3))
	if id != 3 || rows != 3 {
		t.Fatalf("three rows: id %d, rows %d; want 3 (increment 2), 3", id, rows)
	}
	var ids []int64
	r, err := cl.direct[1].Query("SELECT id FROM items ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var v int64
		if err := r.Scan(&v); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v)
	}
	r.Close()
	if fmt.Sprint(ids) != "[1 3 5 7]" {
		t.Fatalf("ids on backend b: %v, want the anchor's [1 3 5 7]", ids)
	}

	// ON DUPLICATE KEY UPDATE: b exists (updated, 2 rows), e is new.
	_, rows = resultOf(t, mustExec(t, cl.db, "INSERT INTO items (code, n) VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE n = VALUES(n) + 10", "b", 1, "e", 5))
	if rows != 3 {
		t.Fatalf("upsert: %d rows, want 2 + 1", rows)
	}
	// IGNORE: a exists, f is new; REPLACE: c replaced with a new id.
	_, rows = resultOf(t, mustExec(t, cl.db, "INSERT IGNORE INTO items (code) VALUES ('a'), ('f')"))
	if rows != 1 {
		t.Fatalf("insert ignore: %d rows, want 1", rows)
	}
	mustExec(t, cl.db, "REPLACE INTO items (code, n) VALUES ('c', 30)")

	// ON UPDATE CURRENT_TIMESTAMP and NOW().
	time.Sleep(2 * time.Millisecond)
	mustExec(t, cl.db, "UPDATE items SET n = n + 1 WHERE code = ?", "a")
	mustExec(t, cl.db, "UPDATE items SET touched = NOW(6) WHERE id = ?", 1)

	// A transaction: its ids are the anchor's, a rolled-back one leaves nothing.
	tx, err := cl.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	res, err := tx.Exec("INSERT INTO items (code) VALUES (?), (?)", "g", "h")
	if err != nil {
		t.Fatal(err)
	}
	gid, _ := resultOf(t, res)
	if _, err := tx.Exec("UPDATE items SET n = ? WHERE id = ?", 99, gid); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	tx, err = cl.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO items (code) VALUES (?)", "never"); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	// A duplicate fails like MySQL's and leaves nothing.
	if _, err := cl.db.Exec("INSERT INTO items (code) VALUES (?), (?)", "x1", "a"); err == nil {
		t.Fatal("duplicate code accepted")
	}

	// Concurrent inserts from 8 goroutines: unique ids, identical everywhere.
	var wg sync.WaitGroup
	got := make(chan int64, 8*10)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				res, err := cl.db.Exec("INSERT INTO items (code) VALUES (?)", fmt.Sprintf("w%d-%d", w, i))
				if err != nil {
					t.Error(err)
					return
				}
				id, _ := res.LastInsertId()
				got <- id
			}
		}()
	}
	wg.Wait()
	close(got)
	seen := map[int64]bool{}
	for id := range got {
		if seen[id] || id <= 0 {
			t.Fatalf("id %d given twice", id)
		}
		seen[id] = true
	}

	// Refused: what would still be numbered by every backend.
	for _, q := range []string{
		"INSERT INTO items (id, code) SELECT id + 1000, code FROM items ORDER BY id",
		"INSERT INTO items (code) SELECT code FROM items ORDER BY id",
		"UPDATE items SET touched = SYSDATE() WHERE id = 1",
	} {
		_, err := cl.db.Exec(q)
		var unsafe *UnsafeStatementError
		if !errors.As(err, &unsafe) {
			t.Errorf("%s: %v, want *UnsafeStatementError", q, err)
		}
	}

	waitApplied(t, cl)
	mysqlConverged(t, cl, "items", "id")
	var n, stamped int
	if err := cl.direct[2].QueryRow("SELECT count(*), count(changed) FROM items").Scan(&n, &stamped); err != nil {
		t.Fatal(err)
	}
	if n != 6+2+80 || stamped < 2 {
		t.Fatalf("backend c: %d rows, %d with ON UPDATE stamps; want %d rows, at least 2 stamped", n, stamped, 6+2+80)
	}
	var never int
	if err := cl.direct[2].QueryRow("SELECT count(*) FROM items WHERE code IN ('never', 'x1')").Scan(&never); err != nil || never != 0 {
		t.Fatalf("rolled back or failed rows on backend c: %d, %v", never, err)
	}
	// No session's clock is left fixed: NOW() moves on.
	time.Sleep(1200 * time.Millisecond)
	for range 20 {
		var at float64
		if err := cl.db.QueryRow("SELECT UNIX_TIMESTAMP(NOW(6))").Scan(&at); err != nil {
			t.Fatal(err)
		}
		if d := float64(time.Now().UnixMicro())/1e6 - at; d > 1 || d < -1 {
			t.Fatalf("NOW() is %.3fs off: a session's timestamp was left fixed", d)
		}
	}
}

// TestMySQLMixedIDs: INSERTs that give the AUTO_INCREMENT column in every
// row but leave it to the database in some (NULL, 0, DEFAULT, a NULL
// argument, as GORM's association saves write new records next to
// existing ones), with and without ON DUPLICATE KEY UPDATE or IGNORE, in
// and out of transactions, and INSERT INTO t VALUES () (GORM's empty
// struct): the rows that left the id get the anchor's (increment 2 there,
// 1 elsewhere), the others keep theirs, LastInsertId and RowsAffected are
// what MySQL reports for the whole statement, and the backends end
// identical.
func TestMySQLMixedIDs(t *testing.T) {
	cl := mysqlClusterURLs(t, 3, map[int]string{0: "auto_increment_increment=2"})
	mustExec(t, cl.db, "CREATE TABLE pets (id bigint AUTO_INCREMENT PRIMARY KEY, name varchar(32) NOT NULL UNIQUE, owner int NULL)")
	mustExec(t, cl.db, "CREATE TABLE empties (id bigint AUTO_INCREMENT PRIMARY KEY, at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))")
	mustExec(t, cl.db, "INSERT INTO pets (name) VALUES ('a'), ('b')") // 1, 3

	for _, tt := range []struct {
		q        string
		args     []any
		id, rows int64
	}{
		// GORM's MySQL dialect writes DEFAULT for a new record's id.
		{"INSERT INTO pets (name, id) VALUES (?, ?), (?, DEFAULT), (?, ?)", []any{"c", 10, "d", "e", nil}, 11, 3},
		// An association save: a is updated, f is new.
		{"INSERT INTO pets (name, owner, id) VALUES (?, ?, ?), (?, ?, DEFAULT) ON DUPLICATE KEY UPDATE owner = VALUES(owner)", []any{"a", 7, 1, "f", 7}, 15, 3},
		{"INSERT INTO pets (id, name) VALUES (0, 'zero'), (NULL, 'null')", nil, 17, 2},
		// An explicit id above the counter moves it.
		{"INSERT INTO pets (id, name) VALUES (NULL, 'g'), (100, 'h'), (NULL, 'i')", nil, 21, 3},
		// Nothing generated is inserted: the last explicit id.
		{"INSERT IGNORE INTO pets (id, name) VALUES (NULL, 'a'), (200, 'j')", nil, 200, 1},
		// No column list: the id by the table's column order.
		{"INSERT INTO pets VALUES (NULL, 'k', NULL)", nil, 201, 1},
		{"INSERT INTO empties VALUES ()", nil, 1, 1},
		{"INSERT INTO empties () VALUES ()", nil, 3, 1},
		{"INSERT INTO empties VALUES (), ()", nil, 5, 2},
	} {
		res, err := cl.db.Exec(tt.q, tt.args...)
		if err != nil {
			t.Fatalf("%s: %v", tt.q, err)
		}
		if id, rows := resultOf(t, res); id != tt.id || rows != tt.rows {
			t.Errorf("%s: id %d, rows %d; want %d, %d", tt.q, id, rows, tt.id, tt.rows)
		}
	}

	// In a transaction, then RETURNING (MariaDB).
	tx, err := cl.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	res, err := tx.Exec("INSERT INTO pets (id, name) VALUES (?, ?), (?, ?)", 300, "l", nil, "m")
	if err != nil {
		t.Fatal(err)
	}
	if id, rows := resultOf(t, res); id != 301 || rows != 2 {
		t.Errorf("in a transaction: id %d, rows %d; want 301, 2", id, rows)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// RETURNING gives what MariaDB gives for the whole statement: every
	// proposed row under ON DUPLICATE KEY UPDATE (GORM assigns them to its
	// records in order), only the rows inserted under IGNORE.
	for _, tt := range []struct{ q, want string }{
		{"INSERT INTO pets (id, name) VALUES (NULL, 'n'), (400, 'o') RETURNING id, name", "[303 n 400 o]"},
		{"INSERT INTO pets (name, owner, id) VALUES ('b', 8, 3), ('p', 8, DEFAULT) ON DUPLICATE KEY UPDATE owner = VALUES(owner) RETURNING id, name", "[3 b 401 p]"},
		{"INSERT IGNORE INTO pets (id, name) VALUES (NULL, 'a'), (NULL, 'q') RETURNING id, name", "[405 q]"},
	} {
		var got []string
		r, err := cl.db.Query(tt.q)
		if err != nil {
			t.Fatal(err)
		}
		for r.Next() {
			var id int64
			var name string
			if err := r.Scan(&id, &name); err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%d %s", id, name))
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		r.Close()
		if fmt.Sprint(got) != tt.want {
			t.Errorf("%s: %v, want %s", tt.q, got, tt.want)
		}
	}

	// A duplicate fails like MySQL's and leaves nothing.
	if _, err := cl.db.Exec("INSERT INTO pets (id, name) VALUES (NULL, 'never'), (NULL, 'a')"); err == nil {
		t.Fatal("duplicate name accepted")
	}

	waitApplied(t, cl)
	mysqlConverged(t, cl, "pets", "id")
	mysqlConverged(t, cl, "empties", "id")
	var ids []string
	rows, err := cl.direct[2].Query("SELECT CONCAT(name, '=', id) FROM pets ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, s)
	}
	rows.Close()
	want := "[a=1 b=3 c=10 d=11 e=13 f=15 zero=17 null=19 g=21 h=100 i=101 j=200 k=201 l=300 m=301 n=303 o=400 p=401 q=405]"
	if fmt.Sprint(ids) != want {
		t.Errorf("backend c holds %v\nwant the anchor's %s", ids, want)
	}
	var owner int
	if err := cl.direct[1].QueryRow("SELECT owner FROM pets WHERE name = 'a'").Scan(&owner); err != nil || owner != 7 {
		t.Errorf("backend b: a's owner %d, %v; want 7", owner, err)
	}
}
