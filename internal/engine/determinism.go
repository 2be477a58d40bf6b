package engine

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/router"
)

// planner makes writes deterministic (DESIGN §6): from the router's
// analysis of a write and the anchor's schema it builds the complete plan
// of what enters the ledger, or refuses the write. It draws generated
// values from the anchor, and caches what it derived from the schema until
// DDL changes it.
type planner struct {
	dialect   string
	an        *router.Analyzer
	schema    *backend.Schema
	anchor    func() (*backend.Backend, error)
	failed    func(backend string, err error) // counts an anchor failure against its health
	foundRows bool                            // MySQL backends report rows found (clientFoundRows)
	rewrites  rewriteCache
}

// plan is a write made deterministic (DESIGN §6): the statement every
// backend replays, its arguments, statements to run before it, and its keys.
type plan struct {
	a    *router.Analysis
	args []router.Arg
	pre  []ledger.Stmt
	post []ledger.Stmt // after the main statement: MySQL's SET timestamp = DEFAULT
	// restore, after post, puts back session state the entry changed on
	// each backend's connection; unlike post it leaves the row count alone.
	restore []ledger.Stmt
	keys    []ledger.Key

	// gen is a MySQL INSERT that leaves an AUTO_INCREMENT column to the
	// database: it runs on the anchor first, and the other backends replay
	// it with the ids the anchor gave (anchorfirst.go).
	gen *myGenerated
	// leaves says, for each row of such an INSERT that gives the column
	// (gen.pos > 0), whether it leaves the id to the database.
	leaves []bool
	ret    *myReturning // MariaDB: the RETURNING the anchor answers
	// lastID is the rowid of the last row a SQLite INSERT with drawn ids
	// inserts, as LastInsertId reports it.
	lastID int64
}

// anchorFirst reports whether p must run on the anchor before it enters the
// ledger: it takes generated ids from the anchor's execution, or it resets
// session state after the statement (so the statement's own row count is
// the anchor's, not the ledger entry's last statement's).
func (p *plan) anchorFirst() bool { return p.gen != nil || p.ret != nil || len(p.post) > 0 }

// stmts returns the ledger statements of p; query asks for the rows of the main one.
func (p *plan) stmts(query bool) ([]ledger.Stmt, error) {
	vals, err := ledgerArgs(p.args)
	if err != nil {
		return nil, err
	}
	out := append(append([]ledger.Stmt(nil), p.pre...), ledger.Stmt{SQL: p.a.Text, Args: vals, Query: query})
	return append(append(out, p.post...), p.restore...), nil
}

// plan makes a write deterministic or refuses it (P6), and binds its keys:
//   - now(), random(), gen_random_uuid() and their kin become parameters
//     whose values are fixed here, once;
//   - an INSERT … VALUES that leaves a serial/identity column or a volatile
//     default to the database gets those values from the anchor first (its
//     sequences are the one source of ids) and sets them explicitly, and
//     every backend's sequence is moved past them;
//   - anything else that could differ between backends is refused.
func (pl *planner) plan(ctx context.Context, a *router.Analysis, args []router.Arg) (*plan, error) {
	p := &plan{a: a, args: args}
	if a.Multi && !pl.allDDL(a, args) {
		return nil, unsafe(a, a.Text, "holds several statements", "send one statement per call")
	}
	if a.Unordered != "" && pl.dialect == "sqlite" {
		if err := pl.orderInsertSelect(ctx, p); err != nil {
			return nil, err
		}
		a = p.a
	}
	if a.Unordered != "" {
		return nil, unsafe(a, a.Unordered, "makes the rows affected depend on each backend's physical order", "add an ORDER BY over a unique key")
	}
	for _, lo := range a.LimitOrders {
		if !pl.totalOrder(lo) {
			frag := "ORDER BY " + strings.Join(lo.Columns, ", ") + " … LIMIT"
			return nil, unsafe(a, frag, "is not a total order, so which rows the LIMIT keeps may differ between backends", "order by a primary or unique key (add it as the last ORDER BY column)")
		}
	}
	if err := pl.fixVolatile(p); err != nil {
		return nil, err
	}
	switch pl.dialect {
	case "mysql":
		if err := pl.fixMySQL(ctx, p); err != nil {
			return nil, err
		}
	case "sqlite":
		if err := pl.fixSQLite(ctx, p); err != nil {
			return nil, err
		}
	default:
		if err := pl.fixGenerated(ctx, p); err != nil {
			return nil, err
		}
	}
	keys, err := p.a.Keys(pl.schema, p.args)
	if err != nil {
		return nil, err
	}
	keys = pl.foldKeys(keys)
	if p.gen != nil {
		keys = p.gen.keys(p.a, keys)
	}
	if len(keys) == 0 {
		keys = []ledger.Key{ledger.All}
	}
	p.keys = keys
	return p, nil
}

