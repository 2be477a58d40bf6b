package calibrated

import (
	"testing"

	"github.com/calibrated/calibrated/internal/dbtest"
)

// TestDefaultValues: INSERT … DEFAULT VALUES, which GORM sends to create a
// model with no fields but its id, gets its id from the anchor like any
// other INSERT, and every backend holds the same rows.
func TestDefaultValues(t *testing.T) {
	cl := newCluster(t, 3)
	mustExec(t, cl.db, `CREATE TABLE empty_structs (id bigserial PRIMARY KEY, at timestamptz DEFAULT now())`)
	var ids []int64
	for range 3 {
		var id int64
		if err := cl.db.QueryRow(`INSERT INTO "empty_structs" DEFAULT VALUES RETURNING "id"`).Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	mustExec(t, cl.db, `INSERT INTO empty_structs DEFAULT VALUES`)
	if ids[0] != 1 || ids[1] != 2 || ids[2] != 3 {
		t.Errorf("ids %v, want [1 2 3]", ids)
	}
	waitApplied(t, cl)
	dbtest.Converged(t, cl.direct, "empty_structs")
	var n int
	if err := cl.direct[2].QueryRow(`SELECT count(*) FROM empty_structs`).Scan(&n); err != nil || n != 4 {
		t.Errorf("backend c has %d rows, %v; want 4", n, err)
	}
}
