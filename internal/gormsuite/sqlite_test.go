package gormsuite_test

import (
	"database/sql"
	"path/filepath"
	"testing"

	_ "github.com/calibrated/calibrated"
	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/internal/gormsuite"
	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// TestGORMSQLite runs the GORM suite through calibrated over three SQLite
// files with the pure-Go dialect github.com/glebarez/sqlite, unchanged but
// for DriverName. Here the backends are opened with the database/sql driver
// "sqlite" that dialect registers (github.com/glebarez/go-sqlite, a fork of
// modernc.org/sqlite that reads the same DSN), not with
// github.com/calibrated/calibrated/sqlite, which registers the same name.
func TestGORMSQLite(t *testing.T) {
	dir := t.TempDir()
	var urls []string
	var direct []*sql.DB
	for _, n := range []string{"a", "b", "c"} {
		p := filepath.Join(dir, n+".db")
		urls = append(urls, "sqlite:"+p)
		db, err := sql.Open("sqlite", "file:"+p+"?_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		direct = append(direct, db)
	}
	gormsuite.Run(t, gormsuite.Env{
		Dialect: "sqlite",
		Open: func(t *testing.T) *gorm.DB {
			g, err := gorm.Open(&sqlite.Dialector{DriverName: "calibrated", DSN: dbtest.DSN(urls)}, &gorm.Config{Logger: logger.Discard})
			if err != nil {
				t.Fatal(err)
			}
			sqlDB, err := g.DB()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { sqlDB.Close() })
			return g
		},
		Direct: direct,
		Digest: dbtest.RowsDigest,
	})
}
