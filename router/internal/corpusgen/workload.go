package main

import (
	"errors"
	"reflect"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/calibrated/calibrated/router/internal/corpusgen/models"
	"github.com/calibrated/calibrated/router/internal/corpusgen/models/lite"
)

// kit makes the values of a corpus's user and order models.
type kit struct {
	user, order reflect.Type // struct types
	now         string       // the dialect's SQL for the current time
}

var (
	explicitKit = kit{user: reflect.TypeFor[models.User](), order: reflect.TypeFor[models.Order](), now: "NOW()"}
	liteKit     = kit{user: reflect.TypeFor[lite.User](), order: reflect.TypeFor[lite.Order](), now: "CURRENT_TIMESTAMP"}
)

// model is a new, empty user.
func (k kit) model() any { return reflect.New(k.user).Interface() }

// users is a pointer to a new, empty slice of users.
func (k kit) users() any { return reflect.New(reflect.SliceOf(k.user)).Interface() }

// orders is a pointer to a new, empty slice of orders.
func (k kit) orders() any { return reflect.New(reflect.SliceOf(k.order)).Interface() }

// newUser is a user; an empty email or a negative age is left NULL.
func (k kit) newUser(name, email string, age int64) any {
	v := reflect.New(k.user)
	e := v.Elem()
	e.FieldByName("Name").SetString(name)
	if email != "" {
		e.FieldByName("Email").Set(reflect.ValueOf(&email))
	}
	if age >= 0 {
		e.FieldByName("Age").Set(reflect.ValueOf(&age))
	}
	return v.Interface()
}

// userSlice is a pointer to a slice holding the users us.
func (k kit) userSlice(us ...any) any {
	s := reflect.New(reflect.SliceOf(k.user))
	for _, u := range us {
		s.Elem().Set(reflect.Append(s.Elem(), reflect.ValueOf(u).Elem()))
	}
	return s.Interface()
}

func (k kit) newOrder(userID uint, amount int64, status string) any {
	v := reflect.New(k.order)
	e := v.Elem()
	e.FieldByName("UserID").SetUint(uint64(userID))
	e.FieldByName("Amount").SetInt(amount)
	e.FieldByName("Status").SetString(status)
	return v.Interface()
}

// withAssociations gives user u the orders os and the languages ls.
func (k kit) withAssociations(u any, ls []models.Language, os ...any) any {
	e := reflect.ValueOf(u).Elem()
	s := reflect.MakeSlice(reflect.SliceOf(k.order), 0, len(os))
	for _, o := range os {
		s = reflect.Append(s, reflect.ValueOf(o).Elem())
	}
	e.FieldByName("Orders").Set(s)
	e.FieldByName("Languages").Set(reflect.ValueOf(ls))
	return u
}

// setID sets the primary key of a user or an order.
func setID(v any, id uint) { reflect.ValueOf(v).Elem().FieldByName("ID").SetUint(uint64(id)) }

// idOf is the primary key of a user or an order.
func idOf(v any) uint { return uint(reflect.ValueOf(v).Elem().FieldByName("ID").Uint()) }

// emailOnly is a user with only an email, a condition.
func (k kit) emailOnly(email string) any { return k.newUser("", email, -1) }

var errRollback = errors.New("corpusgen: roll the nested transaction back")

