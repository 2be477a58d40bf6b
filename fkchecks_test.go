package calibrated

import (
	"context"
	"errors"
	"testing"
)

// TestMySQLForeignKeyChecks: GORM's MySQL DropTable (SET FOREIGN_KEY_CHECKS
// = 0, DROP TABLE of a referenced table, SET FOREIGN_KEY_CHECKS = 1, on one
// connection) works over three MariaDB backends; the checks are back on
// everywhere afterwards, so a row without its parent is refused alike on
// every backend; and a write with the checks off is refused.
func TestMySQLForeignKeyChecks(t *testing.T) {
	cl := mysqlCluster(t, 3)
	mustExec(t, cl.db, "CREATE TABLE parents (id bigint PRIMARY KEY)")
	mustExec(t, cl.db, "CREATE TABLE children (id bigint PRIMARY KEY, parent_id bigint, CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parents (id))")
	mustExec(t, cl.db, "CREATE TABLE others (id bigint PRIMARY KEY)")

	ctx := context.Background()
	c, err := cl.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"SET FOREIGN_KEY_CHECKS = 0;", "DROP TABLE IF EXISTS `parents` CASCADE"} {
		if _, err := c.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_, err = c.ExecContext(ctx, "INSERT INTO others (id) VALUES (1)")
	if ue := (*UnsupportedError)(nil); !errors.As(err, &ue) {
		t.Errorf("a write with the checks off: %v, want an *UnsupportedError", err)
	}
	if _, err := c.ExecContext(ctx, "SET FOREIGN_KEY_CHECKS = 1;"); err != nil {
		t.Fatal(err)
	}
	c.Close()

	for i, db := range cl.direct {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'parents'").Scan(&n); err != nil || n != 0 {
			t.Errorf("backend %c: parents still there (%d, %v)", 'a'+i, n, err)
		}
	}
	mustExec(t, cl.db, "CREATE TABLE parents (id bigint PRIMARY KEY)")
	if _, err := cl.db.Exec("INSERT INTO children (id, parent_id) VALUES (1, 42)"); err == nil {
		t.Fatal("a child without its parent was accepted: the checks stayed off")
	}
	waitApplied(t, cl)
	for _, b := range cl.engine(t).Backends() {
		if s := cl.engine(t).Calibrator().State(b.Name); s.String() != "active" {
			t.Errorf("backend %s is %v: the checks were not back on everywhere", b.Name, s)
		}
	}
	mysqlConverged(t, cl, "children", "id")
}
