package calibrated

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestMySQLUserVariableRefused: SET @x := ? (GORM's TestWithSingleConnection)
// is refused in and out of transactions with an error that says why and
// what to do instead.
func TestMySQLUserVariableRefused(t *testing.T) {
	cl := mysqlCluster(t, 2)
	ctx := context.Background()
	c, err := cl.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.ExecContext(ctx, "SET @testName := ?", "test")
	tx, terr := cl.db.Begin()
	if terr != nil {
		t.Fatal(terr)
	}
	_, txErr := tx.Exec("SET @testName = 'test'")
	_ = tx.Rollback()
	for _, err := range []error{err, txErr} {
		var ue *UnsupportedError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "user variable") || !strings.Contains(err.Error(), "pass the value as an argument") {
			t.Errorf("got %v, want an *UnsupportedError about the user variable and what to do instead", err)
		}
	}
}
