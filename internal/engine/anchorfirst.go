package engine

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/router"
)

// The anchor-first path of DESIGN §5 for MySQL: a write whose ids only the
// anchor's execution can tell runs on the anchor inside a transaction, and
// the other backends replay it, rewritten to carry those ids, from the
// transaction's Commit entry. An autocommit write takes this path inside a
// transaction of its own.

// execWrite runs an autocommit write and returns the anchor's result.
func (e *Engine) execWrite(ctx context.Context, c *Session, a *router.Analysis, args []router.Arg) (sql.Result, error) {
	p, err := e.pl.plan(ctx, a, args)
	if err != nil {
		return nil, err
	}
	c.foreignKeys(p) // SQLite: the conn's PRAGMA foreign_keys
	if c.fkOff {
		if err := withoutFKChecks(p); err != nil {
			return nil, err
		}
	}
	if p.anchorFirst() {
		return e.implicitTx(ctx, c, func(t *Tx) (sql.Result, error) { return t.exec(ctx, a.Text, args) })
	}
	r, err := e.writePlan(ctx, p, a.Kind, false)
	if err != nil {
		return nil, err
	}
	return e.result(r.Outcome.Rows, p.lastID), nil
}

// queryWrite runs an autocommit write through QueryContext and returns the
// rows the anchor gave (RETURNING).
func (e *Engine) queryWrite(ctx context.Context, c *Session, a *router.Analysis, args []router.Arg) (*Rows, error) {
	p, err := e.pl.plan(ctx, a, args)
	if err != nil {
		return nil, err
	}
	c.foreignKeys(p) // SQLite: the conn's PRAGMA foreign_keys
	if p.anchorFirst() {
		var out *Rows
		_, err := e.implicitTx(ctx, c, func(t *Tx) (sql.Result, error) {
			r, err := t.query(ctx, a.Text, args)
			out = r
			return nil, err
		})
		return out, err
	}
	r, err := e.writePlan(ctx, p, a.Kind, a.Returning)
	if err != nil {
		return nil, err
	}
	return bufferedRows(r), nil
}

// result is the sql.Result of an ordered write.
func (e *Engine) result(rows, lastID int64) result {
	return result{rows: rows, id: lastID, ids: e.cfg.Dialect != "postgres"}
}

// implicitTx runs f in a transaction of its own, as the database would run
// an autocommit statement.
func (e *Engine) implicitTx(ctx context.Context, c *Session, f func(*Tx) (sql.Result, error)) (sql.Result, error) {
	t, err := e.begin(ctx, c, sql.TxOptions{})
	if err != nil {
		return nil, err
	}
	res, err := f(t)
	if err != nil {
		_ = t.Rollback()
		return nil, err
	}
	if err := t.Commit(); err != nil {
		return nil, err
	}
	return res, nil
}

// post runs a write's closing statements (SET timestamp = DEFAULT) on the
// anchor, on every path out of the statement, even when the caller's
// context has been cancelled meanwhile. Their failure (a broken
// connection, which the pool drops, or a transaction that the pool rolled
// back on cancellation first) is logged: a connection kept could give a
// later statement a fixed NOW().
func (t *Tx) post(ctx context.Context, st *txStmt) {
	if st.p == nil {
		return
	}
	for _, s := range st.p.post {
		if _, err := t.atx.ExecContext(context.WithoutCancel(ctx), s.SQL, s.Args...); err != nil {
			t.e.log.Warn("calibrated: cannot reset the anchor's session", "sql", s.SQL, "err", err)
		}
	}
}

// queryBuffered runs a write that must be followed by closing statements,
// or that takes ids from the anchor, through QueryContext: its rows are
// read before the closing statements run on the same connection.
func (t *Tx) queryBuffered(ctx context.Context, st *txStmt) (*Rows, error) {
	if st.p.gen != nil {
		_, ids, ret, err := t.runGenerated(ctx, st)
		if err != nil || st.p.ret == nil {
			return &Rows{Buf: &backend.Buffered{}}, err
		}
		if ret != nil {
			return &Rows{Buf: ret}, nil // each row's own RETURNING
		}
		// RETURNING for the rows inserted, in the order of their ids,
		// which is the order they were inserted in.
		g := st.p.gen
		col := "`" + strings.ReplaceAll(g.col, "`", "``") + "`"
		where := "FALSE"
		if len(ids) > 0 {
			list := make([]string, len(ids))
			for i, id := range ids {
				list[i] = strconv.FormatInt(id, 10)
			}
			where = col + " IN (" + strings.Join(list, ", ") + ")"
		}
		q := "SELECT " + st.p.ret.list + " FROM " + myQuote(st.p.a.Tables[0].Name) + " WHERE " + where + " ORDER BY " + col
		b, err := backend.Buffer(t.atx.QueryContext(ctx, q))
		if err != nil {
			return nil, &BackendError{Backend: t.anchor.Name, Op: "query", Err: err}
		}
		return &Rows{Buf: b}, nil
	}
	text := st.text
	if st.p.ret != nil {
		text = st.p.ret.text
	}
	b, err := backend.Buffer(t.atx.QueryContext(ctx, text, namedArgs(st.args)...))
	t.post(ctx, st)
	if err != nil {
		return nil, &BackendError{Backend: t.anchor.Name, Op: "query", Err: err}
	}
	t.record(st)
	return &Rows{Buf: b}, nil
}

