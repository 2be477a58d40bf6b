package calibrated

import (
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/internal/gormsuite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type gUser struct {
	ID        uint64  `gorm:"primaryKey"`
	Name      string  `gorm:"size:100;not null"`
	Email     *string `gorm:"size:191;uniqueIndex"`
	Age       int
	Orders    []gOrder    `gorm:"foreignKey:UserID"`
	Languages []gLanguage `gorm:"many2many:user_languages;joinForeignKey:UserID;joinReferences:LanguageID"`
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt gorm.DeletedAt `gorm:"index"`
}

func (gUser) TableName() string { return "users" }

type gOrder struct {
	ID        uint64 `gorm:"primaryKey"`
	UserID    uint64 `gorm:"not null;index"`
	Amount    int64
	Status    string `gorm:"size:32;default:pending"`
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt gorm.DeletedAt `gorm:"index"`
}

func (gOrder) TableName() string { return "orders" }

type gLanguage struct {
	ID   uint64 `gorm:"primaryKey"`
	Code string `gorm:"size:8;uniqueIndex"`
	Name string `gorm:"size:64"`
}

func (gLanguage) TableName() string { return "languages" }

var gormTables = []string{"users", "orders", "languages", "user_languages"}

// openGorm opens GORM's PostgreSQL dialector on calibrated's dsn.
func openGorm(t *testing.T, dsn string) *gorm.DB {
	t.Helper()
	return openGORM(t, postgres.New(postgres.Config{DriverName: "calibrated", DSN: dsn}), &gorm.Config{Logger: logger.Discard})
}

// openGORM opens d with cfg and closes its database when t ends.
func openGORM(t testing.TB, d gorm.Dialector, cfg *gorm.Config) *gorm.DB {
	t.Helper()
	g, err := gorm.Open(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sqlDB.Close() })
	return g
}

func strp(s string) *string { return &s }

// TestGORM runs the GORM suite (internal/gormsuite) through calibrated
// over three PostgreSQL backends, checking after every step that each table
// is identical on all of them, ids and timestamps included.
func TestGORM(t *testing.T) {
	urls := dbtest.Postgres(t, 3)
	gormsuite.Run(t, gormsuite.Env{
		Dialect:   "postgres",
		Open:      func(t *testing.T) *gorm.DB { return openGorm(t, dbtest.DSN(urls)) },
		Direct:    dbtest.Open(t, urls),
		Digest:    func(t testing.TB, db *sql.DB, table, _ string) string { return dbtest.Checksum(t, db, table) },
		ForUpdate: true,
	})
}

// TestGORMConcurrentCreates: 8 goroutines creating rows get unique ids and
// identical rows everywhere.
func TestGORMConcurrentCreates(t *testing.T) {
	urls := dbtest.Postgres(t, 3)
	cl := &cluster{direct: dbtest.Open(t, urls), urls: urls}
	g := openGorm(t, dbtest.DSN(urls))
	if err := g.AutoMigrate(&gUser{}, &gOrder{}, &gLanguage{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	ids := make(chan uint64, 8*25)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				u := gUser{Name: fmt.Sprintf("w%d-%d", w, i)}
				if err := g.Create(&u).Error; err != nil {
					t.Error(err)
					return
				}
				ids <- u.ID
			}
		}()
	}
	wg.Wait()
	close(ids)
	seen := map[uint64]bool{}
	for id := range ids {
		if seen[id] {
			t.Fatalf("id %d given twice", id)
		}
		seen[id] = true
	}
	if len(seen) != 200 {
		t.Fatalf("%d ids", len(seen))
	}
	waitAppliedDB(t, g)
	dbtest.Converged(t, cl.direct, "users")
}

// waitAppliedDB waits until nothing is pending anywhere, through a GORM handle.
func waitAppliedDB(t *testing.T, g *gorm.DB) {
	t.Helper()
	sqlDB, err := g.DB()
	if err != nil {
		t.Fatal(err)
	}
	// A write that takes every key waits for everything before it.
	if _, err := sqlDB.Exec(`CREATE TABLE IF NOT EXISTS calibrated_test_barrier (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkGORM: a GORM Create (bigserial id, in GORM's default
// transaction) and a GORM update in a transaction, through calibrated over
// 2 backends against GORM on one backend directly, paired per iteration.
func BenchmarkGORM(b *testing.B) {
	direct, err := gorm.Open(postgres.New(postgres.Config{DSN: dbtest.Postgres(b, 1)[0]}), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		b.Fatal(err)
	}
	cal, err := gorm.Open(postgres.New(postgres.Config{DriverName: "calibrated", DSN: dbtest.DSN(dbtest.Postgres(b, 2))}), &gorm.Config{Logger: logger.Discard})
	if err != nil {
		b.Fatal(err)
	}
	for _, g := range []*gorm.DB{direct, cal} {
		if err := g.AutoMigrate(&gUser{}, &gOrder{}, &gLanguage{}); err != nil {
			b.Fatal(err)
		}
		if sqlDB, err := g.DB(); err == nil {
			b.Cleanup(func() { sqlDB.Close() })
		}
	}
	create := func(g *gorm.DB) func(int) error {
		return func(i int) error { return g.Create(&gUser{Name: fmt.Sprint("u", i), Age: i}).Error }
	}
	update := func(g *gorm.DB) func(int) error {
		return func(i int) error {
			return g.Transaction(func(tx *gorm.DB) error {
				return tx.Model(&gUser{}).Where("id = ?", i%50+1).Update("age", i).Error
			})
		}
	}
	b.Run("create", func(b *testing.B) { paired(b, create(direct), create(cal)) })
	b.Run("update-in-tx", func(b *testing.B) { paired(b, update(direct), update(cal)) })
}
