package calibrated

import (
	"database/sql"
	"testing"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/internal/gormsuite"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// TestGORMMySQL runs the GORM suite through calibrated over three
// MySQL/MariaDB databases with gorm.io/driver/mysql, unchanged but for
// DriverName.
func TestGORMMySQL(t *testing.T) {
	dsns := dbtest.MySQL(t, 3)
	urls := make([]string, len(dsns))
	direct := make([]*sql.DB, len(dsns))
	for i, d := range dsns {
		urls[i] = "mysql://" + d + "?parseTime=true"
		db, err := sql.Open("mysql", d)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		direct[i] = db
	}
	gormsuite.Run(t, gormsuite.Env{
		Dialect: "mysql",
		Open: func(t *testing.T) *gorm.DB {
			g, err := gorm.Open(mysql.New(mysql.Config{DriverName: "calibrated", DSN: dbtest.DSN(urls)}), &gorm.Config{Logger: logger.Discard})
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
		Direct:    direct,
		Digest:    dbtest.RowsDigest,
		ForUpdate: true,
	})
}
