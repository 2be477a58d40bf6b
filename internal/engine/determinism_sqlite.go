package engine

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/router"
)

// liteRewrite is a SQLite INSERT rewritten to set its generated columns.
type liteRewrite struct {
	text string
	gen  []backend.Generated
}

// fixSQLite makes a SQLite INSERT that leaves its INTEGER PRIMARY KEY (the
// rowid) or a volatile default (CURRENT_TIMESTAMP, random()) to the database
// set them explicitly, with values drawn from the anchor before the ledger,
// as PostgreSQL's ids are: ids come from the anchor's largest rowid (and
// sqlite_sequence, for AUTOINCREMENT), kept ahead of every id this process
// has handed out; defaults are the anchor's evaluation of the column's
// default expression. INSERT … DEFAULT VALUES becomes a one-row INSERT …
// VALUES of those columns. The statement is then an ordinary deterministic
// write. An INTEGER PRIMARY KEY given NULL as an argument, or as a literal
// NULL in a VALUES row, gets an id drawn the same way (fillNullIDs).
func (pl *planner) fixSQLite(ctx context.Context, p *plan) error {
	a := p.a
	if a.Kind == router.DDL {
		pl.forgetRowids(a)
		return nil
	}
	if a.Kind != router.Write || !isInsert(a) {
		return nil
	}
	t := &a.Tables[0]
	rw, ok := pl.rewrites.get(a.Text)
	if !ok {
		info, err := pl.schema.Table(ctx, t.Name)
		if err != nil {
			return &BackendError{Backend: "anchor", Op: "read schema", Err: err}
		}
		var gen []backend.Generated
		if info != nil {
			for _, g := range info.Generated {
				given := contains(t.InsertCols, g.Column) || t.InsertCols == nil && len(t.InsertRows) > 0 && len(t.InsertRows[0]) >= g.Position
				if !given {
					gen = append(gen, g)
				}
			}
		}
		if len(gen) > 0 {
			g := gen[0]
			what := "default " + g.Expr
			if g.Rowid {
				what = "INTEGER PRIMARY KEY"
			}
			names := make([]string, len(gen))
			for i, g := range gen {
				names[i] = g.Name
			}
			// INSERT … DEFAULT VALUES (GORM, for a model with no fields
			// but its id) inserts one row: it becomes a one-row INSERT …
			// VALUES of the generated columns.
			if text, ok, err := router.AddSQLiteDefaultValuesColumns(a.Text, names, a.NumParams+1); ok || err != nil {
				if err != nil {
					return unsafe(a, fmt.Sprintf("column %s.%s (%s)", t.Name, g.Column, what),
						"would be generated separately on every backend, and this DEFAULT VALUES could not be rewritten to carry the anchor's values ("+err.Error()+")",
						"name the columns and use INSERT … VALUES")
				}
				rw = &insertRewrite{text: a.Text, rows: 1, lite: &liteRewrite{text: text, gen: gen}}
				pl.rewrites.put(a.Text, rw)
				return pl.fillLite(ctx, p, rw)
			}
			if t.InsertCols == nil || t.InsertRows == nil {
				return unsafe(a, fmt.Sprintf("column %s.%s (%s)", t.Name, g.Column, what),
					"would be generated separately on every backend",
					"name the columns and use INSERT … VALUES, or give "+g.Column+" a value")
			}
			text, err := router.AddSQLiteInsertColumns(a.Text, names, a.NumParams+1)
			if err != nil {
				return unsafe(a, fmt.Sprintf("column %s.%s (%s)", t.Name, g.Column, what),
					"would be generated separately on every backend, and this text could not be rewritten to carry the anchor's values ("+err.Error()+")",
					"use ? placeholders, or give "+g.Column+" a value")
			}
			rw = &insertRewrite{text: a.Text, lite: &liteRewrite{text: text, gen: gen}}
		}
		pl.rewrites.put(a.Text, rw)
	}
	if info, err := pl.schema.Table(ctx, t.Name); err == nil && info != nil {
		for _, g := range info.Generated {
			if g.Rowid && t.LeavesToDatabase(g.Column, false, p.args) {
				if err := pl.fillNullIDs(ctx, p, t, g); err != nil {
					return err
				}
			}
		}
	}
	if rw == nil || rw.lite == nil {
		return nil
	}
	if p.a != a {
		return unsafe(a, fmt.Sprintf("table %s: NULL ids beside omitted generated columns", t.Name),
			"cannot be rewritten in one statement yet", "pass the ids as arguments, or give the other columns values")
	}
	return pl.fillLite(ctx, p, rw)
}

