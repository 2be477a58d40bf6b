package backend

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/calibrated/calibrated/ledger"
)

// SQLite's foreign key enforcement (PRAGMA foreign_keys) is a setting of
// each connection, and a no-op inside a transaction. Every backend's
// connections start with the setting of its URL (the engine checks at
// start that all backends agree). An entry that must run with the other
// setting, because the conn that sent it turned enforcement on or off,
// starts with a marker statement, [ForeignKeysSQL]; the applier applies
// such entries in batches of their own, on a connection switched to that
// setting before the batch's transaction begins and switched back after
// it ends. Inside the transaction the marker itself is a no-op.

// ForeignKeysSQL is the marker statement that starts an entry to be
// applied with SQLite's foreign key enforcement on or off.
func ForeignKeysSQL(on bool) string {
	if on {
		return "PRAGMA foreign_keys = 1"
	}
	return "PRAGMA foreign_keys = 0"
}

// jobForeignKeys returns the foreign key setting j's marker asks for
// (0 off, 1 on), or -1 when j has none and runs with the URL's setting.
func jobForeignKeys(j *ledger.Job) int {
	if len(j.Stmts) == 0 || len(j.Stmts[0].Args) > 0 {
		return -1
	}
	switch j.Stmts[0].SQL {
	case ForeignKeysSQL(false):
		return 0
	case ForeignKeysSQL(true):
		return 1
	}
	return -1
}

// cutAtForeignKeys ends a SQLite batch before the first job that asks for
// another foreign key setting than the first job, so that one batch, one
// transaction, runs with one setting. Other dialects are left alone.
func cutAtForeignKeys(dialect string, jobs []*ledger.Job) []*ledger.Job {
	if dialect != "sqlite" || len(jobs) < 2 {
		return jobs
	}
	first := jobForeignKeys(jobs[0])
	for i, j := range jobs[1:] {
		if jobForeignKeys(j) != first {
			return jobs[:i+1]
		}
	}
	return jobs
}

// beginner is what a transaction begins on: the pool, or one pinned connection.
type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// forBatch returns where a batch's transaction begins: the pool, or, for a
// SQLite batch whose entries carry a foreign key marker, a connection
// switched to that setting. done must be called after the transaction ends.
func (a *Applier) forBatch(ctx context.Context, jobs []*ledger.Job) (beginner, func(), error) {
	if a.B.Dialect != "sqlite" || len(jobs) == 0 {
		return a.B.DB, func() {}, nil
	}
	fk := jobForeignKeys(jobs[0])
	if fk < 0 {
		return a.B.DB, func() {}, nil
	}
	c, done, err := PinForeignKeys(ctx, a.B.DB, fk == 1)
	if err != nil {
		return nil, nil, err
	}
	return c, done, nil
}

// ReadForeignKeys returns a SQLite connection's PRAGMA foreign_keys.
func ReadForeignKeys(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (bool, error) {
	var on int
	if err := q.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil {
		return false, err
	}
	return on == 1, nil
}

// PinForeignKeys takes a connection from db's pool with SQLite's foreign
// key enforcement switched on or off, outside any transaction, where the
// pragma takes effect. done switches it back and returns the connection to
// the pool, or closes the connection if it cannot be switched back, so
// that no pooled connection keeps a setting other than its URL's.
func PinForeignKeys(ctx context.Context, db *sql.DB, on bool) (*sql.Conn, func(), error) {
	c, err := db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	was, err := ReadForeignKeys(ctx, c)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	if was == on {
		return c, func() { c.Close() }, nil
	}
	discard := func() {
		_ = c.Raw(func(any) error { return driver.ErrBadConn }) // closes it
		c.Close()
	}
	if _, err := c.ExecContext(ctx, ForeignKeysSQL(on)); err != nil {
		discard()
		return nil, nil, err
	}
	if now, err := ReadForeignKeys(ctx, c); err != nil || now != on {
		discard()
		if err == nil {
			err = fmt.Errorf("calibrated: PRAGMA foreign_keys did not change to %v (a transaction open on the connection?)", on)
		}
		return nil, nil, err
	}
	return c, func() {
		if _, err := c.ExecContext(context.WithoutCancel(ctx), ForeignKeysSQL(was)); err != nil {
			discard()
			return
		}
		c.Close()
	}, nil
}