func unsafe(a *router.Analysis, frag, reason, fix string) error {
	return &UnsafeStatementError{Query: a.Text, Fragment: frag, Reason: reason, Fix: fix}
}

// fixVolatile replaces volatile function calls with parameters fixed now.
func (pl *planner) fixVolatile(p *plan) error {
	if len(p.a.Volatile) == 0 {
		return nil
	}
	rw, err := p.a.Rewritten()
	if err != nil {
		var ue *router.UnsafeError
		if errors.As(err, &ue) {
			return unsafe(p.a, ue.Fragment, ue.Reason, ue.Fix)
		}
		return err
	}
	if rw == nil {
		return nil
	}
	a, err := pl.an.Analyze(rw.Text)
	if err != nil {
		return err
	}
	now := time.Now()
	args := append(make([]router.Arg, 0, len(p.args)+len(rw.Gens)), p.args...)
	for i, g := range rw.Gens {
		args = append(args, router.Arg{Ordinal: p.a.NumParams + i + 1, Value: genValue(g, now)})
	}
	p.a, p.args = a, args
	return nil
}

// genValue is the one value a volatile call takes in a statement.
func genValue(g router.Gen, now time.Time) any {
	switch g {
	case router.GenTimestamptz:
		return now
	case router.GenTimestamp:
		return now.Format("2006-01-02 15:04:05.999999")
	case router.GenDate:
		return now.Format("2006-01-02")
	case router.GenTime:
		return now.Format("15:04:05.999999")
	case router.GenRandom:
		return mrand.Float64()
	case router.GenUUID:
		return newUUID()
	}
	return nil
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// insertRewrite caches, per statement text, the INSERT that sets its
// generated columns explicitly.
type insertRewrite struct {
	text string
	gen  []backend.Generated
	rows int          // rows inserted, when the analysis lists none (DEFAULT VALUES: 1)
	my   *myGenerated // MySQL: how to run it on the anchor first
	lite *liteRewrite // SQLite: the INSERT with its generated columns set
}

type rewriteCache struct {
	mu sync.Mutex
	m  map[string]*insertRewrite
}

func (c *rewriteCache) get(text string) (*insertRewrite, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[text]
	return r, ok
}

func (c *rewriteCache) put(text string, r *insertRewrite) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 4096 {
		c.m = map[string]*insertRewrite{}
	}
	c.m[text] = r
}

// reset forgets every rewrite, after DDL.
func (c *rewriteCache) reset() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

// fixGenerated makes an INSERT set its generated columns explicitly, with
// values the anchor generates now.
func (pl *planner) fixGenerated(ctx context.Context, p *plan) error {
	rw, err := pl.insertRewrite(ctx, p.a)
	if err != nil || rw == nil {
		return err
	}
	rows := len(p.a.Tables[0].InsertRows)
	if rw.rows > 0 {
		rows = rw.rows
	}
	exprs := make([]string, len(rw.gen))
	for i, g := range rw.gen {
		exprs[i] = "(" + g.Expr + ")::text"
	}
	anchor, err := pl.anchor()
	if err != nil {
		return err
	}
	r, err := anchor.DB.QueryContext(ctx, "SELECT "+strings.Join(exprs, ", ")+" FROM generate_series(1, $1)", rows)
	if err != nil {
		pl.failed(anchor.Name, err)
		return &BackendError{Backend: anchor.Name, Op: "generate values", Err: err}
	}
	defer r.Close()
	args := append(make([]router.Arg, 0, len(p.args)+rows*len(rw.gen)), p.args...)
	next := p.a.NumParams + 1
	maxSeq := make([]*big.Int, len(rw.gen))
	for r.Next() {
		vals := make([]string, len(rw.gen))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			return &BackendError{Backend: anchor.Name, Op: "generate values", Err: err}
		}
		for i, v := range vals {
			args = append(args, router.Arg{Ordinal: next, Value: v})
			next++
			if rw.gen[i].Sequence == "" {
				continue
			}
			if n, ok := new(big.Int).SetString(v, 10); ok && (maxSeq[i] == nil || n.Cmp(maxSeq[i]) > 0) {
				maxSeq[i] = n
			}
		}
	}
	if err := r.Err(); err != nil {
		return &BackendError{Backend: anchor.Name, Op: "generate values", Err: err}
	}
	a, err := pl.an.Analyze(rw.text)
	if err != nil {
		return err
	}
	// Every backend's sequence moves past the ids the anchor handed out, so
	// ids never collide whichever backend is anchor next (a no-op on the
	// anchor itself).
	for i, g := range rw.gen {
		if maxSeq[i] == nil {
			continue
		}
		p.pre = append(p.pre, ledger.Stmt{
			SQL:  `SELECT setval($1::regclass, $2::bigint) WHERE $2::bigint > coalesce(pg_sequence_last_value($1::regclass), 0)`,
			Args: []any{g.Sequence, maxSeq[i].String()},
		})
	}
	p.a, p.args = a, args
	return nil
}

