package backend

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"

	"github.com/calibrated/calibrated/internal/dbtest"
	_ "github.com/calibrated/calibrated/sqlite" // the "sqlite" driver
)

// TestCompactMarks: marks below a position fold into one row per ledger
// on every dialect, what they count stays, and other ledgers' marks and
// those at or above the position stay as they are.
func TestCompactMarks(t *testing.T) {
	for _, c := range []struct {
		dialect string
		open    func(t *testing.T) *sql.DB
	}{
		{"postgres", func(t *testing.T) *sql.DB { return dbtest.Open(t, dbtest.Postgres(t, 1))[0] }},
		{"mysql", func(t *testing.T) *sql.DB { return openDB(t, "mysql", dbtest.MySQL(t, 1)[0]) }},
		{"sqlite", func(t *testing.T) *sql.DB { return openDB(t, "sqlite", filepath.Join(t.TempDir(), "m.db")) }},
	} {
		t.Run(c.dialect, func(t *testing.T) {
			ctx := context.Background()
			db := c.open(t)
			if err := EnsureApplied(ctx, db, c.dialect); err != nil {
				t.Fatal(err)
			}
			for seq := int64(1); seq <= 10; seq++ {
				for _, l := range []string{"L", "M"} {
					if _, err := db.Exec(MarkSQL(c.dialect), l, seq); err != nil {
						t.Fatal(err)
					}
				}
			}
			for _, before := range []int64{8, 8, 11} {
				if err := CompactMarks(ctx, db, c.dialect, "L", before); err != nil {
					t.Fatalf("CompactMarks(L, %d): %v", before, err)
				}
			}
			marks := func(l string) []int64 {
				rows, err := db.Query(`SELECT seq FROM `+AppliedTable+` WHERE ledger = `+Placeholder(c.dialect, 1)+` ORDER BY seq`, l)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var out []int64
				for rows.Next() {
					var s int64
					if err := rows.Scan(&s); err != nil {
						t.Fatal(err)
					}
					out = append(out, s)
				}
				return out
			}
			if got := marks("L"); !slices.Equal(got, []int64{-10}) {
				t.Errorf("marks of L after compacting below 8, 8 again and 11: %v; want [-10]", got)
			}
			if got := marks("M"); len(got) != 10 {
				t.Errorf("marks of M: %v; want the 10 left alone", got)
			}
			for _, l := range []string{"L", "M"} {
				var n int64
				if err := db.QueryRow(`SELECT `+AppliedCount+` FROM `+AppliedTable+` WHERE ledger = `+Placeholder(c.dialect, 1), l).Scan(&n); err != nil || n != 10 {
					t.Errorf("count of %s: %d, %v; want 10", l, n, err)
				}
			}
		})
	}
}

func openDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
