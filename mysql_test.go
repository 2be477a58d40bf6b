package calibrated

import (
	"database/sql"
	"errors"
	"sync"
	"testing"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/go-sql-driver/mysql"
)

// mysqlCluster opens calibrated over n fresh MySQL/MariaDB databases.
func mysqlCluster(t *testing.T, n int, opts ...string) *cluster {
	t.Helper()
	dsns := dbtest.MySQL(t, n)
	urls := make([]string, n)
	for i, d := range dsns {
		urls[i] = "mysql://" + d
	}
	db, c := openDSN(t, dbtest.DSN(urls, opts...))
	direct := make([]*sql.DB, n)
	for i, d := range dsns {
		var err error
		if direct[i], err = sql.Open("mysql", d); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { direct[i].Close() })
	}
	return &cluster{db: db, c: c, direct: direct, urls: urls}
}

func mysqlConverged(t *testing.T, cl *cluster, table, orderBy string) {
	t.Helper()
	first := dbtest.RowsDigest(t, cl.direct[0], table, orderBy)
	for i, db := range cl.direct[1:] {
		if got := dbtest.RowsDigest(t, db, table, orderBy); got != first {
			t.Errorf("table %s differs on backend %c", table, 'b'+i)
		}
	}
}

// TestMySQL: the driver core over three MySQL/MariaDB databases: writes,
// reads, a hot counter, transactions, errors, refusals, convergence.
func TestMySQL(t *testing.T) {
	cl := mysqlCluster(t, 3)
	mustExec(t, cl.db, `CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL, note varchar(32))`)
	mustExec(t, cl.db, `CREATE TABLE ids (id int AUTO_INCREMENT PRIMARY KEY, v int)`)
	for i := 1; i <= 20; i++ {
		mustExec(t, cl.db, `INSERT INTO kv (id, v) VALUES (?, ?)`, i, 0)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				if _, err := cl.db.Exec(`UPDATE kv SET v = v + 1 WHERE id = ?`, 1); err != nil {
					t.Error(err)
					return
				}
				if _, err := cl.db.Exec(`INSERT INTO kv (id, v) VALUES (?, ?) ON DUPLICATE KEY UPDATE v = v + 1`, 2+(g*25+i)%19, 1); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	tx, err := cl.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE kv SET v = v - 10 WHERE id = ?`, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`UPDATE kv SET v = v + 10 WHERE id = ?`, 2); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var v int
	if err := cl.db.QueryRow(`SELECT v FROM kv WHERE id = ?`, 1).Scan(&v); err != nil || v != 190 {
		t.Fatalf("counter = %d, %v; want 200 - 10", v, err)
	}
	_, err = cl.db.Exec(`INSERT INTO kv (id, v) VALUES (?, ?)`, 1, 0)
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1062 {
		t.Fatalf("duplicate: %v, want *mysql.MySQLError 1062", err)
	}
	for _, q := range []string{
		`INSERT INTO ids (id, v) SELECT id, v FROM kv ORDER BY id`, // AUTO_INCREMENT given by INSERT … SELECT
		`UPDATE kv SET note = UUID() WHERE id = 3`,                 // a value that differs everywhere
		`DELETE FROM kv LIMIT 1`,                                   // which row is "first" differs
		`DELETE FROM kv ORDER BY v LIMIT 1`,                        // v is not unique
	} {
		_, err := cl.db.Exec(q)
		var unsafe *UnsafeStatementError
		if !errors.As(err, &unsafe) {
			t.Errorf("%s: %v, want *UnsafeStatementError", q, err)
		}
	}
	mustExec(t, cl.db, `INSERT INTO ids (id, v) VALUES (?, ?)`, 7, 1)
	waitApplied(t, cl)
	mysqlConverged(t, cl, "kv", "id")
	mysqlConverged(t, cl, "ids", "id")
}
