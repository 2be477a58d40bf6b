package backend

import (
	"context"
	"errors"
	"testing"

	"github.com/DATA-DOG/go-sqlmock"
	"github.com/calibrated/calibrated/ledger"
	"github.com/go-sql-driver/mysql"
)

// mockApplier is an applier whose backend is a go-sqlmock database, for the
// failures a real server does not give on demand; the job's entry fixes the
// clock around an INSERT that fails with a duplicate key.
func mockApplier(t *testing.T) (*Applier, []*ledger.Job, sqlmock.Sqlmock) {
	t.Helper()
	db, mock, err := sqlmock.New(sqlmock.QueryMatcherOption(sqlmock.QueryMatcherEqual))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a := &Applier{B: &Backend{Name: "b", Dialect: "mysql", DB: db}, LedgerID: "L"}
	jobs := []*ledger.Job{{Seq: 7, Stmts: []ledger.Stmt{
		{SQL: "SET timestamp = 1700000000.000000"},
		{SQL: "INSERT INTO t (id) VALUES (?)", Args: []any{int64(1)}},
		{SQL: "SET timestamp = DEFAULT"},
	}}}
	mock.ExpectBegin()
	mock.ExpectQuery("SELECT seq FROM "+AppliedTable+" WHERE ledger = ? AND seq IN (?) FOR UPDATE").
		WithArgs("L", int64(7)).WillReturnRows(sqlmock.NewRows([]string{"seq"}))
	mock.ExpectExec("INSERT INTO "+AppliedTable+" (ledger, seq) VALUES (?,?)").WithArgs("L", int64(7)).WillReturnResult(sqlmock.NewResult(0, 1))
	mock.ExpectExec("SET timestamp = 1700000000.000000").WillReturnResult(sqlmock.NewResult(0, 0))
	mock.ExpectExec("INSERT INTO t (id) VALUES (?)").WithArgs(int64(1)).
		WillReturnError(&mysql.MySQLError{Number: 1062, SQLState: [5]byte{'2', '3', '0', '0', '0'}, Message: "Duplicate entry"})
	return a, jobs, mock
}

// TestApplierResetsSessionAfterFailure: an entry whose statement fails
// between its SET timestamp and its SET timestamp = DEFAULT still runs the
// reset; the failure stays a statement outcome and the connection stays
// in the pool.
func TestApplierResetsSessionAfterFailure(t *testing.T) {
	a, jobs, mock := mockApplier(t)
	mock.ExpectExec("SET timestamp = DEFAULT").WillReturnResult(sqlmock.NewResult(0, 0))
	mock.ExpectRollback()
	_, err := a.tx(context.Background(), jobs, false)
	if !errors.Is(err, errStatement) {
		t.Fatalf("error %v, want a statement outcome", err)
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Fatal(err)
	}
}

// TestApplierDiscardsUnresetSession: when the reset itself fails, the
// failure is no statement outcome (the batch is retried) and the
// connection, whose clock may still be fixed, is closed, not pooled.
func TestApplierDiscardsUnresetSession(t *testing.T) {
	a, jobs, mock := mockApplier(t)
	mock.ExpectExec("SET timestamp = DEFAULT").WillReturnError(errors.New("lost"))
	mock.ExpectRollback()
	mock.ExpectClose()
	_, err := a.tx(context.Background(), jobs, false)
	if !errors.Is(err, errSession) || errors.Is(err, errStatement) {
		t.Fatalf("error %v, want errSession and no statement outcome", err)
	}
	if _, ok := sqlState(err); ok {
		t.Fatalf("error %v reads as a statement outcome", err)
	}
	if err := mock.ExpectationsWereMet(); err != nil {
		t.Fatal(err)
	}
}