// execGenerated runs a MySQL INSERT that leaves its AUTO_INCREMENT column to
// the database on the anchor, and records it for the other backends with
// the ids the anchor gave. A plain INSERT that omits the column runs whole:
// MySQL numbers the rows of a simple INSERT consecutively,
// auto_increment_increment apart, from the LastInsertId it reports (which
// is what GORM and MySQL's own statement-based replication rely on), so it
// is replayed with those ids. INSERT IGNORE, ON DUPLICATE KEY UPDATE and
// REPLACE run row by row, so that each row's result says whether it was
// inserted and with which id; so does an INSERT that gives the column in
// every row but leaves it to the database in some (NULL, 0, DEFAULT: a
// "mixed-mode insert", whose ids MySQL does not hand out consecutively),
// which is replayed as one statement with every id explicit.
// All of it runs behind a savepoint, so a failure part way leaves nothing
// on the anchor that the ledger does not have.
func (t *Tx) execGenerated(ctx context.Context, st *txStmt) (sql.Result, error) {
	res, _, _, err := t.runGenerated(ctx, st)
	if err != nil {
		return nil, err
	}
	return res, nil
}

// runGenerated is execGenerated; it also returns the ids of the rows
// inserted, in order, and, for a MariaDB RETURNING run row by row, the
// rows each row's own RETURNING gave (ON DUPLICATE KEY UPDATE returns
// every proposed row, updated or not, which GORM assigns to its records
// in order; IGNORE only the rows inserted).
func (t *Tx) runGenerated(ctx context.Context, st *txStmt) (result, []int64, *backend.Buffered, error) {
	g := st.p.gen
	fail := func(op string, err error) error {
		_, _ = t.atx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT calibrated_generated")
		t.post(ctx, st)
		return &BackendError{Backend: t.anchor.Name, Op: op, Err: err}
	}
	if _, err := t.atx.ExecContext(ctx, "SAVEPOINT calibrated_generated"); err != nil {
		t.post(ctx, st)
		return result{}, nil, nil, &BackendError{Backend: t.anchor.Name, Op: "exec", Err: err}
	}
	pick := func(idx []int) ([]any, error) {
		vals := make([]any, len(idx))
		for i, n := range idx {
			if n >= len(st.args) {
				return nil, fmt.Errorf("calibrated: statement has %d arguments, wants argument %d", len(st.args), n+1)
			}
			vals[i] = st.args[n].Value
		}
		return vals, nil
	}
	n := g.shape.Rows()
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	var replay []ledger.Stmt
	var affected, lastID int64
	var inserted []int64
	var ret *backend.Buffered
	if !g.split && g.pos == 0 {
		res, err := t.atx.ExecContext(ctx, st.text, namedArgs(st.args)...)
		if err != nil {
			return result{}, nil, nil, fail("exec", err)
		}
		first, err1 := res.LastInsertId()
		rows, err2 := res.RowsAffected()
		if err1 != nil || err2 != nil || rows != int64(n) || first <= 0 {
			return result{}, nil, nil, fail("exec", fmt.Errorf("calibrated: the anchor inserted %d of %d rows, first id %d: cannot tell the ids it gave (%v, %v)", rows, n, first, err1, err2))
		}
		inc, err := t.autoIncrement(ctx)
		if err != nil {
			return result{}, nil, nil, fail("read auto_increment_increment", err)
		}
		ids := make([]string, n)
		for i := range ids {
			ids[i] = strconv.FormatInt(first+int64(i)*inc, 10)
			inserted = append(inserted, first+int64(i)*inc)
		}
		text, idx := g.shape.Text(all, g.col, ids)
		vals, err := pick(idx)
		if err != nil {
			return result{}, nil, nil, fail("exec", err)
		}
		replay = append(replay, ledger.Stmt{SQL: text, Args: vals})
		affected, lastID = rows, first
	} else {
		// Row by row: each row's result tells whether it was inserted and
		// its id, which for a single row is the value stored in the
		// AUTO_INCREMENT column, generated or given.
		// firstGen and lastGiven give LastInsertId as MySQL reports it for
		// the whole statement: the first id generated for a row inserted,
		// else the last id given explicitly to a row inserted.
		var firstGen, lastGiven int64
		returning := st.p.ret != nil
		col := "`" + strings.ReplaceAll(g.col, "`", "``") + "`"
		ids := make([]string, n) // a plain INSERT's rows: the anchor's id where the row left it
		for r := range n {
			text, idx := g.shape.Text([]int{r}, "", nil)
			vals, err := pick(idx)
			if err != nil {
				return result{}, nil, nil, fail("exec", err)
			}
			var rows, id int64
			var ins bool
			if returning {
				// The row's own RETURNING, with the id after it: a row
				// back means inserted (IGNORE), or inserted or updated
				// (ON DUPLICATE KEY UPDATE), when the id is that of the
				// row updated, which a replay with it updates alike.
				b, err := backend.Buffer(t.atx.QueryContext(ctx, text+" RETURNING "+st.p.ret.list+", "+col, vals...))
				if err != nil {
					return result{}, nil, nil, fail("query", err)
				}
				if ret == nil {
					ret = &backend.Buffered{Columns: b.Columns[:len(b.Columns)-1]}
				}
				for _, v := range b.Values {
					ret.Values = append(ret.Values, v[:len(v)-1])
				}
				if len(b.Values) > 1 {
					return result{}, nil, nil, fail("query", fmt.Errorf("calibrated: the anchor returned %d rows for one VALUES row", len(b.Values)))
				}
				if len(b.Values) == 1 {
					if id, err = asID(b.Values[0][len(b.Columns)-1]); err != nil {
						return result{}, nil, nil, fail("query", err)
					}
					rows, ins = 1, true
				}
			} else {
				res, err := t.atx.ExecContext(ctx, text, vals...)
				if err != nil {
					return result{}, nil, nil, fail("exec", err)
				}
				var err1, err2 error
				rows, err1 = res.RowsAffected()
				id, err2 = res.LastInsertId()
				if err1 != nil || err2 != nil {
					return result{}, nil, nil, fail("exec", fmt.Errorf("calibrated: no row count or id from the anchor: %v, %v", err1, err2))
				}
				// ON DUPLICATE KEY UPDATE reports 1 for an inserted row, 2
				// for an updated one, 0 for one left as it was; IGNORE 1
				// or 0; REPLACE 1 or more, always inserting.
				ins = rows == 1 || g.replace && rows > 1
			}
			leaves := st.p.leaves == nil || st.p.leaves[r]
			if ins && id > 0 {
				inserted = append(inserted, id)
			}
			switch {
			case !leaves:
				if ins && id > 0 {
					lastGiven = id
				}
			case ins && id > 0:
				if firstGen == 0 {
					firstGen = id
				}
				lit := strconv.FormatInt(id, 10)
				if g.pos == 0 {
					text, _ = g.shape.Text([]int{r}, g.col, []string{lit})
				} else {
					text, _ = g.shape.Replace([]int{r}, g.pos-1, []string{lit})
				}
				ids[r] = lit
			case ins || !g.split:
				// Inserted (as a plain INSERT's row must be) without an
				// id: stored 0 under NO_AUTO_VALUE_ON_ZERO, which another
				// backend would number.
				return result{}, nil, nil, fail("exec", fmt.Errorf("calibrated: the anchor inserted row %d of %d with id %d: cannot tell the id it stored", r+1, n, id))
			}
			if g.split {
				// Ignored or updated rows are replayed as written, and
				// meet the same rows on every backend.
				replay = append(replay, ledger.Stmt{SQL: text, Args: vals})
			}
			affected += rows
		}
		if !g.split {
			// One statement for the other backends, every id explicit.
			text, idx := g.shape.Replace(all, g.pos-1, ids)
			vals, err := pick(idx)
			if err != nil {
				return result{}, nil, nil, fail("exec", err)
			}
			replay = append(replay, ledger.Stmt{SQL: text, Args: vals})
		}
		lastID = firstGen
		if lastID == 0 {
			lastID = lastGiven
		}
	}
	t.post(ctx, st)
	t.stmts = append(t.stmts, st.p.pre...)
	t.stmts = append(t.stmts, replay...)
	t.stmts = append(t.stmts, st.p.post...)
	return result{rows: affected, id: lastID, ids: true}, inserted, ret, nil
}

