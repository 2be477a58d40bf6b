package calibrated

import (
	"errors"
	"testing"

	"github.com/calibrated/calibrated/ledger"
	gomysql "github.com/go-sql-driver/mysql"
)

// TestMySQLFailingDDL: MySQL commits the applier's transaction before it
// runs DDL, so a DDL entry is marked only after it ran. A DDL that fails
// everywhere fails for its caller; one that fails on one backend only
// marks that backend diverged, and the others go on.
func TestMySQLFailingDDL(t *testing.T) {
	cl := mysqlCluster(t, 3)
	_, err := cl.db.Exec("DROP TABLE missing")
	var me *gomysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1051 {
		t.Fatalf("DROP TABLE of a missing table: %v; want MySQL's error 1051", err)
	}
	e := cl.engine(t)
	for _, b := range e.Backends() {
		if s := e.Calibrator().State(b.Name); s != ledger.Active {
			t.Fatalf("backend %s is %v after a DDL that failed everywhere alike", b.Name, s)
		}
	}
	mustExec(t, cl.direct[2], "CREATE TABLE only_on_c (id bigint PRIMARY KEY)")
	mustExec(t, cl.db, "CREATE TABLE only_on_c (id bigint PRIMARY KEY)")
	waitFor(t, func() bool { return e.Calibrator().State("c") == ledger.Diverged }, "backend c, where the table existed, to be found diverged")
	mustExec(t, cl.db, "INSERT INTO only_on_c VALUES (1)")
	for i, db := range cl.direct[:2] {
		var n int
		if err := db.QueryRow("SELECT count(*) FROM only_on_c").Scan(&n); err != nil || n != 1 {
			t.Errorf("backend %c: %d rows, %v", 'a'+i, n, err)
		}
	}
}
