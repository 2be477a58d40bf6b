package calibrated

import (
	"database/sql/driver"
	"errors"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/internal/dsn"
	"github.com/calibrated/calibrated/internal/engine"
	"github.com/calibrated/calibrated/ledger"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"
)

// ConfigError reports a bad DSN or Config: the key at fault (Key, "" for
// the DSN as a whole, e.g. "read" or "db.east") and why (Err).
type ConfigError = dsn.ConfigError

// BackendError is an error from one backend: Backend is its name in the
// DSN, Op what the driver was doing ("connect", "query", "apply", …), and
// Err the backend driver's own error, so errors.As finds *pgconn.PgError,
// *pq.Error or *mysql.MySQLError through it. Its SQLState method returns
// the SQLSTATE, and its JSON form carries Code, Severity and Message at the
// top level (which is how GORM's PostgreSQL dialector translates it).
type BackendError = engine.BackendError

// LedgerError is a failure to append to or read the ledger: Seq is the
// position concerned, if known, and Err the cause. Every LedgerError
// matches [ErrLedgerUnavailable].
type LedgerError = engine.LedgerError

// UnsafeStatementError refuses a statement that cannot be made
// deterministic (P6), since replaying it on every backend could give
// different data: Query is the statement, Fragment the part at fault,
// Reason why and Fix what to do instead.
type UnsafeStatementError = engine.UnsafeStatementError

// UnsupportedError is a statement this version does not route (What); Fix
// says what to do instead.
type UnsupportedError = engine.UnsupportedError

var (
	// ErrConflict is returned under conflict=reject when a write's keys
	// overlap a pending write. Nothing was applied; retry the write. SQLSTATE 40001.
	ErrConflict = engine.ErrConflict
	// ErrDeadlock is returned to the newest of transactions that wait on each
	// other's keys. Retry the transaction. SQLSTATE 40P01.
	ErrDeadlock = engine.ErrDeadlock
	// ErrLockTimeout is returned when a write waited lock_timeout for rows
	// another write holds. Nothing was applied. SQLSTATE 55P03.
	ErrLockTimeout = engine.ErrLockTimeout
	// ErrTxExpired is returned by a transaction that sent nothing for
	// tx_lease: its locks were released so others could go on, and it was
	// rolled back. Retry it. SQLSTATE 25P03.
	ErrTxExpired = engine.ErrTxExpired
	// ErrNoActiveBackend is returned when every backend is down, diverged
	// or stale: there is no anchor to run on.
	ErrNoActiveBackend = engine.ErrNoActiveBackend
	// ErrLedgerUnavailable is returned when the ledger cannot be written or
	// read: a remote ledger that does not answer (the driver reconnects by
	// itself), or one whose history broke under its readers (a gap, a
	// rewind, a recreated stream: nothing past it is applied; an operator
	// must act). It is ledger.ErrUnavailable, so the ledger packages'
	// own errors match it too. [Retryable] tells the kinds apart.
	ErrLedgerUnavailable = ledger.ErrUnavailable
)

// Retryable reports whether err means the statement or transaction was not
// applied and may simply be tried again: a conflict, a deadlock, a lock
// timeout, an expired transaction, a backend that could not be reached
// before anything was committed, or a ledger that did not answer a request
// that applies nothing by itself (a read's catching up, a transaction's
// lock). A write or commit whose append the ledger did not confirm is not
// retryable: it may yet be applied.
func Retryable(err error) bool {
	var le *LedgerError
	if errors.As(err, &le) {
		return errors.Is(le.Err, ledger.ErrUnavailable) && !errors.Is(le.Err, ledger.ErrHistory) && !errors.Is(le.Err, engine.ErrMaybeAppended)
	}
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrConflict), errors.Is(err, ErrDeadlock), errors.Is(err, ErrLockTimeout),
		errors.Is(err, ErrTxExpired), errors.Is(err, ErrNoActiveBackend), errors.Is(err, driver.ErrBadConn):
		return true
	}
	var be *BackendError
	return errors.As(err, &be) && backend.ConnError(be.Err)
}

// nativeError returns, for errors=native, the backend driver's own error
// inside err (*mysql.MySQLError, *pgconn.PgError, *pq.Error, or an error
// with a Code, as modernc.org/sqlite's): a statement a backend refused
// fails as it would on a direct connection, so code that type-asserts the
// driver's error (GORM's MySQL dialector translating ErrDuplicatedKey) sees
// it. Connection failures, and errors another process reported through the
// ledger, have no such value and stay wrapped.
func nativeError(err error) error {
	var be *BackendError
	if !errors.As(err, &be) || backend.ConnError(be.Err) {
		return err
	}
	var (
		my    *mysql.MySQLError
		pg    *pgconn.PgError
		pe    *pq.Error
		coded interface {
			error
			Code() int
		}
	)
	switch {
	case errors.As(be.Err, &my):
		return my
	case errors.As(be.Err, &pg):
		return pg
	case errors.As(be.Err, &pe):
		return pe
	case errors.As(be.Err, &coded):
		return coded
	}
	return err
}
