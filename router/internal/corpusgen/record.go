package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// recorder keeps every statement text GORM hands to the database, once,
// in the order of first emission.
type recorder struct {
	mu    sync.Mutex
	lines []string
	seen  map[string]bool

	// GORM names the savepoint of a nested transaction sp<n>, n a
	// maphash.Hash.Sum64 with a random seed, so the name changes from run to
	// run. For a stable file, the n-th such name becomes stable[n].
	stable []string
	sps    map[string]string
}

func newRecorder(stable []string) *recorder {
	return &recorder{seen: map[string]bool{}, stable: stable, sps: map[string]string{}}
}

// gormSavepoint is a savepoint name of GORM's nested transactions.
var gormSavepoint = regexp.MustCompile(`\bsp[0-9]{6,20}\b`)

// lineBreak is a line break with the indentation around it.
var lineBreak = regexp.MustCompile(`[ \t]*[\r\n]+[ \t]*`)

// add records q. A statement spread over several lines (some migrator
// queries are) is joined into one, its line breaks each made a space: the
// corpus holds one statement a line.
func (r *recorder) add(q string) {
	q = strings.TrimSpace(lineBreak.ReplaceAllString(q, " "))
	if q == "" {
		return
	}
	q = orderConstraints(q)
	r.mu.Lock()
	defer r.mu.Unlock()
	q = gormSavepoint.ReplaceAllStringFunc(q, func(name string) string {
		if s, ok := r.sps[name]; ok {
			return s
		}
		if len(r.sps) >= len(r.stable) {
			return name // no stable name left: keep GORM's
		}
		s := r.stable[len(r.sps)]
		r.sps[name] = s
		return s
	})
	if !r.seen[q] {
		r.seen[q] = true
		r.lines = append(r.lines, q)
	}
}

// connector opens connections of a database/sql driver that record each
// statement text before the driver runs it: what GORM hands database/sql,
// the migrator's queries included (some run on a dedicated *sql.Conn, which
// a gorm.ConnPool wrapper would not see). A transaction records BEGIN,
// COMMIT and ROLLBACK, the statements its driver calls stand for.
type connector struct {
	d   driver.Driver
	dsn string
	r   *recorder
}

// openDB is a *sql.DB over the named driver that records into r.
func openDB(name, dsn string, r *recorder) (*sql.DB, error) {
	db, err := sql.Open(name, dsn)
	if err != nil {
		return nil, err
	}
	d := db.Driver()
	db.Close()
	return sql.OpenDB(connector{d: d, dsn: dsn, r: r}), nil
}

// Connect implements [driver.Connector].
func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	var (
		conn driver.Conn
		err  error
	)
	if dc, ok := c.d.(driver.DriverContext); ok {
		var inner driver.Connector
		if inner, err = dc.OpenConnector(c.dsn); err == nil {
			conn, err = inner.Connect(ctx)
		}
	} else {
		conn, err = c.d.Open(c.dsn)
	}
	if err != nil {
		return nil, err
	}
	return &rconn{Conn: conn, r: c.r}, nil
}

// Driver implements [driver.Connector].
func (c connector) Driver() driver.Driver { return c.d }

// rconn is a recording driver.Conn.
type rconn struct {
	driver.Conn
	r *recorder
}

var (
	_ driver.ConnBeginTx        = (*rconn)(nil)
	_ driver.ConnPrepareContext = (*rconn)(nil)
	_ driver.ExecerContext      = (*rconn)(nil)
	_ driver.QueryerContext     = (*rconn)(nil)
	_ driver.NamedValueChecker  = (*rconn)(nil)
	_ driver.SessionResetter    = (*rconn)(nil)
	_ driver.Validator          = (*rconn)(nil)
	_ driver.Pinger             = (*rconn)(nil)
)

// Prepare implements [driver.Conn].
func (c *rconn) Prepare(q string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), q)
}

// PrepareContext implements [driver.ConnPrepareContext].
func (c *rconn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.r.add(q)
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, q)
	}
	return c.Conn.Prepare(q)
}

