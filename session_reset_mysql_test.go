package calibrated

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/calibrated/calibrated/ledger"
)

// staleClocks returns how many of db's pooled connections give a NOW() more
// than a second away from the real time: a session left with SET timestamp.
// It holds every open connection at once, so each is asked.
func staleClocks(t *testing.T, db *sql.DB) int {
	t.Helper()
	ctx := context.Background()
	n := db.Stats().OpenConnections
	conns := make([]*sql.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	stale := 0
	for range n {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var at float64
		if err := c.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP(NOW(6))").Scan(&at); err != nil {
			t.Fatal(err)
		}
		if d := float64(time.Now().UnixMicro())/1e6 - at; d > 1 || d < -1 {
			stale++
		}
	}
	return stale
}

// TestMySQLClockResetAfterFailure: an entry whose statement fails on a
// backend between its SET timestamp and its SET timestamp = DEFAULT (here a
// duplicate key: backend c holds a row the others do not) leaves no
// connection of that backend's pool with the clock fixed.
func TestMySQLClockResetAfterFailure(t *testing.T) {
	cl := mysqlCluster(t, 3)
	mustExec(t, cl.db, "CREATE TABLE stamps (id bigint PRIMARY KEY, code varchar(16) NOT NULL UNIQUE, at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))")
	waitApplied(t, cl)
	mustExec(t, cl.direct[2], "INSERT INTO stamps (id, code) VALUES (99, 'dup')")
	mustExec(t, cl.db, "INSERT INTO stamps (id, code) VALUES (1, 'dup')") // on c: 1062 after SET timestamp
	e := cl.engine(t)
	// The anchor's own transaction applied the entry, so c's failure is a
	// divergence: c is marked diverged once its applier has run it.
	waitFor(t, func() bool { return e.Calibrator().State("c") == ledger.Diverged }, "backend c to be found diverged")
	var n int
	if err := cl.direct[2].QueryRow("SELECT count(*) FROM stamps WHERE id = 1").Scan(&n); err != nil || n != 0 {
		t.Fatalf("backend c applied the entry (%d, %v): the test needs it to fail there", n, err)
	}
	time.Sleep(1200 * time.Millisecond)
	if n := staleClocks(t, e.Backend("c").DB); n > 0 {
		t.Fatalf("%d of backend c's connections still have the entry's clock", n)
	}
}

// TestMySQLForeignKeyChecksAfterFailedDDL: DDL sent with FOREIGN_KEY_CHECKS
// off that fails on every backend (a DROP TABLE of a missing table) leaves
// no applier connection with the checks off: a row without its parent is
// still refused alike everywhere.
func TestMySQLForeignKeyChecksAfterFailedDDL(t *testing.T) {
	cl := mysqlCluster(t, 3)
	mustExec(t, cl.db, "CREATE TABLE parents (id bigint PRIMARY KEY)")
	mustExec(t, cl.db, "CREATE TABLE children (id bigint PRIMARY KEY, parent_id bigint, CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES parents (id))")
	ctx := context.Background()
	c, err := cl.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, "SET FOREIGN_KEY_CHECKS = 0"); err != nil {
		t.Fatal(err)
	}
	// It fails on every backend, and for the caller (TestMySQLFailingDDL).
	if _, err := c.ExecContext(ctx, "DROP TABLE missing"); err == nil {
		t.Fatal("DROP TABLE of a missing table succeeded")
	}
	if _, err := c.ExecContext(ctx, "SET FOREIGN_KEY_CHECKS = 1"); err != nil {
		t.Fatal(err)
	}
	c.Close()
	waitApplied(t, cl)
	for i := range 3 {
		if _, err := cl.db.Exec("INSERT INTO children (id, parent_id) VALUES (?, ?)", i+1, 42); err == nil {
			t.Fatalf("insert %d: a child without its parent was accepted: the checks stayed off", i+1)
		}
	}
	waitApplied(t, cl)
	e := cl.engine(t)
	for _, b := range e.Backends() {
		if s := e.Calibrator().State(b.Name); s.String() != "active" {
			t.Errorf("backend %s is %v", b.Name, s)
		}
	}
	for i, db := range cl.direct {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM children").Scan(&n); err != nil || n != 0 {
			t.Errorf("backend %c: %d children, %v", 'a'+i, n, err)
		}
	}
}
