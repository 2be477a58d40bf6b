package calibrated

import (
	"context"
	"database/sql"
	"database/sql/driver"

	"github.com/calibrated/calibrated/internal/engine"
)

var (
	_ driver.Conn               = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.Tx                 = (*tx)(nil)
	_ driver.Result             = sql.Result(nil)
)

// conn is one database/sql connection: a session of the engine. It holds
// no backend connection of its own outside a transaction: each statement
// borrows one from the backend it is routed to.
type conn struct {
	s      *engine.Session
	native bool // errors=native
}

// Prepare implements [driver.Conn].
func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext implements [driver.ConnPrepareContext]. Statements are
// analysed here and routed at each execution.
func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if err := c.s.Check(query); err != nil {
		return nil, err
	}
	return &stmt{c: c, query: query}, nil
}

// Close implements [driver.Conn]. An open transaction is rolled back.
func (c *conn) Close() error { return c.s.Close() }

// Begin implements [driver.Conn].
func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx implements [driver.ConnBeginTx]. The transaction runs on the
// anchor; its writes lock their keys as they execute and are replayed on
// the other backends in log order on commit (DESIGN §5).
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	t, err := c.s.Begin(ctx, sql.TxOptions{Isolation: sql.IsolationLevel(opts.Isolation), ReadOnly: opts.ReadOnly})
	if err != nil {
		return nil, c.err(err)
	}
	return &tx{t: t, c: c}, nil
}

// ExecContext implements [driver.ExecerContext].
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.s.Exec(ctx, query, args)
	if err != nil {
		return nil, c.err(err)
	}
	return res, nil
}

// QueryContext implements [driver.QueryerContext].
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := c.s.Query(ctx, query, args)
	if err != nil {
		return nil, c.err(err)
	}
	return newRows(r), nil
}

// Ping implements [driver.Pinger]: every backend must answer.
func (c *conn) Ping(ctx context.Context) error { return c.err(c.s.Ping(ctx)) }

// ResetSession implements [driver.SessionResetter]. A conn returned to the
// pool with its transaction still open is not reused.
func (c *conn) ResetSession(ctx context.Context) error {
	if !c.s.Reset() {
		return driver.ErrBadConn
	}
	return nil
}

// IsValid implements [driver.Validator].
func (c *conn) IsValid() bool { return c.s.Valid() }

// CheckNamedValue implements [driver.NamedValueChecker]. Values the
// standard conversions know are converted (driver.Valuer included); others
// go to the backend's driver as they are, which may know them.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if v, err := driver.DefaultParameterConverter.ConvertValue(nv.Value); err == nil {
		nv.Value = v
	}
	return nil
}

// err returns err as the conn's errors setting has it: under
// errors=native, a statement a backend refused fails with that backend
// driver's own error.
func (c *conn) err(err error) error {
	if c.native {
		return nativeError(err)
	}
	return err
}

// tx is a transaction on the anchor (DESIGN §5): [engine.Tx] with the
// conn's errors setting.
type tx struct {
	t *engine.Tx
	c *conn
}

// Commit implements [driver.Tx].
func (t *tx) Commit() error { return t.c.err(t.t.Commit()) }

// Rollback implements [driver.Tx].
func (t *tx) Rollback() error { return t.c.err(t.t.Rollback()) }

// ReadFrom returns a context whose reads run on the named backend (or
// "anchor", or "nearest"), overriding the DSN's read setting: such a read
// waits while that backend has a pending write on its rows, or is down.
func ReadFrom(ctx context.Context, backend string) context.Context {
	return engine.ReadFrom(ctx, backend)
}
