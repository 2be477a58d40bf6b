package engine

import (
	"context"
	"database/sql"
	"errors"
	"regexp"
	"strings"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/router"
)

// Session is what one database/sql connection is to the engine: its open
// transaction and the session state calibrated keeps for it. It holds no
// backend connection of its own outside a transaction: each statement
// borrows one from the backend it is routed to.
type Session struct {
	e      *Engine
	tx     *Tx
	closed bool
	fkOff  bool // MySQL: SET FOREIGN_KEY_CHECKS = 0 is in force on this session
	// SQLite: PRAGMA foreign_keys was set on this session (fkSet), to fkOn;
	// kept across Reset, as a SQLite connection keeps it (foreignkeys_sqlite.go).
	fkSet, fkOn bool
}

// NewSession opens a session on e.
func (e *Engine) NewSession() *Session { return &Session{e: e} }

// Check refuses, when the statement is prepared, a write the parser cannot
// read (unless unparsed=barrier orders such writes); statements are
// analysed here and routed at each execution.
func (c *Session) Check(query string) error {
	if _, err := c.e.an.Analyze(query); err != nil && c.e.cfg.Unparsed != UnparsedBarrier && !looksLikeRead(query) {
		return parseRefusal(err)
	}
	return nil
}

// Close ends the session. An open transaction is rolled back.
func (c *Session) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	if c.tx != nil {
		return c.tx.Rollback()
	}
	return nil
}

// Begin opens a transaction. It runs on the anchor; its writes lock their
// keys as they execute and are replayed on the other backends in log order
// on commit (DESIGN §5).
func (c *Session) Begin(ctx context.Context, opts sql.TxOptions) (*Tx, error) {
	if c.tx != nil {
		return nil, errors.New("calibrated: a transaction is already open on this connection")
	}
	t, err := c.e.begin(ctx, c, opts)
	if err != nil {
		return nil, err
	}
	c.tx = t
	return t, nil
}

// Exec runs a statement that returns no rows.
func (c *Session) Exec(ctx context.Context, query string, args []router.Arg) (sql.Result, error) {
	if c.tx != nil {
		return c.tx.exec(ctx, query, args)
	}
	e := c.e
	if c.setFKChecks(query) || c.setLiteFK(query) {
		return e.result(0, 0), nil
	}
	a, err := e.an.Analyze(query)
	if err != nil {
		return e.unparsedExec(ctx, c, query, args, err)
	}
	if private, err := e.private(a); err != nil {
		return nil, err
	} else if private {
		var res sql.Result
		err := e.onAnchor("exec", func(b *backend.Backend) (err error) {
			res, err = b.DB.ExecContext(ctx, query, namedArgs(args)...)
			if err == nil && a.Kind == router.DDL {
				b.SchemaChanged() // DDL the ledger does not order
			}
			return err
		})
		return res, err
	}
	switch a.Kind {
	case router.Read:
		keys, err := e.readKeys(a, args)
		if err != nil {
			return nil, err
		}
		b, err := e.readBackend(ctx, keys)
		if err != nil {
			return nil, err
		}
		defer e.done(b)
		res, err := b.DB.ExecContext(ctx, query, namedArgs(args)...)
		if backend.Replan(err) {
			stale(b)
			res, err = b.DB.ExecContext(ctx, query, namedArgs(args)...)
		}
		if err != nil {
			return nil, &BackendError{Backend: b.Name, Op: "exec", Err: err}
		}
		return res, nil
	case router.Write, router.DDL:
		return e.execWrite(ctx, c, a, args)
	}
	return nil, outsideTx(a)
}

// Query runs a statement that returns rows.
func (c *Session) Query(ctx context.Context, query string, args []router.Arg) (*Rows, error) {
	if c.tx != nil {
		return c.tx.query(ctx, query, args)
	}
	e := c.e
	if c.setLiteFK(query) {
		return &Rows{Buf: &backend.Buffered{}}, nil
	}
	if r, ok, err := c.liteFKQuery(ctx, query); ok {
		return r, err
	}
	a, err := e.an.Analyze(query)
	if err != nil {
		if !looksLikeRead(query) {
			return nil, parseRefusal(err)
		}
		return e.read(ctx, nil, query, args)
	}
	if private, err := e.private(a); err != nil {
		return nil, err
	} else if private {
		var r *sql.Rows
		err := e.onAnchor("query", func(b *backend.Backend) (err error) {
			r, err = b.DB.QueryContext(ctx, query, namedArgs(args)...)
			return err
		})
		if err != nil {
			return nil, err
		}
		return &Rows{Live: r, Done: nil}, nil
	}
	switch a.Kind {
	case router.Read:
		return e.read(ctx, a, query, args)
	case router.Write, router.DDL:
		return e.queryWrite(ctx, c, a, args)
	}
	return nil, outsideTx(a)
}

