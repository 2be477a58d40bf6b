// Package gormsuite is one GORM behavioural suite, run through calibrated
// for each dialect over several backends (DESIGN §3 P8): after every step
// every table must be identical on every backend, ids and timestamps
// included. The root package runs it for PostgreSQL and MySQL; the SQLite
// run lives in this package's tests, because the pure-Go GORM dialect for
// SQLite (github.com/glebarez/sqlite) registers its own database/sql driver
// "sqlite", as modernc.org/sqlite does, and one binary cannot hold both.
package gormsuite

import (
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Env is one dialect's setting for the suite.
type Env struct {
	Dialect string
	// Open returns a GORM handle through calibrated over the backends.
	Open func(t *testing.T) *gorm.DB
	// Direct are the backends, opened directly.
	Direct []*sql.DB
	// Digest returns a digest of a table's rows on one backend, in the
	// order given.
	Digest func(t testing.TB, db *sql.DB, table, orderBy string) string
	// ForUpdate: the dialect has SELECT … FOR UPDATE.
	ForUpdate bool
}

// User is a gorm.Model-shaped user with orders and languages.
type User struct {
	ID        uint64  `gorm:"primaryKey"`
	Name      string  `gorm:"size:100;not null"`
	Email     *string `gorm:"size:191;uniqueIndex"`
	Age       int
	Orders    []Order    `gorm:"foreignKey:UserID"`
	Languages []Language `gorm:"many2many:user_languages;joinForeignKey:UserID;joinReferences:LanguageID"`
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt gorm.DeletedAt `gorm:"index"`
}

// TableName implements GORM's Tabler.
func (User) TableName() string { return "users" }

// UserV2 is User after a migration: a longer name, a fractional age (on
// SQLite, GORM rebuilds the table to change a column's type) and a new
// column.
type UserV2 struct {
	ID        uint64  `gorm:"primaryKey"`
	Name      string  `gorm:"size:200;not null"`
	Email     *string `gorm:"size:191;uniqueIndex"`
	Age       float64
	Nickname  string `gorm:"size:50"`
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt gorm.DeletedAt `gorm:"index"`
}

// TableName implements GORM's Tabler.
func (UserV2) TableName() string { return "users" }

// Order belongs to a user.
type Order struct {
	ID        uint64 `gorm:"primaryKey"`
	UserID    uint64 `gorm:"not null;index"`
	Amount    int64
	Status    string `gorm:"size:32;default:pending"`
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt gorm.DeletedAt `gorm:"index"`
}

// TableName implements GORM's Tabler.
func (Order) TableName() string { return "orders" }

// Language is many-to-many with users.
type Language struct {
	ID   uint64 `gorm:"primaryKey"`
	Code string `gorm:"size:8;uniqueIndex"`
	Name string `gorm:"size:64"`
}

// TableName implements GORM's Tabler.
func (Language) TableName() string { return "languages" }

// tables and the order their rows are compared in.
var tables = [][2]string{{"users", "id"}, {"orders", "id"}, {"languages", "id"}, {"user_languages", "user_id, language_id"}}

func strp(s string) *string { return &s }

// Run runs the suite.
func Run(t *testing.T, env Env) {
	g := env.Open(t)
	check := func(step string) {
		t.Helper()
		Barrier(t, g)
		for _, tb := range tables {
			first := env.Digest(t, env.Direct[0], tb[0], tb[1])
			for i, db := range env.Direct[1:] {
				if got := env.Digest(t, db, tb[0], tb[1]); got != first {
					t.Errorf("%s: table %s differs on backend %c", step, tb[0], 'b'+i)
				}
			}
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

	must("AutoMigrate", g.AutoMigrate(&User{}, &Order{}, &Language{}))
	must("AutoMigrate again", g.AutoMigrate(&User{}, &Order{}, &Language{}))
	check("AutoMigrate")

	alice := User{Name: "alice", Email: strp("alice@example.com"), Age: 30}
	must("Create", g.Create(&alice).Error)
	if alice.ID == 0 {
		t.Fatal("Create did not set the id")
	}
	batch := []User{{Name: "bob", Email: strp("bob@example.com")}, {Name: "carol", Email: strp("carol@example.com")}, {Name: "dave"}}
	must("Create batch", g.Create(&batch).Error)
	if batch[0].ID <= alice.ID || batch[1].ID <= batch[0].ID || batch[2].ID <= batch[1].ID {
		t.Fatalf("batch ids %d %d %d after %d", batch[0].ID, batch[1].ID, batch[2].ID, alice.ID)
	}
	check("Create")

	// The ids GORM set are the rows' ids on every backend.
	for _, db := range env.Direct {
		var name string
		if err := db.QueryRow(fmt.Sprintf("SELECT name FROM users WHERE id = %d", batch[2].ID)).Scan(&name); err != nil || name != "dave" {
			t.Fatalf("user %d on a backend: %q, %v; want dave", batch[2].ID, name, err)
		}
	}

	var u User
	must("First", g.First(&u, alice.ID).Error)
	if u.Name != "alice" || u.CreatedAt.IsZero() {
		t.Fatalf("First gave %+v", u)
	}
	var users []User
	must("Find", g.Where("age >= ?", 0).Order("id").Find(&users).Error)
	if len(users) != 4 {
		t.Fatalf("Find gave %d users", len(users))
	}

	must("Updates", g.Model(&alice).Updates(map[string]any{"age": 31, "name": "alice b"}).Error)
	u.Age = 40
	must("Save", g.Save(&u).Error)
	must("Update column", g.Model(&User{}).Where("name = ?", "bob").Update("age", 22).Error)
	check("Updates")

	orders := []Order{{UserID: alice.ID, Amount: 10}, {UserID: alice.ID, Amount: 20, Status: "paid"}, {UserID: batch[0].ID, Amount: 5}}
	must("Create orders", g.Create(&orders).Error)
	must("association", g.Model(&alice).Association("Languages").Append(&Language{Code: "en", Name: "English"}, &Language{Code: "fr", Name: "French"}))
	check("associations")

	var withOrders User
	must("Preload", g.Preload("Orders").Preload("Languages").First(&withOrders, alice.ID).Error)
	if len(withOrders.Orders) != 2 || len(withOrders.Languages) != 2 {
		t.Fatalf("Preload gave %d orders, %d languages", len(withOrders.Orders), len(withOrders.Languages))
	}
	var joined []Order
	must("Joins", g.Joins("JOIN users ON users.id = orders.user_id").Where("users.name = ?", "bob").Find(&joined).Error)
	if len(joined) != 1 {
		t.Fatalf("Joins gave %d orders", len(joined))
	}
	var n int64
	must("Count", g.Model(&Order{}).Where("user_id = ?", alice.ID).Count(&n).Error)
	if n != 2 {
		t.Fatalf("Count = %d", n)
	}

	must("soft Delete", g.Delete(&batch[2]).Error)
	must("Count after soft delete", g.Model(&User{}).Count(&n).Error)
	if n != 3 {
		t.Fatalf("%d users after soft delete", n)
	}
	must("Unscoped Delete", g.Unscoped().Delete(&orders[2]).Error)
	check("Delete")

	must("upsert", g.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "code"}},
		DoUpdates: clause.AssignmentColumns([]string{"name"}),
	}).Create(&Language{Code: "en", Name: "English (UK)"}).Error)
	must("upsert do nothing", g.Clauses(clause.OnConflict{DoNothing: true}).Create(&[]Language{{Code: "fr", Name: "x"}, {Code: "de", Name: "German"}}).Error)
	var langs []Language
	must("languages", g.Order("code").Find(&langs).Error)
	if len(langs) != 3 || langs[1].Name != "English (UK)" {
		t.Fatalf("languages after upserts: %+v", langs)
	}
	check("upserts")

	errNested := errors.New("nested gives up")
	must("Transaction", g.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&User{Name: "erin", Email: strp("erin@example.com")}).Error; err != nil {
			return err
		}
		err := tx.Transaction(func(tx2 *gorm.DB) error {
			if err := tx2.Create(&User{Name: "frank"}).Error; err != nil {
				return err
			}
			if err := tx2.Model(&User{}).Where("id = ?", alice.ID).Update("age", 99).Error; err != nil {
				return err
			}
			return errNested
		})
		if !errors.Is(err, errNested) {
			return fmt.Errorf("nested transaction: %v", err)
		}
		return tx.Model(&Order{}).Where("id = ?", orders[0].ID).Update("amount", 11).Error
	}))
	var erin, frank int64
	must("count erin", g.Model(&User{}).Where("name = ?", "erin").Count(&erin).Error)
	must("count frank", g.Model(&User{}).Where("name = ?", "frank").Count(&frank).Error)
	must("alice", g.First(&u, alice.ID).Error)
	if erin != 1 || frank != 0 || u.Age == 99 {
		t.Fatalf("after nested rollback: erin %d, frank %d, alice's age %d", erin, frank, u.Age)
	}
	check("transactions")

	if env.ForUpdate {
		must("FOR UPDATE", g.Transaction(func(tx *gorm.DB) error {
			var locked User
			if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(&locked, alice.ID).Error; err != nil {
				return err
			}
			return tx.Model(&locked).Update("age", locked.Age+1).Error
		}))
	} else {
		must("update", g.Model(&User{ID: alice.ID}).Update("age", gorm.Expr("age + 1")).Error)
	}
	check("FOR UPDATE")

	// Concurrent Creates: unique ids, identical rows everywhere.
	var wg sync.WaitGroup
	ids := make(chan uint64, 8*10)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				u := User{Name: fmt.Sprintf("w%d-%d", w, i)}
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
	if len(seen) != 80 {
		t.Fatalf("%d ids from concurrent Creates", len(seen))
	}
	check("concurrent Creates")

	// What the last backend holds, read directly: the converged data is the real data.
	var rows, deleted, sumAge int64
	if err := env.Direct[len(env.Direct)-1].QueryRow(`SELECT count(*), count(deleted_at), sum(age) FROM users`).Scan(&rows, &deleted, &sumAge); err != nil {
		t.Fatal(err)
	}
	if rows != 5+80 || deleted != 1 || sumAge != 40+1+22 { // alice: Save(40), then +1; bob: 22
		t.Fatalf("last backend: %d users, %d soft-deleted, ages summing to %d", rows, deleted, sumAge)
	}

	// A unique violation is an error, and changes nothing anywhere.
	if err := g.Create(&User{Name: "dup", Email: strp("alice@example.com")}).Error; err == nil {
		t.Fatal("duplicate email accepted")
	}
	check("duplicate")

	// A second AutoMigrate that alters a column and adds one (SQLite:
	// GORM rebuilds the table with INSERT … SELECT).
	must("AutoMigrate v2", g.AutoMigrate(&UserV2{}))
	must("Create v2", g.Create(&UserV2{Name: "grace", Nickname: "g"}).Error)
	var v2 UserV2
	must("First v2", g.Where("nickname = ?", "g").First(&v2).Error)
	check("AutoMigrate v2")
	if err := env.Direct[len(env.Direct)-1].QueryRow(`SELECT count(*) FROM users`).Scan(&rows); err != nil || rows != 5+80+1 {
		t.Fatalf("after the migration the last backend has %d users, %v", rows, err)
	}
}

// Barrier waits until nothing is pending anywhere, through a GORM handle: a
// write that takes every key waits for everything before it.
func Barrier(t *testing.T, g *gorm.DB) {
	t.Helper()
	sqlDB, err := g.DB()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sqlDB.Exec(`CREATE TABLE IF NOT EXISTS calibrated_test_barrier (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
}