// insertRewrite returns how to set a's omitted generated columns, nil if
// there are none, or refuses a statement whose rows cannot be counted.
func (pl *planner) insertRewrite(ctx context.Context, a *router.Analysis) (*insertRewrite, error) {
	if a.Kind != router.Write || len(a.Tables) == 0 || !a.Tables[0].Target {
		return nil, nil
	}
	t := a.Tables[0]
	// TODO(v2): have the router say "INSERT" instead of guessing from the text.
	insert := t.InsertCols != nil || t.InsertRows != nil || strings.HasPrefix(strings.ToUpper(strings.TrimSpace(a.Text)), "INSERT")
	if !insert {
		return nil, nil
	}
	if rw, ok := pl.rewrites.get(a.Text); ok {
		return rw, nil
	}
	info, err := pl.schema.Table(ctx, t.Name)
	if err != nil {
		return nil, &BackendError{Backend: "anchor", Op: "read schema", Err: err}
	}
	var gen []backend.Generated
	if info != nil {
		for _, g := range info.Generated {
			switch {
			case g.OnUpdate && !g.Rowid && !backend.VolatileDefault(g.Expr):
				// only UPDATEs set it
			case t.InsertCols != nil && contains(t.InsertCols, g.Column):
			case t.InsertCols == nil && len(t.InsertRows) > 0 && len(t.InsertRows[0]) >= g.Position:
				// given by position
			default:
				gen = append(gen, g)
			}
		}
	}
	var rw *insertRewrite
	if len(gen) > 0 {
		if rw, ok, err := pl.defaultValues(a, gen); err != nil || ok {
			if ok {
				pl.rewrites.put(a.Text, rw)
			}
			return rw, err
		}
		if t.InsertCols == nil || t.InsertRows == nil {
			return nil, unsafe(a, fmt.Sprintf("column %s.%s (default %s)", t.Name, gen[0].Column, gen[0].Expr),
				"would be generated separately on every backend",
				"name the columns and use INSERT … VALUES, or give "+gen[0].Column+" a value")
		}
		for _, g := range gen {
			switch {
			case g.Rowid:
				return nil, unsafe(a, fmt.Sprintf("column %s.%s (generated id)", t.Name, g.Column),
					"would be numbered separately by every "+pl.dialect+" backend",
					"give "+g.Column+" a value explicitly ("+pl.dialect+" ids drawn from the anchor come later)")
			case pl.dialect != "postgres":
				return nil, unsafe(a, fmt.Sprintf("column %s.%s (default %s)", t.Name, g.Column, g.Expr),
					"would be generated separately on every backend",
					"give "+g.Column+" a value explicitly")
			}
		}
		cols, types := make([]string, len(gen)), make([]string, len(gen))
		always := false
		for i, g := range gen {
			cols[i], types[i] = g.Name, g.Type
			always = always || g.Always
		}
		text, err := router.AddInsertColumns(a.Text, cols, types, a.NumParams+1, always)
		if err != nil {
			return nil, err
		}
		rw = &insertRewrite{text: text, gen: gen}
	}
	pl.rewrites.put(a.Text, rw)
	return rw, nil
}

