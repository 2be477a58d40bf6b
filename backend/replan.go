package backend

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/lib/pq"
)

// SchemaChanged records that DDL was applied on b. Every connection of b
// that prepared statements before it forgets them before its next use
// (see [OpenPgx]): a statement planned against a table that was dropped
// and recreated with other columns fails in PostgreSQL with "cached plan
// must not change result type".
func (b *Backend) SchemaChanged() { b.schema.Add(1) }

// SchemaEpoch counts the DDL entries applied on b since it was opened.
func (b *Backend) SchemaEpoch() uint64 { return b.schema.Load() }

// Replan reports whether err says that a statement prepared earlier no
// longer fits the schema: PostgreSQL's 0A000 "cached plan must not change
// result type" or MySQL's 1615 "Prepared statement needs to be
// re-prepared". Such an error is no outcome of the statement: the same
// statement prepared anew succeeds, so it is retried, never compared.
func Replan(err error) bool {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "0A000" && pg.Message == cachedPlanChanged
	}
	var pe *pq.Error
	if errors.As(err, &pe) {
		return pe.Code == "0A000" && pe.Message == cachedPlanChanged
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number == 1615 // ER_NEED_REPREPARE
	}
	return false
}

const cachedPlanChanged = "cached plan must not change result type"

// epochKey is where a pgx connection keeps the schema epoch of its
// backend when it last forgot its statements.
const epochKey = "calibrated.schema"

// OpenPgx opens a pgx handle for b whose connections keep the schema epoch
// they were planned at: a connection taken from the pool after b applied
// DDL deallocates its prepared statements and empties pgx's statement and
// description caches first, one round trip per connection per schema
// change. database/sql resets a pooled connection before each reuse, and
// reads of a DDL entry's keys wait until the entry is applied (P3), by
// which time the epoch has moved, so no read and no applier transaction
// runs a statement planned before the DDL.
func OpenPgx(dsn string, b *Backend) (*sql.DB, error) {
	cc, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	return stdlib.OpenDB(*cc,
		stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
			c.PgConn().CustomData()[epochKey] = b.SchemaEpoch()
			return nil
		}),
		stdlib.OptionResetSession(func(ctx context.Context, c *pgx.Conn) error {
			return forgetStale(ctx, c, b)
		}),
	), nil
}

// forgetStale makes c forget the statements it prepared before b's last
// schema change. A connection that cannot is dropped from the pool.
func forgetStale(ctx context.Context, c *pgx.Conn, b *Backend) error {
	now := b.SchemaEpoch()
	data := c.PgConn().CustomData()
	if at, ok := data[epochKey].(uint64); ok && at == now {
		return nil
	}
	if err := c.DeallocateAll(ctx); err != nil {
		return driver.ErrBadConn
	}
	data[epochKey] = now
	return nil
}
