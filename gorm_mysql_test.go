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
			return openGORM(t, mysql.New(mysql.Config{DriverName: "calibrated", DSN: dbtest.DSN(urls)}), &gorm.Config{Logger: logger.Discard})
		},
		Direct:    direct,
		Digest:    dbtest.RowsDigest,
		ForUpdate: true,
	})
}

// BenchmarkGORMMySQL: a GORM Create (AUTO_INCREMENT id, in GORM's default
// transaction; on MariaDB with RETURNING) through calibrated over 2
// backends, whose id comes from the anchor's execution, against GORM on
// one backend directly, paired per iteration.
func BenchmarkGORMMySQL(b *testing.B) {
	open := func(d gorm.Dialector) *gorm.DB {
		g, err := gorm.Open(d, &gorm.Config{Logger: logger.Discard})
		if err != nil {
			b.Fatal(err)
		}
		if sqlDB, err := g.DB(); err == nil {
			b.Cleanup(func() { sqlDB.Close() })
		}
		if err := g.AutoMigrate(&gormsuite.User{}); err != nil {
			b.Fatal(err)
		}
		return g
	}
	direct := open(mysql.Open(dbtest.MySQL(b, 1)[0] + "?parseTime=true"))
	dsns := dbtest.MySQL(b, 2)
	cal := open(mysql.New(mysql.Config{DriverName: "calibrated", DSN: dbtest.DSN([]string{"mysql://" + dsns[0] + "?parseTime=true", "mysql://" + dsns[1] + "?parseTime=true"})}))
	create := func(g *gorm.DB) func(int) error {
		return func(i int) error { return g.Create(&gormsuite.User{Name: "u", Age: i}).Error }
	}
	paired(b, create(direct), create(cal))
}
