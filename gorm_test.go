package calibrated

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
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

func openGorm(t *testing.T, cl *cluster, dsn string) *gorm.DB {
	t.Helper()
	g, err := gorm.Open(postgres.New(postgres.Config{DriverName: "calibrated", DSN: dsn}), &gorm.Config{Logger: logger.Discard})
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

// TestGORM runs what GORM users normally do through calibrated over three
// backends, checking after every step that each table is identical on all
// of them, ids and timestamps included.
func TestGORM(t *testing.T) {
	urls := dbtest.Postgres(t, 3)
	cl := &cluster{direct: dbtest.Open(t, urls), urls: urls}
	g := openGorm(t, cl, dbtest.DSN(urls))
	check := func(step string) {
		t.Helper()
		waitAppliedDB(t, g)
		for _, table := range gormTables {
			if t.Failed() {
				return
			}
			dbtest.Converged(t, cl.direct, table)
		}
		if t.Failed() {
			t.Fatalf("after %s the backends differ", step)
		}
	}
	must := func(step string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}

	must("AutoMigrate", g.AutoMigrate(&gUser{}, &gOrder{}, &gLanguage{}))
	must("AutoMigrate again", g.AutoMigrate(&gUser{}, &gOrder{}, &gLanguage{}))
	check("AutoMigrate")

	alice := gUser{Name: "alice", Email: strp("alice@example.com"), Age: 30}
	must("Create", g.Create(&alice).Error)
	if alice.ID == 0 {
		t.Fatal("Create did not set the id")
	}
	batch := []gUser{{Name: "bob", Email: strp("bob@example.com")}, {Name: "carol", Email: strp("carol@example.com")}, {Name: "dave"}}
	must("Create batch", g.Create(&batch).Error)
	if batch[2].ID != alice.ID+3 {
		t.Fatalf("batch ids %d %d %d after %d", batch[0].ID, batch[1].ID, batch[2].ID, alice.ID)
	}
	check("Create")

	var u gUser
	must("First", g.First(&u, alice.ID).Error)
	if u.Name != "alice" || u.CreatedAt.IsZero() {
		t.Fatalf("First gave %+v", u)
	}
	var users []gUser
	must("Find", g.Where("age >= ?", 0).Order("id").Find(&users).Error)
	if len(users) != 4 {
		t.Fatalf("Find gave %d users", len(users))
	}

	must("Updates", g.Model(&alice).Updates(map[string]any{"age": 31, "name": "alice b"}).Error)
	u.Age = 40
	must("Save", g.Save(&u).Error)
	must("Update column", g.Model(&gUser{}).Where("name = ?", "bob").Update("age", 22).Error)
	check("Updates")

	orders := []gOrder{{UserID: alice.ID, Amount: 10}, {UserID: alice.ID, Amount: 20, Status: "paid"}, {UserID: batch[0].ID, Amount: 5}}
	must("Create orders", g.Create(&orders).Error)
	must("association", g.Model(&alice).Association("Languages").Append(&gLanguage{Code: "en", Name: "English"}, &gLanguage{Code: "fr", Name: "French"}))
	check("associations")

	var withOrders gUser
	must("Preload", g.Preload("Orders").Preload("Languages").First(&withOrders, alice.ID).Error)
	if len(withOrders.Orders) != 2 || len(withOrders.Languages) != 2 {
		t.Fatalf("Preload gave %d orders, %d languages", len(withOrders.Orders), len(withOrders.Languages))
	}
	var joined []gOrder
	must("Joins", g.Joins("JOIN users ON users.id = orders.user_id").Where("users.name = ?", "bob").Find(&joined).Error)
	if len(joined) != 1 {
		t.Fatalf("Joins gave %d orders", len(joined))
	}
	var n int64
	must("Count", g.Model(&gOrder{}).Where("user_id = ?", alice.ID).Count(&n).Error)
	if n != 2 {
		t.Fatalf("Count = %d", n)
	}

	must("soft Delete", g.Delete(&batch[2]).Error)
	must("Count after soft delete", g.Model(&gUser{}).Count(&n).Error)
	if n != 3 {
		t.Fatalf("%d users after soft delete", n)
	}
	must("Unscoped Delete", g.Unscoped().Delete(&orders[2]).Error)
	check("Delete")

	// Upserts.
	must("upsert", g.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "code"}},
		DoUpdates: clause.AssignmentColumns([]string{"name"}),
	}).Create(&gLanguage{Code: "en", Name: "English (UK)"}).Error)
	must("upsert do nothing", g.Clauses(clause.OnConflict{DoNothing: true}).Create(&[]gLanguage{{Code: "fr", Name: "x"}, {Code: "de", Name: "German"}}).Error)
	var langs []gLanguage
	must("languages", g.Order("code").Find(&langs).Error)
	if len(langs) != 3 || langs[1].Name != "English (UK)" {
		t.Fatalf("languages after upserts: %+v", langs)
	}
	check("upserts")

	// A transaction with a nested transaction that rolls back.
	errNested := errors.New("nested gives up")
	must("Transaction", g.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&gUser{Name: "erin", Email: strp("erin@example.com")}).Error; err != nil {
			return err
		}
		err := tx.Transaction(func(tx2 *gorm.DB) error {
			if err := tx2.Create(&gUser{Name: "frank"}).Error; err != nil {
				return err
			}
			if err := tx2.Model(&gUser{}).Where("id = ?", alice.ID).Update("age", 99).Error; err != nil {
				return err
			}
			return errNested
		})
		if !errors.Is(err, errNested) {
			return fmt.Errorf("nested transaction: %v", err)
		}
		return tx.Model(&gOrder{}).Where("id = ?", orders[0].ID).Update("amount", 11).Error
	}))
	var erin, frank int64
	must("count erin", g.Model(&gUser{}).Where("name = ?", "erin").Count(&erin).Error)
	must("count frank", g.Model(&gUser{}).Where("name = ?", "frank").Count(&frank).Error)
	must("alice", g.First(&u, alice.ID).Error)
	if erin != 1 || frank != 0 || u.Age == 99 {
		t.Fatalf("after nested rollback: erin %d, frank %d, alice's age %d", erin, frank, u.Age)
	}
	check("transactions")

	// FOR UPDATE locking inside a transaction.
	must("FOR UPDATE", g.Transaction(func(tx *gorm.DB) error {
		var locked gUser
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&locked, alice.ID).Error; err != nil {
			return err
		}
		return tx.Model(&locked).Update("age", locked.Age+1).Error
	}))
	check("FOR UPDATE")

	// What the last backend holds, read directly: the converged data is the real data.
	var rows, deleted, sumAge int64
	if err := cl.direct[2].QueryRow(`SELECT count(*), count(deleted_at), sum(age) FROM users`).Scan(&rows, &deleted, &sumAge); err != nil {
		t.Fatal(err)
	}
	if rows != 5 || deleted != 1 || sumAge != 40+1+22 { // alice: Save(40), then +1 under FOR UPDATE; bob: 22
		t.Fatalf("backend c: %d users, %d soft-deleted, ages summing to %d", rows, deleted, sumAge)
	}

	// A unique violation is GORM's own error, and changes nothing anywhere.
	if err := g.Create(&gUser{Name: "dup", Email: strp("alice@example.com")}).Error; !errors.Is(err, gorm.ErrDuplicatedKey) && err == nil {
		t.Fatal("duplicate email accepted")
	}
	check("duplicate")
}

// TestGORMConcurrentCreates: 8 goroutines creating rows get unique ids and
// identical rows everywhere.
func TestGORMConcurrentCreates(t *testing.T) {
	urls := dbtest.Postgres(t, 3)
	cl := &cluster{direct: dbtest.Open(t, urls), urls: urls}
	g := openGorm(t, cl, dbtest.DSN(urls))
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