// Ping asks every backend; every one must answer.
func (c *Session) Ping(ctx context.Context) error {
	var errs []error
	for _, b := range c.e.backends {
		if err := b.DB.PingContext(ctx); err != nil {
			errs = append(errs, &BackendError{Backend: b.Name, Op: "ping", Err: err})
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}

// Reset readies the session for reuse from the pool. It reports false
// when a transaction is still open: such a session is not reused.
func (c *Session) Reset() bool {
	if c.tx != nil {
		return false
	}
	c.fkOff = false
	return true
}

// Valid reports whether the session is open.
func (c *Session) Valid() bool { return !c.closed }

// onAnchor runs f on the anchor; a failure is the anchor's, and a broken
// connection counts against its health.
func (e *Engine) onAnchor(op string, f func(*backend.Backend) error) error {
	a, err := e.anchor()
	if err != nil {
		return err
	}
	err = f(a)
	if backend.Replan(err) {
		// Refused before it ran, so safe to run again (see stale).
		stale(a)
		err = f(a)
	}
	if err != nil {
		e.failed(a.Name, err)
		return &BackendError{Backend: a.Name, Op: op, Err: err}
	}
	return nil
}

// private reports whether a statement touches private tables only, which
// the anchor serves alone. A write that mixes shared and private tables is
// refused: its replay would read tables the other backends don't share.
func (e *Engine) private(a *router.Analysis) (bool, error) {
	if len(e.cfg.Private) == 0 || len(a.Tables) == 0 {
		return false, nil
	}
	n := 0
	for _, t := range a.Tables {
		if !e.cfg.IsShared(t.Name) {
			n++
		}
	}
	switch {
	case n == 0:
		return false, nil
	case n == len(a.Tables):
		return true, nil
	case a.Kind == router.Read:
		return false, nil
	}
	return false, &UnsafeStatementError{Query: a.Text, Fragment: a.Text, Reason: "writes shared tables using private ones", Fix: "write shared tables from shared data only, or make the tables involved shared"}
}

// unparsedExec handles text the parser rejects (DESIGN §6): a read waits
// until its backend has nothing pending; a write is refused unless
// unparsed=barrier, which orders it against everything.
func (e *Engine) unparsedExec(ctx context.Context, c *Session, query string, args []router.Arg, perr error) (sql.Result, error) {
	if looksLikeRead(query) {
		b, err := e.readBackend(ctx, nil)
		if err != nil {
			return nil, err
		}
		defer e.done(b)
		return b.DB.ExecContext(ctx, query, namedArgs(args)...)
	}
	if e.cfg.Unparsed != UnparsedBarrier {
		return nil, parseRefusal(perr)
	}
	a := &router.Analysis{Text: query, Kind: router.DDL}
	p, err := e.pl.plan(ctx, a, args)
	if err != nil {
		return nil, err
	}
	c.foreignKeys(p)
	r, err := e.writePlan(ctx, p, a.Kind, false)
	if err != nil {
		return nil, err
	}
	return e.result(r.Outcome.Rows, 0), nil
}

func parseRefusal(err error) error {
	return &UnsupportedError{What: "a write the parser cannot read (" + err.Error() + ")",
		Fix: "rewrite it, or set unparsed=barrier to order it against every other write"}
}

// looksLikeRead guesses from its first word whether unparsable text reads.
func looksLikeRead(query string) bool {
	f := strings.Fields(strings.TrimLeft(query, "( \t\r\n"))
	if len(f) == 0 {
		return false
	}
	switch strings.ToUpper(f[0]) {
	case "SELECT", "SHOW", "VALUES", "TABLE", "EXPLAIN":
		return true
	}
	return false
}

func outsideTx(a *router.Analysis) error {
	switch a.Kind {
	case router.Session:
		if err := userVariable(a); err != nil {
			return err
		}
		return &UnsupportedError{What: "a session statement (" + a.Text + ")", Fix: "set session parameters in each backend's URL, e.g. options=-c%20search_path%3Dapp"}
	case router.Begin, router.Commit, router.Rollback:
		return &UnsupportedError{What: "transaction control through Exec (" + a.Text + ")", Fix: "use db.BeginTx, tx.Commit and tx.Rollback"}
	}
	return &UnsupportedError{What: a.Kind.String() + " outside a transaction (" + a.Text + ")", Fix: "run it inside db.BeginTx"}
}

// myUserVariable matches a MySQL SET of a user variable (SET @name …).
var myUserVariable = regexp.MustCompile(`(?i)^\s*SET\s+@[^@]`)

// userVariable refuses a MySQL user variable with the reason and what to
// do instead, or returns nil for any other statement. calibrated keeps no
// backend connection per conn: each statement borrows one of its own, on
// the backend that serves it, and a write is replayed by every backend's
// applier on connections of their own, so a variable set by one
// statement is not there for the next.
func userVariable(a *router.Analysis) error {
	if !myUserVariable.MatchString(a.Text) {
		return nil
	}
	return &UnsupportedError{
		What: "a MySQL user variable (" + a.Text + ")",
		Fix: "calibrated runs each statement on a backend connection of its own (and replays writes on every backend), " +
			"so a variable set by one statement is gone at the next; pass the value as an argument of the statements that use it",
	}
}