// fillLite draws the values of the generated columns rw sets from the
// anchor and makes p the rewritten INSERT with them as arguments.
func (pl *planner) fillLite(ctx context.Context, p *plan, rw *insertRewrite) error {
	a := p.a
	t := &a.Tables[0]
	lw := rw.lite
	rows := len(t.InsertRows)
	if rw.rows > 0 {
		rows = rw.rows
	}
	vals := make([][]any, rows) // per row, per generated column
	for i := range vals {
		vals[i] = make([]any, len(lw.gen))
	}
	anchor, err := pl.anchor()
	if err != nil {
		return err
	}
	var exprs []string
	var exprCols []int
	for i, g := range lw.gen {
		if !g.Rowid {
			exprs = append(exprs, g.Expr)
			exprCols = append(exprCols, i)
			continue
		}
		first, err := pl.drawRowids(ctx, anchor, t.Name, g, rows, 0)
		if err != nil {
			return err
		}
		for r := range rows {
			vals[r][i] = first + int64(r)
		}
		p.lastID = first + int64(rows) - 1
	}
	if len(exprs) > 0 {
		// One statement, so CURRENT_TIMESTAMP is one instant for every
		// row, as in the INSERT itself; random() differs per row.
		q := "WITH RECURSIVE calibrated_n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM calibrated_n WHERE i < ?) SELECT " +
			strings.Join(exprs, ", ") + " FROM calibrated_n"
		r, err := anchor.DB.QueryContext(ctx, q, rows)
		if err != nil {
			pl.failed(anchor.Name, err)
			return &BackendError{Backend: anchor.Name, Op: "generate values", Err: err}
		}
		n := 0
		for r.Next() && n < rows {
			got := make([]any, len(exprs))
			ptrs := make([]any, len(got))
			for i := range got {
				ptrs[i] = &got[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				r.Close()
				return &BackendError{Backend: anchor.Name, Op: "generate values", Err: err}
			}
			for i, c := range exprCols {
				vals[n][c] = got[i]
			}
			n++
		}
		err = r.Err()
		r.Close()
		if err != nil || n != rows {
			return &BackendError{Backend: anchor.Name, Op: "generate values", Err: fmt.Errorf("calibrated: %d of %d rows of default values: %v", n, rows, err)}
		}
	}
	na, err := pl.an.Analyze(lw.text)
	if err != nil {
		return err
	}
	args := append(make([]router.Arg, 0, len(p.args)+rows*len(lw.gen)), p.args...)
	next := a.NumParams + 1
	for _, row := range vals {
		for _, v := range row {
			args = append(args, router.Arg{Ordinal: next, Value: v})
			next++
		}
	}
	p.a, p.args = na, args
	return nil
}

// fillNullIDs gives the rows of an INSERT that pass NULL for the INTEGER
// PRIMARY KEY g (as GORM does for the new records of a batch that also
// holds existing ones) ids drawn from the anchor, by replacing those
// arguments; ids are drawn above every id the statement gives explicitly.
// A NULL written in the text, an expression, or one argument given to
// several rows is refused.
func (pl *planner) fillNullIDs(ctx context.Context, p *plan, t *router.Table, g backend.Generated) error {
	refuse := func() error {
		return unsafe(p.a, fmt.Sprintf("column %s.%s (INTEGER PRIMARY KEY) given NULL in the text or an expression", t.Name, g.Column),
			"would be numbered separately by every backend",
			"omit "+g.Column+" from the INSERT, pass NULL as an argument, or give it a value")
	}
	col := slices.Index(t.InsertCols, g.Column)
	if col < 0 || t.InsertRows == nil {
		return refuse()
	}
	null := router.FormatValue(nil)
	var fill []int // indexes in p.args, in row order
	var floor int64
	// NULL written in the text (GORM's SQLite dialect writes it for the new
	// records of a batch): each becomes a parameter of its own.
	nulls := 0
	for _, row := range t.InsertRows {
		if col < len(row) && row[col].Param == 0 && !row[col].Expr && row[col].Const == null {
			nulls++
		}
	}
	if nulls > 0 {
		text, which, err := router.ReplaceSQLiteInsertNulls(p.a.Text, g.Column, p.a.NumParams+1)
		if err != nil || len(which) != nulls {
			return refuse()
		}
		na, err := pl.an.Analyze(text)
		if err != nil {
			return err
		}
		args := append([]router.Arg(nil), p.args...)
		for k := range which {
			args = append(args, router.Arg{Ordinal: p.a.NumParams + 1 + k})
		}
		p.a, p.args = na, args
		t = &na.Tables[0]
	}
	for _, row := range t.InsertRows {
		if col >= len(row) || row[col].Expr {
			return refuse()
		}
		src := row[col]
		if src.Param == 0 {
			if src.Const == null {
				return refuse()
			}
			if n, err := strconv.ParseInt(src.Const, 10, 64); err == nil {
				floor = max(floor, n+1)
			}
			continue
		}
		i := slices.IndexFunc(p.args, func(nv router.Arg) bool { return nv.Ordinal == src.Param })
		if i < 0 {
			return refuse()
		}
		if p.args[i].Value != nil {
			if n, err := strconv.ParseInt(router.FormatValue(p.args[i].Value), 10, 64); err == nil {
				floor = max(floor, n+1)
			}
			continue
		}
		if slices.Contains(fill, i) {
			return refuse()
		}
		fill = append(fill, i)
	}
	anchor, err := pl.anchor()
	if err != nil {
		return err
	}
	first, err := pl.drawRowids(ctx, anchor, t.Name, g, len(fill), floor)
	if err != nil {
		return err
	}
	args := append([]router.Arg(nil), p.args...)
	for k, i := range fill {
		args[i].Value = first + int64(k)
	}
	p.args = args
	p.lastID = first + int64(len(fill)) - 1
	return nil
}

// liteIDs keeps, per engine and table, the next rowid this process may hand
// out: ids drawn for writes not yet applied on the anchor are not in its
// max(rowid).
var liteIDs = struct {
	sync.Mutex
	next map[liteIDKey]int64
}{next: map[liteIDKey]int64{}}

type liteIDKey struct {
	pl    *planner
	table string
}

// forgetRowids forgets the next rowids kept for the tables a DDL statement
// names, so that a table dropped and created anew numbers its rows from 1,
// as SQLite does (GORM's tests DropTable, AutoMigrate and expect id 1). An
// INSERT into such a table that drew its id before and is applied after
// the DDL can meet an id drawn again: the later one fails with a unique
// violation on every backend alike.
func (pl *planner) forgetRowids(a *router.Analysis) {
	liteIDs.Lock()
	defer liteIDs.Unlock()
	for _, t := range a.Tables {
		delete(liteIDs.next, liteIDKey{pl, t.Name})
	}
}

// drawRowids reserves n consecutive rowids for table and returns the first.
// Two processes sharing a ledger and drawing at once from the same anchor
// can draw the same ids: the second INSERT then fails with a unique
// violation on every backend alike, and the backends stay identical.
func (pl *planner) drawRowids(ctx context.Context, anchor *backend.Backend, table string, g backend.Generated, n int, floor int64) (int64, error) {
	q := "SELECT coalesce(max(rowid), 0) FROM " + liteQuote(table)
	args := []any{}
	if g.Autoincrement {
		q = "SELECT max(coalesce((SELECT max(rowid) FROM " + liteQuote(table) + "), 0), coalesce((SELECT seq FROM sqlite_sequence WHERE name = ?), 0))"
		args = append(args, table)
	}
	var top int64
	if err := anchor.DB.QueryRowContext(ctx, q, args...).Scan(&top); err != nil {
		pl.failed(anchor.Name, err)
		return 0, &BackendError{Backend: anchor.Name, Op: "draw ids", Err: err}
	}
	liteIDs.Lock()
	defer liteIDs.Unlock()
	k := liteIDKey{pl, table}
	first := max(top+1, liteIDs.next[k], floor)
	liteIDs.next[k] = first + int64(n)
	return first, nil
}

// liteQuote quotes a table name as the router spells it (schema.name).
func liteQuote(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
	}
	return strings.Join(parts, ".")
}

// orderInsertSelect gives a SQLite INSERT … SELECT that copies one table
// without an order (GORM's SQLite migrator rebuilding a table) an ORDER BY
// over the source table's primary key, or its rowid: a total order, so
// every backend inserts the rows in the same order and numbers them alike.
// Statements it cannot order are left to be refused.
func (pl *planner) orderInsertSelect(ctx context.Context, p *plan) error {
	if p.a.Unordered != "INSERT ... SELECT without ORDER BY" {
		return nil
	}
	src, err := router.ParseSQLiteInsertSelect(p.a.Text)
	if err != nil {
		return nil
	}
	var order []string
	for _, c := range pl.schema.PrimaryKey(src.Table) {
		order = append(order, src.Qual+`."`+strings.ReplaceAll(c, `"`, `""`)+`"`)
	}
	if len(order) == 0 {
		order = []string{src.Qual + ".rowid"}
	}
	text := p.a.Text[:src.At] + " ORDER BY " + strings.Join(order, ", ") + p.a.Text[src.At:]
	a, err := pl.an.Analyze(text)
	if err != nil || a.Unordered != "" || a.NumParams != p.a.NumParams {
		return nil
	}
	p.a = a
	return nil
}