// ExecContext implements [driver.ExecerContext].
func (c *rconn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.r.add(q)
	return e.ExecContext(ctx, q, args)
}

// QueryContext implements [driver.QueryerContext].
func (c *rconn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	e, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	c.r.add(q)
	return e.QueryContext(ctx, q, args)
}

// Begin implements [driver.Conn].
func (c *rconn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx implements [driver.ConnBeginTx].
func (c *rconn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.r.add("BEGIN")
	var (
		tx  driver.Tx
		err error
	)
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else if opts.Isolation != driver.IsolationLevel(sql.LevelDefault) || opts.ReadOnly {
		err = errors.New("corpusgen: the driver has no BeginTx for isolation levels or read-only transactions")
	} else {
		tx, err = c.Conn.Begin() //nolint:staticcheck // the driver has nothing else
	}
	if err != nil {
		return nil, err
	}
	return rtx{tx: tx, r: c.r}, nil
}

// CheckNamedValue implements [driver.NamedValueChecker].
func (c *rconn) CheckNamedValue(v *driver.NamedValue) error {
	if nc, ok := c.Conn.(driver.NamedValueChecker); ok {
		return nc.CheckNamedValue(v)
	}
	return driver.ErrSkip
}

// ResetSession implements [driver.SessionResetter].
func (c *rconn) ResetSession(ctx context.Context) error {
	if s, ok := c.Conn.(driver.SessionResetter); ok {
		return s.ResetSession(ctx)
	}
	return nil
}

// IsValid implements [driver.Validator].
func (c *rconn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// Ping implements [driver.Pinger].
func (c *rconn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

// rtx is a recording driver.Tx.
type rtx struct {
	tx driver.Tx
	r  *recorder
}

// Commit implements [driver.Tx].
func (t rtx) Commit() error {
	t.r.add("COMMIT")
	return t.tx.Commit()
}

// Rollback implements [driver.Tx].
func (t rtx) Rollback() error {
	t.r.add("ROLLBACK")
	return t.tx.Rollback()
}

// foreignKey is a FOREIGN KEY constraint as GORM's migrator writes it in
// CREATE TABLE; its first submatch is the constrained column list.
var foreignKey = regexp.MustCompile("CONSTRAINT [`\"][^`\"]+[`\"] FOREIGN KEY (\\([^)]*\\)) REFERENCES [`\"][^`\"]+[`\"]\\([^)]*\\)" +
	"(?: ON (?:DELETE|UPDATE) (?:CASCADE|SET NULL|SET DEFAULT|RESTRICT|NO ACTION))*")

// orderConstraints puts the FOREIGN KEY constraints of a CREATE TABLE in
// the order of their columns, and those of one column in the order of their
// text. GORM writes them in the order it ranges over a
// map (schema.Relationships.Relations), which differs from run to run; in
// column order the statement is one text.
func orderConstraints(q string) string {
	if !strings.HasPrefix(q, "CREATE TABLE") {
		return q
	}
	loc := foreignKey.FindAllStringSubmatchIndex(q, -1)
	if len(loc) < 2 {
		return q
	}
	for i := 1; i < len(loc); i++ {
		if q[loc[i-1][1]:loc[i][0]] != "," {
			return q // not one run of constraints: leave it
		}
	}
	type fk struct {
		text string
		col  int // where the constrained column is defined
	}
	fks := make([]fk, len(loc))
	for i, l := range loc {
		cols := strings.Trim(q[l[2]:l[3]], "()")
		first, _, _ := strings.Cut(cols, ",")
		fks[i] = fk{text: q[l[0]:l[1]], col: strings.Index(q, first)}
	}
	slices.SortFunc(fks, func(a, b fk) int {
		if a.col != b.col {
			return a.col - b.col
		}
		return strings.Compare(a.text, b.text)
	})
	texts := make([]string, len(fks))
	for i, f := range fks {
		texts[i] = f.text
	}
	return q[:loc[0][0]] + strings.Join(texts, ",") + q[loc[len(loc)-1][1]:]
}