// asID reads an id a RETURNING gave.
func asID(v any) (int64, error) {
	switch x := v.(type) {
	case int64:
		return x, nil
	case uint64:
		return int64(x), nil
	case []byte:
		return strconv.ParseInt(string(x), 10, 64)
	case string:
		return strconv.ParseInt(x, 10, 64)
	}
	return 0, fmt.Errorf("calibrated: the anchor returned id %v (%T)", v, v)
}

// myIncrements caches each MySQL backend's auto_increment_increment, by its
// pool: a server setting that does not change under a running application.
var myIncrements sync.Map // *sql.DB -> int64

// autoIncrement returns the anchor's auto_increment_increment, read in the
// transaction's own session.
func (t *Tx) autoIncrement(ctx context.Context) (int64, error) {
	if v, ok := myIncrements.Load(t.anchor.DB); ok {
		if n, ok := v.(int64); ok {
			return n, nil
		}
	}
	var n int64
	if err := t.atx.QueryRowContext(ctx, "SELECT @@session.auto_increment_increment").Scan(&n); err != nil {
		return 0, err
	}
	if n < 1 {
		n = 1
	}
	myIncrements.Store(t.anchor.DB, n)
	return n, nil
}

// myQuote quotes a table name as the router spells it (db.name).
func myQuote(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = "`" + strings.ReplaceAll(p, "`", "``") + "`"
	}
	return strings.Join(parts, ".")
}
