package engine

import (
	"context"
	"database/sql/driver"
	"errors"
	"log/slog"
	"regexp"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/router"
)

// mockTx is a transaction whose anchor is a go-sqlmock database, for the
// failures of the anchor-first path that a real server does not give on
// demand.
func mockTx(t *testing.T, text string, args []router.Arg, split bool) (*Tx, *txStmt, sqlmock.Sqlmock) {
	t.Helper()
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mock.ExpectBegin()
	atx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	shape, err := router.ParseMySQLInsert(text)
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{log: slog.New(slog.DiscardHandler)}
	tr := &Tx{e: e, anchor: &backend.Backend{Name: "a", Dialect: "mysql", DB: db}, atx: atx}
	st := &txStmt{text: text, args: args, p: &plan{
		gen:  &myGenerated{shape: shape, col: "id", split: split},
		post: []ledger.Stmt{{SQL: "SET timestamp = DEFAULT"}},
	}}
	return tr, st, mock
}

func nv(vals ...any) []router.Arg {
	out := make([]router.Arg, len(vals))
	for i, v := range vals {
		out[i] = router.Arg{Ordinal: i + 1, Value: v}
	}
	return out
}

// TestAnchorFirstBadConnMidBatch: the anchor's connection breaks between
// the rows of an ON DUPLICATE KEY UPDATE run row by row. The rows already
// run are rolled back to the savepoint, the session's clock is reset, the
// error reaches the caller, and nothing is recorded for the ledger.
func TestAnchorFirstBadConnMidBatch(t *testing.T) {
	text := "INSERT INTO t (code) VALUES (?), (?) ON DUPLICATE KEY UPDATE code = code"
	tr, st, mock := mockTx(t, text, nv("a", "b"), true)
	myIncrements.Delete(tr.anchor.DB)
	mock.ExpectExec("SAVEPOINT calibrated_generated").WillReturnResult(sqlmock.NewResult(0, 0))
	mock.ExpectExec("INSERT INTO t (code) VALUES (?) ON DUPLICATE KEY UPDATE code = code").WithArgs("a").WillReturnResult(sqlmock.NewResult(7, 1))
	mock.ExpectExec("INSERT INTO t (code) VALUES (?) ON DUPLICATE KEY UPDATE code = code").WithArgs("b").WillReturnError(driver.ErrBadConn)
	mock.ExpectExec("ROLLBACK TO SAVEPOINT calibrated_generated").WillReturnResult(sqlmock.NewResult(0, 0))
	mock.ExpectExec("SET timestamp = DEFAULT").WillReturnResult(sqlmock.NewResult(0, 0))
	_, err := tr.execGenerated(context.Background(), st)
	var be *BackendError
	if !errors.As(err, &be) || be.Backend != "a" {
		t.Fatalf("error %v, want a *BackendError of backend a", err)
	}
	if len(tr.stmts) != 0 {
		t.Fatalf("recorded %d statements for the ledger after a failure", len(tr.stmts))
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Fatal(err)
	}
}

// TestAnchorFirstWrongCount: an anchor that reports fewer rows than the
// INSERT has (a backend dying between statements can leave a driver
// reporting nothing) gives ids nobody can tell: the INSERT is rolled back
// on the anchor and refused, not replayed on hope.
func TestAnchorFirstWrongCount(t *testing.T) {
	text := "INSERT INTO t (code) VALUES (?), (?)"
	tr, st, mock := mockTx(t, text, nv("a", "b"), false)
	mock.ExpectExec("SAVEPOINT calibrated_generated").WillReturnResult(sqlmock.NewResult(0, 0))
	mock.ExpectExec(text).WithArgs("a", "b").WillReturnResult(sqlmock.NewResult(5, 1))
	mock.ExpectExec("ROLLBACK TO SAVEPOINT calibrated_generated").WillReturnResult(sqlmock.NewResult(0, 0))
	mock.ExpectExec("SET timestamp = DEFAULT").WillReturnResult(sqlmock.NewResult(0, 0))
	if _, err := tr.execGenerated(context.Background(), st); err == nil {
		t.Fatal("a row count that does not match the rows was accepted")
	}
	if len(tr.stmts) != 0 {
		t.Fatalf("recorded %d statements", len(tr.stmts))
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Fatal(err)
	}
}

// TestAnchorFirstIncrement: the replay carries the anchor's ids, spaced by
// its auto_increment_increment, and the caller gets the anchor's
// LastInsertId and RowsAffected.
func TestAnchorFirstIncrement(t *testing.T) {
	text := "INSERT INTO t (code) VALUES (?), (?), (?)"
	tr, st, mock := mockTx(t, text, nv("a", "b", "c"), false)
	myIncrements.Delete(tr.anchor.DB)
	mock.ExpectExec("SAVEPOINT calibrated_generated").WillReturnResult(sqlmock.NewResult(0, 0))
	mock.ExpectExec(text).WithArgs("a", "b", "c").WillReturnResult(sqlmock.NewResult(11, 3))
	mock.ExpectQuery("SELECT @@session.auto_increment_increment").WillReturnRows(sqlmock.NewRows([]string{"inc"}).AddRow(5))
	mock.ExpectExec("SET timestamp = DEFAULT").WillReturnResult(sqlmock.NewResult(0, 0))
	res, err := tr.execGenerated(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	rows, _ := res.RowsAffected()
	if id != 11 || rows != 3 {
		t.Fatalf("LastInsertId %d, RowsAffected %d; want 11, 3", id, rows)
	}
	want := regexp.QuoteMeta("INSERT INTO t (code, `id`) VALUES (?, 11), (?, 16), (?, 21)")
	if len(tr.stmts) != 2 || !regexp.MustCompile("^"+want+"$").MatchString(tr.stmts[0].SQL) || tr.stmts[1].SQL != "SET timestamp = DEFAULT" {
		t.Fatalf("recorded %+v", tr.stmts)
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Fatal(err)
	}
}
