package calibrated

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"testing"

	"github.com/calibrated/calibrated/internal/dbtest"
	gomysql "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

type nativeParent struct {
	ID    uint   `gorm:"primaryKey"`
	Email string `gorm:"size:64;uniqueIndex"`
}

type nativeChild struct {
	ID       uint `gorm:"primaryKey"`
	ParentID uint
	Parent   nativeParent
}

// TestNativeErrorsGORMMySQL: with errors=native, GORM's MySQL dialector
// (which type-asserts *mysql.MySQLError) translates a duplicate key and a
// foreign key violation, on the anchor-first path (a generated id), on the
// ordered path (an explicit id) and inside a transaction. With the default,
// the same errors are *BackendError with the driver's error inside.
func TestNativeErrorsGORMMySQL(t *testing.T) {
	dsns := dbtest.MySQL(t, 2)
	urls := make([]string, len(dsns))
	for i, d := range dsns {
		urls[i] = "mysql://" + d + "?parseTime=true"
	}
	open := func(t *testing.T, opts ...string) *gorm.DB {
		return openGORM(t, mysql.New(mysql.Config{DriverName: "calibrated", DSN: dbtest.DSN(urls, opts...)}),
			&gorm.Config{Logger: logger.Discard, TranslateError: true})
	}
	if err := open(t).AutoMigrate(&nativeParent{}, &nativeChild{}); err != nil {
		t.Fatal(err)
	}
	// Each case breaks a constraint; n numbers the emails so cases don't collide.
	cases := []struct {
		name string
		want error
		do   func(g *gorm.DB, n int) error
	}{
		{"duplicate, generated id", gorm.ErrDuplicatedKey, func(g *gorm.DB, n int) error {
			email := fmt.Sprintf("dup%d@x", n)
			if err := g.Create(&nativeParent{Email: email}).Error; err != nil {
				return fmt.Errorf("first create: %w", err)
			}
			return g.Create(&nativeParent{Email: email}).Error
		}},
		{"duplicate, explicit id", gorm.ErrDuplicatedKey, func(g *gorm.DB, n int) error {
			id := uint(1000 + n)
			if err := g.Create(&nativeParent{ID: id, Email: fmt.Sprintf("exp%d@x", n)}).Error; err != nil {
				return fmt.Errorf("first create: %w", err)
			}
			return g.Create(&nativeParent{ID: id, Email: fmt.Sprintf("exp%d-2@x", n)}).Error
		}},
		{"foreign key", gorm.ErrForeignKeyViolated, func(g *gorm.DB, n int) error {
			return g.Omit("Parent").Create(&nativeChild{ParentID: 99999}).Error
		}},
		{"duplicate in a transaction", gorm.ErrDuplicatedKey, func(g *gorm.DB, n int) error {
			email := fmt.Sprintf("tx%d@x", n)
			return g.Transaction(func(tx *gorm.DB) error {
				if err := tx.Create(&nativeParent{Email: email}).Error; err != nil {
					return fmt.Errorf("first create: %w", err)
				}
				return tx.Create(&nativeParent{Email: email}).Error
			})
		}},
	}
	n := 0
	for _, tc := range cases {
		t.Run("native/"+tc.name, func(t *testing.T) {
			n++
			err := tc.do(open(t, "errors=native"), n)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %T %v, want %v", err, err, tc.want)
			}
		})
		t.Run("wrapped/"+tc.name, func(t *testing.T) {
			n++
			err := tc.do(open(t), n)
			var be *BackendError
			var me *gomysql.MySQLError
			switch {
			case errors.Is(err, tc.want):
				t.Fatalf("translated without errors=native: %v", err)
			case !errors.As(err, &be) || !errors.As(err, &me):
				t.Fatalf("got %T %v, want a *BackendError around a *mysql.MySQLError", err, err)
			}
		})
	}
}

// TestNativeErrorsPostgres: with errors=native a refused statement fails
// with the *pgconn.PgError itself, as a direct pgx connection would; with
// the default it is wrapped.
func TestNativeErrorsPostgres(t *testing.T) {
	urls := dbtest.Postgres(t, 2)
	setup, _ := openDSN(t, dbtest.DSN(urls))
	mustExec(t, setup, `CREATE TABLE uniq (id int PRIMARY KEY)`)
	mustExec(t, setup, `INSERT INTO uniq VALUES (1)`)
	for _, native := range []bool{true, false} {
		var opts []string
		if native {
			opts = append(opts, "errors=native")
		}
		db, _ := openDSN(t, dbtest.DSN(urls, opts...))
		_, err := db.Exec(`INSERT INTO uniq VALUES (1)`)
		_, isPg := err.(*pgconn.PgError)
		var be *BackendError
		var pg *pgconn.PgError
		switch {
		case !errors.As(err, &pg) || pg.Code != "23505":
			t.Fatalf("native=%v: got %T %v, want a unique violation", native, err, err)
		case native && !isPg:
			t.Fatalf("errors=native: got %T, want *pgconn.PgError itself", err)
		case !native && !errors.As(err, &be):
			t.Fatalf("default errors: got %T, want *BackendError", err)
		}
	}
}

// TestNativeErrorKeepsConnectionFailures: errors=native unwraps only what a
// backend refused; a broken connection keeps its backend's name.
func TestNativeErrorKeepsConnectionFailures(t *testing.T) {
	broken := &BackendError{Backend: "a", Op: "exec", Err: fmt.Errorf("%w: reset by peer", driver.ErrBadConn)}
	if got := nativeError(broken); got != error(broken) {
		t.Fatalf("nativeError(connection failure) = %T %v", got, got)
	}
	refused := &BackendError{Backend: "a", Op: "exec", Err: &gomysql.MySQLError{Number: 1062, Message: "Duplicate entry"}}
	if _, ok := nativeError(refused).(*gomysql.MySQLError); !ok {
		t.Fatalf("nativeError(refused) = %T", nativeError(refused))
	}
	if got := nativeError(sql.ErrNoRows); got != sql.ErrNoRows {
		t.Fatalf("nativeError(not a backend error) = %v", got)
	}
}