// allDDL reports whether a PostgreSQL text of several statements, sent
// without arguments (so in the simple protocol, as one), is DDL only:
// then it is one entry that takes every key, as each of its statements
// would. Migrations are often written so. Several writes in one text are
// still refused: each would need its own analysis and rewrites.
func (pl *planner) allDDL(a *router.Analysis, args []router.Arg) bool {
	if pl.dialect != "postgres" || len(args) > 0 || a.Kind != router.DDL {
		return false
	}
	parts, err := router.SplitPostgres(a.Text)
	if err != nil {
		return false
	}
	for _, part := range parts {
		pa, err := pl.an.Analyze(part)
		if err != nil || pa.Multi || pa.Kind != router.DDL {
			return false
		}
	}
	return true
}

// defaultValues rewrites a PostgreSQL INSERT … DEFAULT VALUES into one
// that sets its generated columns, like an INSERT … VALUES of one row.
func (pl *planner) defaultValues(a *router.Analysis, gen []backend.Generated) (*insertRewrite, bool, error) {
	t := a.Tables[0]
	if pl.dialect != "postgres" || t.InsertCols != nil || t.InsertRows != nil {
		return nil, false, nil
	}
	cols, types := make([]string, len(gen)), make([]string, len(gen))
	always := false
	for i, g := range gen {
		if g.Rowid {
			return nil, false, nil
		}
		cols[i], types[i] = g.Name, g.Type
		always = always || g.Always
	}
	text, ok, err := router.AddDefaultValuesColumns(a.Text, cols, types, a.NumParams+1, always)
	if err != nil || !ok {
		return nil, false, err
	}
	return &insertRewrite{text: text, gen: gen, rows: 1}, true, nil
}

// totalOrder reports whether an ORDER BY under a LIMIT orders its table's
// rows totally: its columns cover the primary key or a unique key.
func (pl *planner) totalOrder(lo router.LimitOrder) bool {
	if lo.Table == "" || lo.Columns == nil {
		return false
	}
	covers := func(key []string) bool {
		if len(key) == 0 {
			return false
		}
		for _, k := range key {
			if !contains(lo.Columns, k) {
				return false
			}
		}
		return true
	}
	if covers(pl.schema.PrimaryKey(lo.Table)) {
		return true
	}
	for _, u := range pl.schema.UniqueKeys(lo.Table) {
		if covers(u) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Paths a statement can take (DESIGN §5), as [Engine.Path] reports them.
const (
	PathRead     = "read"     // served by one backend with nothing pending on its keys
	PathOrdered  = "ordered"  // through the ledger as it is, or with values fixed by the driver
	PathAnchor   = "anchor"   // through the ledger with values the anchor generated first
	PathRefused  = "refused"  // cannot be made deterministic
	PathControl  = "control"  // transaction control and savepoints
	PathSession  = "session"  // refused outside a transaction
	PathUnparsed = "unparsed" // the parser rejects it
)

// Path says which way query would go, binding every parameter to 1: one
// of the Path constants, or "error: " and why. It may draw values from the
// anchor's sequences. The corpus tests hold GORM's statements to it.
func (e *Engine) Path(ctx context.Context, query string) string {
	a, err := e.an.Analyze(query)
	if err != nil {
		return PathUnparsed
	}
	switch a.Kind {
	case router.Read:
		return PathRead
	case router.Session:
		return PathSession
	case router.Write, router.DDL:
	default:
		return PathControl
	}
	args := make([]router.Arg, a.NumParams)
	for i := range args {
		args[i] = router.Arg{Ordinal: i + 1, Value: int64(1)}
	}
	p, err := e.pl.plan(ctx, a, args)
	switch {
	case err != nil:
		var ue *UnsafeStatementError
		if errors.As(err, &ue) {
			return PathRefused
		}
		return "error: " + err.Error()
	case p.gen != nil || len(p.pre) > 0 || len(p.args) > len(args) && (e.pl.dialect == "sqlite" || e.pl.generated(ctx, a)):
		return PathAnchor
	}
	return PathOrdered
}

// generated reports whether a leaves generated columns to the anchor.
func (pl *planner) generated(ctx context.Context, a *router.Analysis) bool {
	rw, err := pl.insertRewrite(ctx, a)
	return err == nil && rw != nil
}
