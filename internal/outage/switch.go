// Package outage cuts backends off inside the process, for the demo and for
// tests of backends that no TCP proxy can stand in front of.
package outage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"net"
	"sync/atomic"
	"syscall"
)

// Switch cuts a backend off inside the process, for backends no proxy can
// stand in front of (a SQLite file): while it is off, new connections are
// refused and every call on an existing one fails as a broken connection.
type Switch struct{ off atomic.Bool }

// Cut turns the backend off.
func (s *Switch) Cut() { s.off.Store(true) }

// Restore turns it back on.
func (s *Switch) Restore() { s.off.Store(false) }

// Off reports whether the backend is cut.
func (s *Switch) Off() bool { return s.off.Load() }

// Open opens dsn through the database/sql driver registered as name, with
// every connection behind the switch.
func (s *Switch) Open(name, dsn string) (*sql.DB, error) {
	probe, err := sql.Open(name, dsn)
	if err != nil {
		return nil, err
	}
	drv := probe.Driver()
	probe.Close()
	return sql.OpenDB(&switchConnector{s: s, drv: drv, dsn: dsn}), nil
}

// errRefused is what a cut backend answers a new connection with.
var errRefused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

type switchConnector struct {
	s   *Switch
	drv driver.Driver
	dsn string
}

func (c *switchConnector) Connect(ctx context.Context) (driver.Conn, error) {
	if c.s.Off() {
		return nil, errRefused
	}
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &switchConn{s: c.s, c: conn}, nil
}

func (c *switchConnector) Driver() driver.Driver { return c.drv }

var (
	_ driver.ConnBeginTx        = (*switchConn)(nil)
	_ driver.ConnPrepareContext = (*switchConn)(nil)
	_ driver.ExecerContext      = (*switchConn)(nil)
	_ driver.QueryerContext     = (*switchConn)(nil)
	_ driver.Pinger             = (*switchConn)(nil)
	_ driver.SessionResetter    = (*switchConn)(nil)
	_ driver.Validator          = (*switchConn)(nil)
)

type switchConn struct {
	s *Switch
	c driver.Conn
}

func (c *switchConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *switchConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if c.s.Off() {
		return nil, driver.ErrBadConn
	}
	if p, ok := c.c.(driver.ConnPrepareContext); ok {
		st, err := p.PrepareContext(ctx, query)
		return wrapStmt(c.s, st), err
	}
	st, err := c.c.Prepare(query)
	return wrapStmt(c.s, st), err
}

func (c *switchConn) Close() error { return c.c.Close() }

func (c *switchConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *switchConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.s.Off() {
		return nil, driver.ErrBadConn
	}
	var tx driver.Tx
	var err error
	if b, ok := c.c.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		tx, err = c.c.Begin() //nolint:staticcheck // the driver has nothing better
	}
	if err != nil {
		return nil, err
	}
	return &switchTx{s: c.s, tx: tx}, nil
}

func (c *switchConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.s.Off() {
		return nil, driver.ErrBadConn
	}
	if e, ok := c.c.(driver.ExecerContext); ok {
		return e.ExecContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *switchConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.s.Off() {
		return nil, driver.ErrBadConn
	}
	if q, ok := c.c.(driver.QueryerContext); ok {
		return q.QueryContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *switchConn) Ping(ctx context.Context) error {
	if c.s.Off() {
		return driver.ErrBadConn
	}
	if p, ok := c.c.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *switchConn) ResetSession(ctx context.Context) error {
	if c.s.Off() {
		return driver.ErrBadConn
	}
	if r, ok := c.c.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *switchConn) IsValid() bool {
	if c.s.Off() {
		return false
	}
	if v, ok := c.c.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// CheckNamedValue passes values through to the wrapped driver's checker.
func (c *switchConn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.c.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

type switchTx struct {
	s  *Switch
	tx driver.Tx
}

func (t *switchTx) Commit() error {
	if t.s.Off() {
		_ = t.tx.Rollback()
		return driver.ErrBadConn
	}
	return t.tx.Commit()
}

func (t *switchTx) Rollback() error { return t.tx.Rollback() }

type switchStmt struct {
	s  *Switch
	st driver.Stmt
}

func wrapStmt(s *Switch, st driver.Stmt) driver.Stmt {
	if st == nil {
		return nil
	}
	return &switchStmt{s: s, st: st}
}

func (s *switchStmt) Close() error  { return s.st.Close() }
func (s *switchStmt) NumInput() int { return s.st.NumInput() }

func (s *switchStmt) Exec(args []driver.Value) (driver.Result, error) {
	if s.s.Off() {
		return nil, driver.ErrBadConn
	}
	return s.st.Exec(args) //nolint:staticcheck // only when the driver lacks the context form
}

func (s *switchStmt) Query(args []driver.Value) (driver.Rows, error) {
	if s.s.Off() {
		return nil, driver.ErrBadConn
	}
	return s.st.Query(args) //nolint:staticcheck // only when the driver lacks the context form
}

func (s *switchStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if s.s.Off() {
		return nil, driver.ErrBadConn
	}
	if e, ok := s.st.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	return s.st.Exec(vals) //nolint:staticcheck // the driver has nothing better
}

func (s *switchStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if s.s.Off() {
		return nil, driver.ErrBadConn
	}
	if q, ok := s.st.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	vals := make([]driver.Value, len(args))
	for i, a := range args {
		vals[i] = a.Value
	}
	return s.st.Query(vals) //nolint:staticcheck // the driver has nothing better
}