// workload runs what the corpus records, then the raw statements in a
// DryRun session.
func workload(db *gorm.DB, rec *recorder, k kit, raw []string) error {
	var e errs
	m := db.Migrator()

	// Schema: AutoMigrate creates; the migrator changes columns; a second
	// AutoMigrate of the tables that exist inspects them (and, on SQLite,
	// brings back the indexes a table rebuilt lost); then index and table
	// changes.
	e.checkErr("AutoMigrate", db.AutoMigrate(k.model(), &models.Language{}, reflect.New(k.order).Interface(), &models.AuditLog{}, &models.Account{}))
	if db.Dialector.Name() == "sqlite" {
		e.checkErr("AutoMigrate tokens", db.AutoMigrate(&models.Token{}))
	}
	e.checkErr("AddColumn", m.AddColumn(&models.NickUser{}, "Nickname"))
	e.checkErr("AlterColumn", m.AlterColumn(&models.NickUser{}, "Nickname"))
	e.checkErr("RenameColumn", m.RenameColumn(&models.NickUser{}, "nickname", "nick"))
	e.checkErr("DropColumn", m.DropColumn(k.model(), "nick"))
	e.checkErr("AutoMigrate again", db.AutoMigrate(k.model(), &models.Language{}, reflect.New(k.order).Interface()))
	e.checkErr("DropIndex", m.DropIndex(k.model(), "idx_users_deleted_at"))
	e.checkErr("CreateIndex", m.CreateIndex(k.model(), "DeletedAt"))
	_ = m.HasTable(&models.AuditLog{})
	_ = m.HasColumn(&models.AuditLog{}, "at")
	_, _ = m.ColumnTypes(&models.AuditLog{})
	_, _ = m.GetIndexes(k.model())
	_, _ = m.GetTables()
	e.checkErr("RenameTable", m.RenameTable(&models.AuditLog{}, "audit_log_archive"))
	e.checkErr("DropTable", m.DropTable("audit_log_archive"))
	e.checkErr("AutoMigrate audit_logs", db.AutoMigrate(&models.AuditLog{}))

	// Create and batch create.
	ann := k.newUser("ann", "ann@example.com", 30)
	e.check("Create", db.Create(ann))
	bob := k.newUser("bob", "bob@example.com", 41)
	e.check("Select Create", db.Select("Name", "Email").Create(bob))
	cid := k.newUser("cid", "cid@example.com", 25)
	e.check("Omit Create", db.Omit("Age").Create(cid))
	e.check("Create default", db.Create(&models.AuditLog{Action: "login"}))
	e.check("Create batch", db.Create(k.userSlice(
		k.newUser("dan", "dan@example.com", 19), k.newUser("eve", "eve@example.com", 52), k.newUser("fay", "fay@example.com", 33))))
	e.check("CreateInBatches", db.CreateInBatches(k.userSlice(
		k.newUser("gus", "gus@example.com", 20), k.newUser("hal", "hal@example.com", 21), k.newUser("ivy", "ivy@example.com", 22),
		k.newUser("jon", "jon@spam.example", 23), k.newUser("kim", "kim@spam.example", 24)), 3))
	e.check("Create map", db.Model(k.model()).Create(map[string]any{"name": "lee", "email": "lee@example.com"}))
	mia := k.withAssociations(k.newUser("mia", "mia@example.com", 28),
		[]models.Language{{Code: "en", Name: "English"}, {Code: "fr", Name: "French"}},
		k.newOrder(0, 100, "pending"), k.newOrder(0, 250, "paid"))
	e.check("Create associations", db.Create(mia))
	e.check("Create account", db.Create(&models.Account{ID: 1, Balance: 100}))
	e.check("Create account 2", db.Create(&models.Account{ID: 2, Balance: 100}))
	var sum int64
	e.check("Raw sum", db.Raw("SELECT sum(balance) FROM accounts").Scan(&sum))
	if db.Dialector.Name() == "sqlite" {
		e.check("Create token", db.Create(&models.Token{}))
	}

	// Finds.
	annID, miaID := idOf(ann), idOf(mia)
	e.check("First", db.First(k.model()))
	e.check("First pk", db.First(ann, annID))
	e.check("First cond", db.First(ann, "id = ?", annID))
	e.check("Take", db.Take(ann))
	e.check("Last", db.Last(ann))
	e.check("Find pks", db.Find(k.users(), []uint{annID, idOf(bob), idOf(cid)}))
	e.check("Where First", db.Where("name = ?", "ann").First(ann))
	e.check("Where <>", db.Where("name <> ?", "ann").Find(k.users()))
	e.check("Where IN", db.Where("name IN ?", []string{"ann", "bob"}).Find(k.users()))
	e.check("Where LIKE", db.Where("name LIKE ?", "%a%").Find(k.users()))
	e.check("Where AND", db.Where("name = ? AND age >= ?", "ann", 18).Find(k.users()))
	day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e.check("Where time", db.Where("created_at > ?", day).Find(k.users()))
	e.check("Where BETWEEN", db.Where("created_at BETWEEN ? AND ?", day, day.AddDate(1, 0, 0)).Find(k.users()))
	e.check("Where struct", db.Where(k.newUser("ann", "", 30)).First(ann))
	e.check("Where map", db.Where(map[string]any{"name": "ann", "age": 30}).Find(k.users()))
	e.check("Not", db.Not("name = ?", "bob").First(ann))
	e.check("Not map", db.Not(map[string]any{"name": []string{"bob", "cid"}}).Find(k.users()))
	e.check("Or", db.Where("name = ?", "ann").Or("name = ?", "bob").Find(k.users()))
	e.check("Or group", db.Where("id = ?", annID).Or(db.Where("email = ?", "bob@example.com").Where("age > ?", 3)).Find(k.users()))
	e.check("Select", db.Select("name", "age").Find(k.users()))
	e.check("Order Limit Offset", db.Order("age desc, name").Limit(10).Offset(5).Find(k.users()))
	var totals []struct {
		Name  string
		Total int64
	}
	e.check("Group Having", db.Model(k.model()).Select("name, sum(age) as total").Group("name").Having("sum(age) > ?", 10).Find(&totals))
	e.check("Distinct", db.Distinct("name", "age").Order("name").Find(k.users()))
	e.check("Unscoped Where", db.Unscoped().Where("id = ?", annID).Find(k.users()))
	var ids []uint
	e.check("Pluck", db.Model(k.model()).Where("age > ?", 20).Pluck("id", &ids))
	var names []string
	e.check("Pluck name", db.Model(k.model()).Pluck("name", &names))
	e.check("Pluck Limit", db.Model(k.model()).Where("id = ?", annID).Limit(1).Pluck("name", &names))
	e.check("Subquery", db.Where("age > (?)", db.Table("users").Select("AVG(age)")).Find(k.users()))
	e.check("Subquery IN", db.Where("id IN (?)", db.Table("orders").Select("user_id").Where("amount > ?", 10)).Find(k.users()))
	var rows []map[string]any
	e.check("From subquery", db.Table("(?) as u", db.Model(k.model()).Select("name", "age")).Where("age = ?", 30).Find(&rows))
	e.check("First email", db.Where("email = ?", "ann@example.com").First(k.model()))
	e.check("Where First email", db.Where("email = ?", "ann@example.com").First(ann))
	e.check("FirstOrCreate", db.FirstOrCreate(ann, k.emailOnly("ann@example.com")))
	e.check("Find age", db.Where("age > ?", 20).Find(k.users()))
	e.check("Unscoped deleted", db.Unscoped().Where("deleted_at IS NOT NULL").Find(k.users()))
	var nameAges []struct {
		Name string
		Age  int64
	}
	e.check("Scan", db.Model(k.model()).Select("name, age").Where("name = ?", "ann").Scan(&nameAges))

	// Locking reads.
	e.check("FOR UPDATE", db.Clauses(clause.Locking{Strength: "UPDATE"}).First(ann, "id = ?", annID))
	if db.Dialector.Name() != "sqlite" {
		// MariaDB, which may stand in for MySQL, lacks FOR SHARE: the
		// statement is what matters.
		_ = db.Clauses(clause.Locking{Strength: "SHARE", Options: "NOWAIT"}).Find(k.users())
		e.check("SKIP LOCKED", db.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"}).Where("status = ?", "pending").Limit(1).Find(k.orders()))
	}

	// Preloads and joins.
	e.check("Preload", db.Preload("Orders").Preload("Languages").Find(k.users()))
	e.check("Preload one", db.Preload("Orders").Preload("Languages").Where("id = ?", miaID).Find(k.users()))
	e.check("Preload cond", db.Preload("Orders", "status = ?", "paid").Where("id = ?", miaID).Find(k.users()))
	e.check("Joins", db.Joins("User").Find(k.orders()))
	e.check("Joins Where", db.Joins("User").Where(clause.Eq{Column: clause.Column{Table: "User", Name: "name"}, Value: "mia"}).Find(k.orders()))
	if db.Dialector.Name() == "sqlite" { // USER is a keyword elsewhere
		e.check("Joins Where text", db.Joins("User").Where("User.name = ?", "mia").Find(k.orders()))
	}
	e.check("InnerJoins", db.InnerJoins("User").Where("orders.amount > ?", 10).Find(k.orders()))
	var pairs []struct {
		Name   string
		Amount int64
	}
	e.check("Joins raw", db.Model(k.model()).Select("users.name, orders.amount").Joins("left join orders on orders.user_id = users.id").Where("users.id = ?", miaID).Scan(&pairs))
	e.check("Joins raw Table", db.Table("users").Select("users.name, orders.amount").Joins("left join orders on orders.user_id = users.id").Where("users.id = ?", miaID).Scan(&pairs))
	var counts []struct {
		Name  string
		Count int64
	}
	e.check("Joins args", db.Table("users").Select("users.name, count(orders.id)").Joins("JOIN orders ON orders.user_id = users.id AND orders.amount > ?", 10).Group("users.name").Scan(&counts))
	e.check("Joins args Model", db.Model(k.model()).Select("users.name, count(orders.id)").Joins("JOIN orders ON orders.user_id = users.id AND orders.amount > ?", 10).Group("users.name").Scan(&counts))

	// Counts.
	var n int64
	e.check("Count", db.Model(k.model()).Count(&n))
	e.check("Count Where", db.Model(k.model()).Where("name = ?", "ann").Count(&n))
	e.check("Count Distinct", db.Model(k.model()).Distinct("name").Count(&n))
	e.check("Count Table", db.Table("orders").Where("user_id = ?", miaID).Count(&n))

	// Updates.
	e.check("Update", db.Model(ann).Update("name", "ann2"))
	e.check("Update Where", db.Model(k.model()).Where("age > ?", 50).Update("name", "elder"))
	e.check("Updates struct", db.Model(ann).Updates(k.newUser("ann3", "", 31)))
	e.check("Updates map", db.Model(ann).Updates(map[string]any{"name": "ann4", "age": 32}))
	e.check("Update Expr", db.Model(ann).Update("age", gorm.Expr("age + ?", 1)))
	e.check("UpdateColumn Expr", db.Model(ann).UpdateColumn("age", gorm.Expr("age * ? + ?", 2, 1)))
	e.check("UpdateColumns", db.Model(ann).UpdateColumns(k.newUser("ann", "", 30)))
	e.check("Update IN", db.Model(k.model()).Where("id IN ?", []uint{annID, idOf(bob), idOf(cid)}).Update("age", 30))
	e.check("Update now", db.Model(k.model()).Where("id = ?", annID).Update("updated_at", gorm.Expr(k.now)))
	e.check("Update now pk", db.Model(ann).Update("updated_at", gorm.Expr(k.now)))
	e.check("Unscoped UpdateColumn", db.Unscoped().Model(k.model()).Where("id = ?", annID).UpdateColumn("name", gorm.Expr("UPPER(name)")))
	e.check("Update Expr pk", db.Model(ann).Update("name", gorm.Expr("UPPER(name)")))
	e.check("Update global", db.Session(&gorm.Session{AllowGlobalUpdate: true}).Model(k.model()).Update("age", 40))
	miaOrders := reflect.ValueOf(mia).Elem().FieldByName("Orders")
	orderID := uint(miaOrders.Index(0).FieldByName("ID").Uint())
	e.check("Update two conds", db.Model(reflect.New(k.order).Interface()).Where("id = ?", orderID).Where("status = ?", "pending").Update("status", "paid"))
	e.check("Update AND", db.Model(reflect.New(k.order).Interface()).Where("id = ? AND status = ?", orderID, "paid").Update("status", "shipped"))
	e.check("Update RETURNING", db.Model(k.users()).Clauses(clause.Returning{}).Where("age > ?", 100).Update("age", 1))
	e.check("Update accounts", db.Model(&models.Account{}).Where("id = ?", 1).UpdateColumn("balance", gorm.Expr("balance + ?", 5)))
	e.check("Save", db.Save(ann))

	// Upserts.
	e.check("DoNothing", db.Clauses(clause.OnConflict{DoNothing: true}).Create(k.newUser("ann", "ann@example.com", 30)))
	ghost := k.newUser("ghost", "ghost@example.com", 60)
	setID(ghost, 4242)
	e.check("Save new", db.Save(ghost))
	e.check("OnConflict columns", db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "email"}},
		DoUpdates: clause.AssignmentColumns([]string{"name", "age"}),
	}).Create(k.userSlice(k.newUser("bob", "bob@example.com", 42), k.newUser("new", "new@example.com", 1))))
	e.check("OnConflict Expr", db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "email"}},
		DoUpdates: clause.Assignments(map[string]any{"age": gorm.Expr("users.age + 1"), "updated_at": gorm.Expr("CURRENT_TIMESTAMP")}),
	}).Create(k.newUser("bob", "bob@example.com", 42)))
	e.check("OnConflict Column", db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "email"}},
		DoUpdates: clause.Assignments(map[string]any{"age": gorm.Expr("? + 1", clause.Column{Table: "users", Name: "age"}), "updated_at": gorm.Expr("CURRENT_TIMESTAMP")}),
	}).Create(k.newUser("bob", "bob@example.com", 42)))

	// Associations.
	langs := func() *gorm.Association { return db.Model(mia).Association("Languages") }
	e.checkErr("Append new", db.Model(ann).Association("Languages").Append(&models.Language{Code: "de", Name: "German"}))
	e.check("Preload single", db.Preload("Languages").First(k.model(), annID))
	e.checkErr("Append", langs().Append(&models.Language{Code: "es", Name: "Spanish"}))
	var en, fr models.Language
	e.check("en", db.Where("code = ?", "en").First(&en))
	e.check("fr", db.Where("code = ?", "fr").First(&fr))
	e.checkErr("Append existing", langs().Append(&en))
	e.checkErr("Replace", langs().Replace(&en))
	e.checkErr("Append fr", langs().Append(&fr))
	e.checkErr("Delete", langs().Delete(&fr))
	_ = langs().Count()
	var found []models.Language
	e.checkErr("Find", langs().Find(&found))
	e.checkErr("Clear", langs().Clear())
	e.check("Create language", db.Create(&models.Language{Code: "xx", Name: "None"}))
	var xx models.Language
	e.check("xx", db.Where("code = ?", "xx").First(&xx))
	e.check("Unscoped Delete language", db.Unscoped().Delete(&xx))
	// Clearing a has-many sets the orders' user_id NULL, which the NOT NULL
	// column refuses: the statement is what matters.
	_ = db.Model(mia).Association("Orders").Clear()

	// Soft and unscoped deletes.
	e.check("Delete", db.Delete(cid))
	e.check("Delete pks", db.Delete(k.model(), []uint{idOf(cid), idOf(bob), idOf(bob)}))
	e.check("Delete LIKE", db.Where("email LIKE ?", "%@spam.example").Delete(k.model()))
	e.check("Delete Where", db.Where("name = ?", "lee").Delete(k.model()))
	e.check("Unscoped Delete", db.Unscoped().Delete(cid))
	e.check("Unscoped Delete Where", db.Unscoped().Where("deleted_at < ?", time.Now().AddDate(1, 0, 0)).Delete(k.model()))
	e.check("Delete RETURNING", db.Clauses(clause.Returning{}).Where("id = ?", orderID).Delete(k.orders()))
	e.check("Select Delete", db.Select("Orders").Delete(mia))

	// Transactions: nested ones are savepoints; the inner one rolls back.
	err := db.Transaction(func(tx *gorm.DB) error {
		if err := tx.Transaction(func(tx2 *gorm.DB) error {
			if err := tx2.Model(k.model()).Where("id = ?", annID).Update("age", 99).Error; err != nil {
				return err
			}
			return errRollback
		}); !errors.Is(err, errRollback) {
			return err
		}
		return tx.Clauses(clause.Locking{Strength: "UPDATE"}).First(k.model(), annID).Error
	})
	e.checkErr("Transaction", err)
	err = db.Transaction(func(tx *gorm.DB) error {
		o := k.newOrder(annID, 10, "new")
		if err := tx.Create(o).Error; err != nil {
			return err
		}
		if err := tx.SavePoint("sp1").Error; err != nil {
			return err
		}
		if err := tx.Model(reflect.New(k.order).Interface()).Where("id = ?", idOf(o)).Update("amount", 0).Error; err != nil {
			return err
		}
		return tx.RollbackTo("sp1").Error
	})
	e.checkErr("Transaction savepoint", err)
	tx := db.Begin()
	e.check("Begin", tx)
	e.check("tx Update", tx.Model(&models.Account{}).Where("id = ?", 2).UpdateColumn("balance", gorm.Expr("balance + ?", 1)))
	e.check("Rollback", tx.Rollback())

	// The models of GORM's own tests.
	gdb, err := gormTestsDB(db)
	e.checkErr("gormtests", err)
	if err == nil {
		e.checkErr("gormtests", gormTestsWorkload(gdb))
	}

	// Statements written by hand, as GORM hands them to the driver.
	dry := db.Session(&gorm.Session{DryRun: true})
	for _, q := range raw {
		st := dry.Exec(q)
		e.check("raw "+q, st)
		rec.add(st.Statement.SQL.String())
	}
	return e.err()
}
