package engine

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/internal/dsn"
	"github.com/calibrated/calibrated/ledger"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"
)

// sqlError is a sentinel that carries a SQLSTATE, so retry helpers that read
// SQLState() recognise it.
type sqlError struct{ msg, state string }

func (e *sqlError) Error() string    { return e.msg }
func (e *sqlError) SQLState() string { return e.state }

// The driver's sentinel errors; its package documentation says what each
// means to an application.
var (
	ErrConflict        error = &sqlError{"calibrated: conflict: another write holds these rows (conflict=reject); retry", "40001"}
	ErrDeadlock        error = &sqlError{"calibrated: deadlock: transactions wait on each other's rows; retry", "40P01"}
	ErrLockTimeout     error = &sqlError{"calibrated: lock timeout: rows held by another write for longer than lock_timeout; retry or raise lock_timeout", "55P03"}
	ErrTxExpired       error = &sqlError{"calibrated: transaction expired: idle for longer than tx_lease, so its locks were released and it was rolled back; retry it", "25P03"}
	ErrNoActiveBackend       = errors.New("calibrated: no active backend: every backend is down, diverged or stale; check them with calibrated status")

	// ErrMaybeAppended marks a failed append of a write or commit whose
	// event may still reach the ledger, and then be applied.
	ErrMaybeAppended = errors.New("the ledger did not confirm the append, so the write may still be applied: check before retrying it")
)

// BackendError is an error from one backend; Err is the backend driver's
// own error, so errors.As finds *pgconn.PgError or *pq.Error through it.
type BackendError struct {
	Backend string // the backend's name in the DSN
	Op      string // what the driver was doing: "connect", "query", "apply", …
	Err     error
}

func (e *BackendError) Error() string {
	return dsn.Redact(fmt.Sprintf("calibrated: backend %q: %s: %v", e.Backend, e.Op, e.Err))
}

func (e *BackendError) Unwrap() error { return e.Err }

// SQLState returns the backend error's SQLSTATE, if it has one.
func (e *BackendError) SQLState() string {
	st, _ := backend.SQLState(e.Err)
	return st
}

// MarshalJSON puts the backend error's SQLSTATE, severity and message at
// the top level, under the names *pq.Error gives them (Code, Severity,
// Message). Code that cannot see through a wrapper reads them there:
// GORM's PostgreSQL dialector type-asserts *pgconn.PgError and otherwise
// translates an error by the "Code" of its JSON form, which is how
// gorm.ErrDuplicatedKey and its kin reach GORM users through calibrated.
//
// A SQLite error (modernc.org/sqlite's, whose Code is the extended result
// code) is given the form of mattn/go-sqlite3's sqlite3.Error instead:
// Code the primary result code, ExtendedCode the extended one, as numbers.
// GORM's SQLite dialector reads ExtendedCode from an error's JSON form
// (2067 and 1555: ErrDuplicatedKey; 787: ErrForeignKeyViolated).
func (e *BackendError) MarshalJSON() ([]byte, error) {
	var lite interface{ Code() int }
	if errors.As(e.Err, &lite) {
		return json.Marshal(struct {
			Backend, Op                     string
			Code, ExtendedCode, SystemErrno int
			Message                         string
		}{e.Backend, e.Op, lite.Code() & 0xff, lite.Code(), 0, dsn.Redact(e.Err.Error())})
	}
	out := struct {
		Backend, Op, Code, Severity, Message string
	}{Backend: e.Backend, Op: e.Op, Code: e.SQLState()}
	var pg *pgconn.PgError
	var pe *pq.Error
	switch {
	case errors.As(e.Err, &pg):
		out.Severity, out.Message = pg.Severity, pg.Message
	case errors.As(e.Err, &pe):
		out.Severity, out.Message = pe.Severity, pe.Message
	case e.Err != nil:
		out.Message = dsn.Redact(e.Err.Error())
	}
	return json.Marshal(out)
}

// LedgerError is a failure to append to or read the ledger.
type LedgerError struct {
	Seq uint64 // the position concerned, if known
	Err error
}

func (e *LedgerError) Error() string {
	return fmt.Sprintf("calibrated: ledger: %v", e.Err)
}

func (e *LedgerError) Unwrap() error { return e.Err }

// Is makes every LedgerError match ledger.ErrUnavailable.
func (e *LedgerError) Is(target error) bool { return target == ledger.ErrUnavailable }

// UnsafeStatementError refuses a statement that cannot be made deterministic
// (P6): replaying it on every backend could give different data.
type UnsafeStatementError struct {
	Query    string // the statement
	Fragment string // the part at fault
	Reason   string
	Fix      string
}

func (e *UnsafeStatementError) Error() string {
	return fmt.Sprintf("calibrated: unsafe statement: %s %s; %s", e.Fragment, e.Reason, e.Fix)
}

// UnsupportedError is a statement this version does not route; Fix says what to do instead.
type UnsupportedError struct {
	What string
	Fix  string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("calibrated: %s is not supported; %s", e.What, e.Fix)
}
