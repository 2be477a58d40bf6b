package main

import (
	"database/sql"
	"errors"
	"reflect"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	gt "github.com/calibrated/calibrated/router/internal/corpusgen/models/gormtests"
)

// gormTestsWorkload runs, on the models of GORM's own tests, what those
// tests exercise most: nested associations (has one, has many, belongs to,
// polymorphic, self-referential, many2many to itself), preloads of all
// associations and nested ones, joins of a belongs-to and of a
// self-reference, association modes, batches and deletes with associations.
// Its tables have the prefix gt_ (gormTests).
func gormTestsWorkload(db *gorm.DB) error {
	var e errs
	// AutoMigrate orders tables by ranging over maps, so with these models
	// its order changes from run to run: the tables are created one by one,
	// each after those it references.
	m := db.Migrator()
	e.checkErr("CreateTable", m.CreateTable(&gt.Company{}, &gt.Language{}, &gt.User{}))
	st := &gorm.Statement{DB: db}
	e.checkErr("Parse", st.Parse(&gt.User{}))
	if st.Schema != nil {
		for _, name := range []string{"Languages", "Friends"} {
			e.checkErr("CreateTable "+name, m.CreateTable(reflect.New(st.Schema.Relationships.Relations[name].JoinTable.ModelType).Interface()))
		}
	}
	e.checkErr("CreateTable has", m.CreateTable(&gt.Account{}, &gt.Pet{}, &gt.Toy{}, &gt.Tools{}))

	birthday := time.Date(2000, 1, 2, 3, 4, 5, 0, time.UTC)
	manager := gt.User{Name: "boss", Age: 50}
	e.check("Create manager", db.Create(&manager))
	user := gt.User{
		Name:      "pat",
		Age:       20,
		Birthday:  &birthday,
		Account:   gt.Account{Number: "acc-1"},
		Pets:      []*gt.Pet{{Name: "rex", Toy: gt.Toy{Name: "ball"}}, {Name: "tom"}},
		Toys:      []gt.Toy{{Name: "kite"}},
		Tools:     []gt.Tools{{Name: "saw"}},
		Company:   gt.Company{Name: "acme"},
		Manager:   &manager,
		Languages: []gt.Language{{Code: "en", Name: "English"}, {Code: "fr", Name: "French"}},
		Friends:   []*gt.User{{Name: "sam"}},
		Active:    true,
	}
	e.check("Create nested", db.Create(&user))
	e.check("Create batch", db.CreateInBatches([]gt.User{{Name: "b1"}, {Name: "b2"}, {Name: "b3"}}, 2))

	var got gt.User
	e.check("Preload all", db.Preload(clause.Associations).First(&got, user.ID))
	e.check("Preload nested", db.Preload("Pets.Toy").Preload("Team").Preload("Friends").First(&got, user.ID))
	e.check("Joins belongs-to", db.Joins("Company").Joins("Manager").First(&got, user.ID))
	e.check("Joins has-one", db.Joins("Account").Where(clause.Eq{Column: clause.Column{Table: "Account", Name: "number"}, Value: "acc-1"}).Find(&[]gt.User{}))
	e.check("Joins on", db.Joins("Company", db.Where(&gt.Company{Name: "acme"})).Find(&[]gt.User{}))
	var batch []gt.User
	e.check("FindInBatches", db.FindInBatches(&batch, 2, func(*gorm.DB, int) error { return nil }))
	e.check("Scopes", db.Scopes(func(d *gorm.DB) *gorm.DB { return d.Where("active = ?", true) }).Find(&[]gt.User{}))
	rows, err := db.Model(&gt.User{}).Where("age > ?", 10).Rows()
	if err == nil {
		for rows.Next() {
			var u gt.User
			e.checkErr("ScanRows", db.ScanRows(rows, &u))
		}
		e.checkErr("rows", errors.Join(rows.Err(), rows.Close()))
	}
	e.checkErr("Rows", err)
	var n int64
	e.check("Count Joins", db.Model(&gt.User{}).Joins("Company").Where(clause.Eq{Column: clause.Column{Table: "Company", Name: "name"}, Value: "acme"}).Count(&n))

	// Association mode, on every kind of association.
	a := func(name string) *gorm.Association { return db.Model(&user).Association(name) }
	e.checkErr("Append has-one", a("Account").Append(&gt.Account{Number: "acc-2"}))
	e.checkErr("Append has-many", a("Pets").Append(&gt.Pet{Name: "kit"}))
	e.checkErr("Append polymorphic", a("Toys").Append(&gt.Toy{Name: "yoyo"}))
	e.checkErr("Replace belongs-to", a("Company").Replace(&gt.Company{Name: "initech"}))
	e.checkErr("Replace self", a("Manager").Replace(&gt.User{Name: "boss2"}))
	e.checkErr("Append many2many", a("Languages").Append(&gt.Language{Code: "de", Name: "German"}))
	e.checkErr("Replace many2many", a("Languages").Replace(&gt.Language{Code: "en", Name: "English"}))
	e.checkErr("Delete self many2many", a("Friends").Delete(user.Friends[0]))
	var pets []gt.Pet
	e.checkErr("Find has-many", a("Pets").Find(&pets, "name <> ?", "x"))
	_ = a("Toys").Count()
	e.checkErr("Clear polymorphic", a("Toys").Clear())
	e.checkErr("Unscoped Clear", db.Model(&user).Association("Pets").Unscoped().Clear())

	// Saving with every association, and deleting with them.
	user.Name = "pat2"
	e.check("FullSaveAssociations", db.Session(&gorm.Session{FullSaveAssociations: true}).Save(&user))
	e.check("Omit associations", db.Omit(clause.Associations).Create(&gt.User{Name: "lone", Account: gt.Account{Number: "x"}}))
	e.check("Update Omit", db.Model(&user).Omit("Age").Updates(map[string]any{"name": "pat3", "age": 3, "active": false}))
	// Select(clause.Associations).Delete deletes the associations in map
	// order; one at a time, the statements come in one order.
	for _, name := range []string{"Account", "Pets", "Toys", "Tools", "Languages", "Friends"} {
		e.check("Select Delete "+name, db.Select(name).Delete(&user))
	}
	e.check("Unscoped Delete", db.Unscoped().Where("name = ?", "b1").Delete(&gt.User{}))
	e.check("NullInt64", db.Where("user_id IS NULL OR user_id = ?", sql.NullInt64{Int64: 1, Valid: true}).Find(&[]gt.Account{}))
	return e.err()
}

// gormTestsDB is a session over db whose tables have the prefix gt_.
func gormTestsDB(db *gorm.DB) (*gorm.DB, error) {
	cfg := gormConfig()
	cfg.NamingStrategy = schema.NamingStrategy{TablePrefix: "gt_"}
	return gorm.Open(db.Dialector, cfg)
}
