// SQLite dialect: the parser, chosen by measurement (DESIGN §6).
//
// Corpus: testdata/gorm-sqlite.sql, 313 statements: what GORM v1.31.2 with
// the pure-Go SQLite dialector github.com/glebarez/sqlite v1.11.0 sends to a
// database file for the workload behind testdata/gorm-postgres.sql
// (AutoMigrate, the migrator's column changes, create, batch create, upserts,
// finds, joins, preloads, associations, updates, deletes, nested
// transactions) and for models shaped after GORM's own tests, recorded at
// the database/sql driver; raw statements an application sends through GORM
// (PRAGMA, datetime('now'), RETURNING, ?NNN and named parameters, BEGIN
// IMMEDIATE, triggers, views, STRICT and WITHOUT ROWID tables); and the
// demo's statements. internal/corpusgen produces it
// (go generate ./router/; testdata/README.md). SQLite itself
// (modernc.org/sqlite) accepted every line of its first, 210-statement
// version.
//
// Parsing each line of that 210-statement version, on this project's
// machine (2 cores, go1.26; medians of 5 runs, which varied by ±30% on the
// shared machine):
//
//	parser                                        parsed   µs a statement
//	github.com/sqlc-dev/meyer v0.1.2              210/210  4.7
//	github.com/pingcap/tidb/pkg/parser (§6 pin)   135/210  8.3 (12 against meyer's 4.7 on the 135 both parse)
//	github.com/rqlite/sql                         not served by the module proxy (403), nor is its
//	                                              origin github.com/benbjohnson/sql
//
// TiDB's MySQL grammar rejects what GORM's SQLite dialect sends for every
// Create since SQLite 3.35 (INSERT ... RETURNING), every upsert (ON CONFLICT
// ... DO NOTHING / DO UPDATE), every AutoMigrate of a model with an
// auto-increment key (INTEGER PRIMARY KEY AUTOINCREMENT), the migrator's
// PRAGMAs and pragma_* table functions, DEFAULT VALUES, UPDATE ... FROM,
// DELETE ... RETURNING, datetime('now'), ?NNN and :name parameters and BEGIN
// IMMEDIATE. meyer is a hand-written recursive-descent port of SQLite's own
// parse.y (MIT, no dependencies, no side effects at import beyond building a
// keyword table) that accepts exactly what SQLite's parser accepts, numbers
// parameters as sqlite3ExprAssignVarNumber does, and gives every node its
// byte span. So: meyer. The whole analysis (parse and walk) costs 5-8 µs a
// corpus statement (BenchmarkAnalyzeSQLiteCorpus) and 10 µs for
// BenchmarkAnalyzeSQLiteNew's GORM query, against 55-70 µs for the
// PostgreSQL dialect's BenchmarkAnalyzeNew measured alongside; it is cached
// by text like it.
//
// Volatile fragments are refused rather than rewritten for now: SQLite's
// datetime('now') and CURRENT_TIMESTAMP are UTC text of second precision and
// random() is a 64-bit integer, which the PostgreSQL-typed [Gen] values do
// not reproduce, so a rewrite needs SQLite kinds of value first.

package router

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sqlc-dev/meyer/ast"
	lite "github.com/sqlc-dev/meyer/parser"
)

// parseSQLite analyses text with SQLite's grammar. Names are normalised the
// way SQLite compares them: identifiers, quoted or not, are lower-cased
// (ASCII only, as SQLite folds case), and the schema "main" is dropped.
// Parameters bind as modernc.org/sqlite binds them: the n-th ? (numbered as
// SQLite numbers it, after any ?NNN) and ?n and $n take the argument of
// ordinal n; :name, @name and $name take a named argument, so their values
// are unknown to the keys.
func parseSQLite(text string) (a *Analysis, err error) {
	if strings.IndexByte(text, 0) >= 0 {
		// SQLite reads a C string and would silently stop at the NUL.
		return nil, &ParseError{Text: text, Err: errors.New("statement contains a NUL byte")}
	}
	defer func() {
		// A driver must not bring the application down over a statement
		// text; refusing it is enough.
		if r := recover(); r != nil {
			a, err = nil, &ParseError{Text: text, Err: fmt.Errorf("SQLite parser failed: %v", r)}
		}
	}()
	stmts, err := lite.ParseString(text)
	if err != nil {
		return nil, &ParseError{Text: text, Err: err}
	}
	a = &Analysis{Text: text, Kind: Session, Multi: len(stmts) > 1}
	w := liteWalker{text: text}
	for i, s := range stmts {
		w.prepare(s, len(stmts) > 1)
		if k := w.statement(s, a); i == 0 || rank(k) > rank(a.Kind) {
			a.Kind = k
		}
	}
	w.finish(a)
	a.NumParams = w.params
	if w.unsafe != nil {
		a.rewriteErr = w.unsafe
	}
	a.rewriteDone = true
	return a, nil
}

// liteWalker collects what SQLite statements touch while it visits their
// syntax trees.
type liteWalker struct {
	occurrences
	text   string
	params int
	nums   map[*ast.BindParam]int // per-statement parameter numbers of a text of several statements

	// unsafe is the refusal of the first volatile fragment, in text order,
	// that a statement evaluates on every backend; unsafePos its offset.
	unsafe    *UnsafeError
	unsafePos int
}

// prepare numbers the parameters of one top-level statement and records its
// volatile fragments, before the statement is walked for tables.
func (w *liteWalker) prepare(s ast.Stmt, multi bool) {
	sc := liteScope(s, multi)
	var params []*ast.BindParam
	ast.Walk(s, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.BindParam:
			params = append(params, x)
		case *ast.Literal, *ast.FuncCall:
			w.volatileAt(n, sc)
		}
		return true
	})
	if multi {
		// Each statement of a text binds the arguments afresh, so numbers
		// restart at 1; the parser numbers across the whole text.
		slices.SortFunc(params, func(x, y *ast.BindParam) int { return x.Pos() - y.Pos() })
		if w.nums == nil {
			w.nums = make(map[*ast.BindParam]int, len(params))
		}
		n, named := 0, map[string]int{}
		for _, p := range params {
			switch p.Kind {
			case ast.ParamAnon:
				n++
				w.nums[p] = n
			case ast.ParamNumber:
				w.nums[p] = p.Number
				n = max(n, p.Number)
			default:
				if _, ok := named[p.Raw]; !ok {
					n++
					named[p.Raw] = n
				}
				w.nums[p] = named[p.Raw]
			}
		}
	}
	for _, p := range params {
		w.params = max(w.params, w.number(p))
		if src := w.param(p); src.Param > 0 {
			w.params = max(w.params, src.Param)
		}
	}
}

// number returns SQLite's number of a parameter: its index among the
// statement's parameters.
func (w *liteWalker) number(p *ast.BindParam) int {
	if n, ok := w.nums[p]; ok {
		return n
	}
	return p.Number
}

// param returns the argument a parameter binds, as modernc.org/sqlite binds
// it.
func (w *liteWalker) param(p *ast.BindParam) Source {
	switch p.Kind {
	case ast.ParamAnon, ast.ParamNumber:
		if n := w.number(p); n > 0 {
			return Source{Param: n}
		}
	case ast.ParamDollar:
		// $1 is a named parameter to SQLite, but the driver binds it to
		// the argument of ordinal 1.
		if n, err := strconv.Atoi(p.Name); err == nil && n > 0 && strings.Trim(p.Name, "0123456789") == "" {
			return Source{Param: n}
		}
	}
	return Source{Expr: true}
}

// liteScope returns how a top-level statement evaluates its expressions.
func liteScope(s ast.Stmt, multi bool) scope {
	ddl := scope{mode: noParams, why: "is evaluated by a DDL statement, which cannot take parameters", fix: "compute the value in the application and write it into the statement"}
	switch x := s.(type) {
	case *ast.InsertStmt, *ast.UpdateStmt, *ast.DeleteStmt:
		if multi {
			return scope{mode: noParams, why: "is in a text of several statements, which cannot take parameters", fix: "send one statement per call"}
		}
		return scope{mode: evaluated}
	case *ast.CreateTableStmt:
		if x.Select != nil {
			return ddl
		}
		// The new table is empty: defaults, checks and generated columns
		// are evaluated by later writes.
		return scope{mode: deferred}
	case *ast.CreateViewStmt, *ast.CreateTriggerStmt, *ast.CreateIndexStmt, *ast.AlterTableStmt, *ast.CreateVirtualTableStmt:
		// Stored for later; SQLite refuses a non-constant default in ADD
		// COLUMN on every backend alike.
		return scope{mode: deferred}
	}
	return scope{mode: readOnly}
}

// volatileAt records n if its value is not fixed by the text and the
// arguments, and in scope sc refuses it.
func (w *liteWalker) volatileAt(n ast.Node, sc scope) {
	reason, fix, ok := liteVolatile(n)
	if !ok {
		return
	}
	frag := ""
	if p, e := n.Pos(), n.End(); 0 <= p && p < e && e <= len(w.text) {
		frag = w.text[p:e]
	}
	if frag == "" {
		return
	}
	if !slices.Contains(w.volatile, frag) {
		w.volatile = append(w.volatile, frag)
	}
	switch sc.mode {
	case readOnly, deferred:
		return
	case noParams:
		reason, fix = sc.why, sc.fix
	}
	if w.unsafe == nil || n.Pos() < w.unsafePos {
		w.unsafe = &UnsafeError{Fragment: frag, Reason: reason, Fix: fix}
		w.unsafePos = n.Pos()
	}
}

const (
	liteClock  = "is evaluated by every backend when it applies the statement, at a different time; SQLite statements are not rewritten yet"
	liteRandom = "generates a different value on every backend"
	liteConn   = "depends on each backend's connection"
	liteServer = "describes the backend, which can differ between backends"
)

// liteTimeFuncs are SQLite's date and time functions; the value is the
// index of their first time-value argument.
var liteTimeFuncs = map[string]int{"date": 0, "time": 0, "datetime": 0, "julianday": 0, "unixepoch": 0, "strftime": 1, "timediff": 0}

// liteVolatile says whether n is a volatile fragment, why, and the fix.
func liteVolatile(n ast.Node) (reason, fix string, ok bool) {
	switch x := n.(type) {
	case *ast.Literal:
		switch x.Kind {
		case ast.LitCurrentDate, ast.LitCurrentTime, ast.LitCurrentTimestamp:
			return liteClock, fixParam, true
		}
	case *ast.FuncCall:
		if x.Name == nil {
			return "", "", false
		}
		name := asciiLower(x.Name.Name)
		switch name {
		case "random", "randomblob":
			return liteRandom, fixParam, true
		case "last_insert_rowid":
			return liteConn, "read the id with RETURNING and pass it as a parameter", true
		case "changes", "total_changes":
			return liteConn, fixParam, true
		case "sqlite_version", "sqlite_source_id", "sqlite_compileoption_used", "sqlite_compileoption_get":
			return liteServer, fixParam, true
		}
		first, ok := liteTimeFuncs[name]
		if !ok || x.Star {
			return "", "", false
		}
		if len(x.Args) <= first && name != "timediff" { // date() is date('now')
			return liteClock, fixParam, true
		}
		for _, arg := range x.Args[min(first, len(x.Args)):] {
			if lit, ok := arg.(*ast.Literal); ok && lit.Kind == ast.LitString && strings.EqualFold(strings.TrimSpace(lit.Value), "now") {
				return liteClock, fixParam, true
			}
		}
	}
	return "", "", false
}

// statement visits one top-level statement and returns its kind.
func (w *liteWalker) statement(s ast.Stmt, a *Analysis) Kind {
	k := w.stmt(s)
	switch x := s.(type) {
	case *ast.InsertStmt:
		a.Returning = a.Returning || len(x.Returning) > 0
	case *ast.UpdateStmt:
		a.Returning = a.Returning || len(x.Returning) > 0
	case *ast.DeleteStmt:
		a.Returning = a.Returning || len(x.Returning) > 0
	case *ast.SavepointStmt:
		liteSavepoint(a, x.Name)
	case *ast.ReleaseStmt:
		liteSavepoint(a, x.Name)
	case *ast.RollbackStmt:
		liteSavepoint(a, x.Savepoint)
	}
	return k
}

// liteSavepoint records the first savepoint name of a text; SQLite compares
// them ignoring case.
func liteSavepoint(a *Analysis, name *ast.Ident) {
	if a.Savepoint == "" && name != nil {
		a.Savepoint = asciiLower(name.Name)
	}
}

// stmt visits a statement at any depth (top level, EXPLAIN, trigger body)
// and returns its kind.
func (w *liteWalker) stmt(s ast.Stmt) Kind {
	switch x := s.(type) {
	case *ast.SelectStmt:
		w.selectStmt(x)
		return Read
	case *ast.InsertStmt:
		w.insert(x)
		return Write
	case *ast.UpdateStmt:
		w.update(x)
		return Write
	case *ast.DeleteStmt:
		w.delete(x)
		return Write
	case *ast.ExplainStmt:
		// EXPLAIN and EXPLAIN QUERY PLAN describe the statement without
		// running it.
		from := len(w.tables)
		if x.Stmt != nil {
			w.stmt(x.Stmt)
		}
		for i := from; i < len(w.tables); i++ {
			w.tables[i].Target = false
		}
		return Read
	case *ast.BeginStmt:
		return Begin
	case *ast.CommitStmt:
		return Commit
	case *ast.RollbackStmt:
		if x.Savepoint != nil {
			return RollbackTo
		}
		return Rollback
	case *ast.SavepointStmt:
		return Savepoint
	case *ast.ReleaseStmt:
		return Release
	case *ast.PragmaStmt:
		return pragmaKind(x)
	case *ast.AttachStmt, *ast.DetachStmt:
		return Session // the connection's names, not the data
	case *ast.CreateTableStmt:
		w.table(x.Name, true)
		for _, c := range x.Columns {
			w.columnDef(c)
		}
		for _, c := range x.Constraints {
			if c == nil {
				continue
			}
			if c.References != nil {
				w.reference(c.References, x.Name)
			}
			w.expr(c.Expr)
		}
		if x.Select != nil {
			w.selectStmt(x.Select)
		}
	case *ast.CreateIndexStmt:
		if x.Table != nil {
			var schema *ast.Ident // the index's schema is its table's
			if x.Name != nil {
				schema = x.Name.Schema
			}
			w.table(&ast.QualifiedName{Schema: schema, Name: x.Table}, true)
		}
		w.expr(x.Where)
	case *ast.CreateViewStmt:
		w.table(x.Name, true)
		if x.Select != nil {
			w.selectStmt(x.Select)
		}
	case *ast.CreateTriggerStmt:
		w.table(x.Table, true)
		// The body runs later, with each write to the table; what it
		// touches is named, not written, by this statement.
		from, conflict := len(w.tables), w.onConflict
		w.expr(x.When)
		for _, b := range x.Body {
			if b != nil {
				w.stmt(b)
			}
		}
		for i := from; i < len(w.tables); i++ {
			w.tables[i].Target = false
		}
		w.onConflict = conflict
	case *ast.CreateVirtualTableStmt:
		w.table(x.Name, true)
	case *ast.AlterTableStmt:
		w.table(x.Table, true)
		if x.ColumnDef != nil {
			w.columnDef(x.ColumnDef)
		}
		w.expr(x.Expr)
	case *ast.DropTableStmt:
		w.table(x.Name, true)
	case *ast.DropViewStmt:
		w.table(x.Name, true)
	}
	// Everything else defines, alters or drops objects (indexes and
	// triggers are not tables), or maintains the file: VACUUM, ANALYZE,
	// REINDEX.
	return DDL
}

// liteReadPragmas are the pragmas that only report, whatever their
// argument.
var liteReadPragmas = map[string]bool{
	"collation_list": true, "compile_options": true, "data_version": true, "database_list": true,
	"foreign_key_check": true, "foreign_key_list": true, "freelist_count": true, "function_list": true,
	"index_info": true, "index_list": true, "index_xinfo": true, "integrity_check": true,
	"module_list": true, "page_count": true, "pragma_list": true, "quick_check": true, "stats": true,
	"table_info": true, "table_list": true, "table_xinfo": true,
}

// liteActionPragmas act even without a value.
var liteActionPragmas = map[string]bool{
	"optimize": true, "wal_checkpoint": true, "incremental_vacuum": true, "shrink_memory": true,
}

// liteDataPragmas store their value in the database file, where every
// backend must hold the same.
var liteDataPragmas = map[string]bool{"user_version": true, "application_id": true}

// pragmaKind returns the kind of a PRAGMA: Read when it only reports (a
// setting's value, the schema, a check), DDL when it sets a value stored in
// the database, else Session.
func pragmaKind(p *ast.PragmaStmt) Kind {
	name := ""
	if p.Name != nil && p.Name.Name != nil {
		name = asciiLower(p.Name.Name.Name)
	}
	switch {
	case liteReadPragmas[name]:
		return Read
	case liteActionPragmas[name]:
		return Session
	case !p.HasValue:
		return Read
	case liteDataPragmas[name]:
		return DDL
	}
	return Session
}

// columnDef visits a column definition: the tables its REFERENCES name are
// read.
func (w *liteWalker) columnDef(c *ast.ColumnDef) {
	if c == nil {
		return
	}
	for _, cc := range c.Constraints {
		if cc == nil {
			continue
		}
		if cc.References != nil {
			w.reference(cc.References, nil)
		}
		w.expr(cc.Expr)
	}
}

// reference records the parent table of a foreign key, in the schema of
// the table being defined.
func (w *liteWalker) reference(fk *ast.ForeignKeyClause, child *ast.QualifiedName) {
	if fk.Table == nil {
		return
	}
	var schema *ast.Ident
	if child != nil {
		schema = child.Schema
	}
	w.table(&ast.QualifiedName{Schema: schema, Name: fk.Table}, false)
}

// asciiLower lower-cases the ASCII letters of s, as SQLite folds the case of
// names.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// liteName returns the normalised schema and name of a qualified name.
func liteName(q *ast.QualifiedName) (schema, name string) {
	if q == nil || q.Name == nil {
		return "", ""
	}
	if q.Schema != nil {
		schema = asciiLower(q.Schema.Name)
	}
	if schema == "main" {
		schema = ""
	}
	return schema, asciiLower(q.Name.Name)
}

// table records one occurrence of a table and returns its index in
// w.tables, or -1 for a WITH name.
func (w *liteWalker) table(q *ast.QualifiedName, target bool) int {
	schema, name := liteName(q)
	return w.record(schema, name, qualified(schema, name), target)
}

// qualified spells schema.name, or name without a schema.
func qualified(schema, name string) string {
	if schema == "" {
		return name
	}
	return schema + "." + name
}

// with brings the names a WITH clause defines into scope while visiting its
// bodies, and returns the scope depth to restore when the statement ends.
// A body sees the names defined before it, and with RECURSIVE its own.
func (w *liteWalker) with(wc *ast.With) int {
	base := len(w.ctes)
	if wc == nil {
		return base
	}
	for _, c := range wc.CTEs {
		if c == nil || c.Name == nil {
			continue
		}
		name := asciiLower(c.Name.Name)
		if wc.Recursive {
			w.ctes = append(w.ctes, name)
		}
		if c.Select != nil {
			w.selectStmt(c.Select)
		}
		if !wc.Recursive {
			w.ctes = append(w.ctes, name)
		}
	}
	return base
}

// expr visits an expression, or any node, for the tables its subqueries
// and IN-table operands read.
func (w *liteWalker) expr(n ast.Node) {
	switch x := n.(type) {
	case nil:
	case *ast.SelectStmt:
		if x != nil {
			w.selectStmt(x)
		}
	case *ast.InExpr:
		if x == nil {
			return
		}
		if x.Table != nil && !x.HasArgs {
			w.table(x.Table, false) // x IN tbl
		}
		w.expr(x.X)
		if x.Select != nil {
			w.selectStmt(x.Select)
		}
		for _, e := range x.List {
			w.expr(e)
		}
		for _, e := range x.Args {
			w.expr(e)
		}
	case *ast.TableRef:
		if x != nil {
			w.from([]*ast.TableRef{x}, nil)
		}
	case *ast.Ident, *ast.Literal, *ast.BindParam, *ast.QualifiedRef:
	default:
		// Children never holds nil nodes, and callers pass optional
		// fields as interfaces, nil when absent.
		for _, c := range n.Children() {
			w.expr(c)
		}
	}
}

// from visits a FROM list and returns its items appended to items.
func (w *liteWalker) from(refs []*ast.TableRef, items []item) []item {
	for _, r := range refs {
		if r == nil {
			continue
		}
		alias := ""
		if r.Alias != nil {
			alias = asciiLower(r.Alias.Name)
		}
		switch {
		case r.Name != nil && !r.HasArgs:
			schema, name := liteName(r.Name)
			items = append(items, item{alias: alias, schema: schema, name: name, table: w.table(r.Name, false)})
		case r.List != nil:
			items = w.from(r.List, items)
		default: // subqueries and table-valued functions: what they touch is read, unpinned
			if r.Select != nil {
				w.selectStmt(r.Select)
			}
			for _, e := range r.Args {
				w.expr(e)
			}
			items = append(items, item{alias: alias, table: -1})
		}
		w.expr(r.On)
	}
	return items
}

// where records the pins of the top-level AND-conjuncts of a WHERE clause;
// parentheses are only grouping.
func (w *liteWalker) where(items []item, e ast.Expr) {
	switch x := e.(type) {
	case *ast.ParenExpr:
		if x != nil {
			w.where(items, x.X)
		}
	case *ast.BinaryExpr:
		if x == nil {
			return
		}
		switch x.Op {
		case ast.OpAnd:
			w.where(items, x.X)
			w.where(items, x.Y)
		case ast.OpEq:
			w.pin(items, x.X, []ast.Expr{x.Y})
			w.pin(items, x.Y, []ast.Expr{x.X})
		}
	case *ast.InExpr:
		if x != nil && !x.Not && x.Select == nil && x.Table == nil && len(x.List) > 0 {
			w.pin(items, x.X, x.List)
		}
	}
}

// pin records that the column col refers to must equal one of vals.
func (w *liteWalker) pin(items []item, col ast.Expr, vals []ast.Expr) {
	for {
		p, ok := col.(*ast.ParenExpr)
		if !ok || p == nil {
			break
		}
		col = p.X
	}
	var names []string
	switch x := col.(type) {
	case *ast.Ident:
		if x == nil || x.Quote == ast.QuoteSingle {
			return
		}
		names = []string{asciiLower(x.Name)}
	case *ast.QualifiedRef:
		if x == nil {
			return
		}
		for _, p := range x.Parts {
			if p == nil {
				return
			}
			names = append(names, asciiLower(p.Name))
		}
	default:
		return
	}
	t := -1
	if q := names[:len(names)-1]; len(q) == 0 {
		if len(items) == 1 {
			t = items[0].table
		}
	} else {
		if len(q) == 2 && q[0] == "main" {
			q = q[1:]
		}
		if i := slices.IndexFunc(items, func(it item) bool { return it.named(q) }); i >= 0 {
			t = items[i].table
		}
	}
	if t < 0 {
		return
	}
	srcs := make([]Source, len(vals))
	for i, v := range vals {
		srcs[i] = w.source(v)
	}
	tb := &w.tables[t]
	if tb.Eq == nil {
		tb.Eq = make(map[string][]Source)
	}
	// Conjuncts on one column all hold, so any one of them bounds the rows:
	// keep the first that needs no evaluation.
	c := names[len(names)-1]
	if old, ok := tb.Eq[c]; !ok || anyExpr(old) && !anyExpr(srcs) {
		tb.Eq[c] = srcs
	}
}

// source says where the value of an expression comes from.
func (w *liteWalker) source(e ast.Expr) Source {
	switch x := e.(type) {
	case *ast.BindParam:
		if x != nil {
			return w.param(x)
		}
	case *ast.ParenExpr:
		if x != nil {
			return w.source(x.X)
		}
	case *ast.Literal:
		if x != nil {
			if s, ok := liteConst(x, ""); ok {
				return Source{Const: s}
			}
		}
	case *ast.UnaryExpr:
		if x == nil || x.Op != ast.OpMinus && x.Op != ast.OpPlus {
			break
		}
		if lit, ok := x.X.(*ast.Literal); ok && lit != nil {
			sign := ""
			if x.Op == ast.OpMinus {
				sign = "-"
			}
			if s, ok := liteConst(lit, sign); ok {
				return Source{Const: s}
			}
		}
	}
	return Source{Expr: true}
}

// liteConst returns a literal's value as keys spell it; sign prefixes a
// number.
func liteConst(l *ast.Literal, sign string) (string, bool) {
	switch l.Kind {
	case ast.LitNull:
		return nullKey, sign == ""
	case ast.LitInteger, ast.LitFloat:
		return number(sign + l.Value), true
	case ast.LitString:
		return l.Value, sign == ""
	case ast.LitBlob:
		raw := l.Raw
		if len(raw) >= 3 && (raw[0] == 'x' || raw[0] == 'X') && raw[1] == '\'' && raw[len(raw)-1] == '\'' {
			if b, err := hex.DecodeString(raw[2 : len(raw)-1]); err == nil && sign == "" {
				return string(b), true
			}
		}
	}
	return "", false
}

func (w *liteWalker) selectStmt(s *ast.SelectStmt) {
	base := w.with(s.With)
	for _, c := range s.Cores {
		switch x := c.(type) {
		case *ast.SelectQuery:
			if x == nil {
				continue
			}
			w.where(w.from(x.From, nil), x.Where)
			w.expr(x.Where)
			for _, rc := range x.Columns {
				if rc != nil {
					w.expr(rc.Expr)
				}
			}
			for _, g := range x.GroupBy {
				w.expr(g)
			}
			w.expr(x.Having)
			for _, win := range x.Windows {
				w.expr(win)
			}
			for _, o := range x.OrderBy {
				w.expr(o)
			}
			if x.Limit != nil {
				w.expr(x.Limit)
				w.limit = w.limit || len(x.OrderBy) == 0
				if len(x.OrderBy) > 0 {
					w.limitOrders = append(w.limitOrders, liteLimitOrder(x.From, x.OrderBy))
				}
			}
		case *ast.ValuesClause:
			if x == nil {
				continue
			}
			for _, row := range x.Rows {
				for _, e := range row {
					w.expr(e)
				}
			}
		}
	}
	w.ctes = w.ctes[:base]
}

// liteValues returns the rows of a plain VALUES list, or nil.
func liteValues(s *ast.SelectStmt) [][]ast.Expr {
	if s == nil || s.With != nil || len(s.Cores) != 1 {
		return nil
	}
	if v, ok := s.Cores[0].(*ast.ValuesClause); ok && v != nil {
		return v.Rows
	}
	return nil
}

// unordered reports whether an INSERT's SELECT reads rows in an order the
// text does not fix.
func unordered(s *ast.SelectStmt) bool {
	if s == nil || len(s.Cores) == 0 {
		return false
	}
	from := len(s.Cores) > 1
	for _, c := range s.Cores {
		if q, ok := c.(*ast.SelectQuery); ok && q != nil && len(q.From) > 0 {
			from = true
		}
	}
	last, ok := s.Cores[len(s.Cores)-1].(*ast.SelectQuery)
	return from && (!ok || last == nil || len(last.OrderBy) == 0)
}

func (w *liteWalker) insert(s *ast.InsertStmt) {
	base := w.with(s.With)
	rows := liteValues(s.Select)
	if rows == nil && unordered(s.Select) {
		w.insertSelect = true
	}
	if i := w.table(s.Table, true); i >= 0 {
		t := &w.tables[i]
		t.insert = true
		for _, c := range s.Columns {
			if c != nil {
				t.InsertCols = append(t.InsertCols, asciiLower(c.Name))
			}
		}
		for _, row := range rows {
			srcs := make([]Source, len(row))
			for j, v := range row {
				srcs[j] = w.source(v)
			}
			t.InsertRows = append(t.InsertRows, srcs)
		}
		if s.Replace || s.OrConflict == ast.ConflictReplace {
			// REPLACE deletes the rows that conflict on any unique index:
			// no pin bounds what it touches.
			t.wide = true
		}
		w.upserts(t, s.Upserts)
	}
	w.onConflict = w.onConflict || len(s.Upserts) > 0 || s.Replace ||
		s.OrConflict == ast.ConflictReplace || s.OrConflict == ast.ConflictIgnore
	if s.Select != nil {
		w.selectStmt(s.Select)
	}
	for _, u := range s.Upserts {
		w.expr(u)
	}
	for _, r := range s.Returning {
		w.expr(r)
	}
	w.ctes = w.ctes[:base]
}

// upserts records the DO UPDATE clauses of an INSERT's ON CONFLICT clauses.
func (w *liteWalker) upserts(t *Table, ups []*ast.Upsert) {
	var updates []*ast.Upsert
	for _, u := range ups {
		if u != nil && !u.DoNothing {
			updates = append(updates, u)
		}
	}
	if len(updates) == 0 {
		return
	}
	t.upsert = true
	for _, u := range updates {
		set, ex := w.setSources(u.Set, true)
		t.Set = mergeSet(t.Set, set)
		for _, c := range setColsLite(u.Set) {
			if !slices.Contains(t.SetCols, c) {
				t.SetCols = append(t.SetCols, c)
			}
		}
		if len(updates) == 1 {
			t.excluded = ex
		}
	}
	// The arbiter is known when one DO UPDATE clause names plain columns
	// without a partial-index WHERE.
	if u := updates[0]; len(updates) == 1 && len(u.Target) > 0 && u.TargetWhere == nil {
		for _, o := range u.Target {
			id, ok := o.Expr.(*ast.Ident)
			if !ok || id == nil || id.Quote == ast.QuoteSingle {
				t.arbiter = nil
				break
			}
			t.arbiter = append(t.arbiter, asciiLower(id.Name))
		}
	}
}

// setColsLite returns the columns a SET list assigns, each once.
func setColsLite(pairs []*ast.SetPair) []string {
	var cols []string
	for _, p := range pairs {
		if p == nil {
			continue
		}
		for _, c := range p.Columns {
			if c == nil {
				continue
			}
			if name := asciiLower(c.Name); !slices.Contains(cols, name) {
				cols = append(cols, name)
			}
		}
	}
	return cols
}

// setSources returns the value each SET target assigns, and with excluded
// (ON CONFLICT DO UPDATE) which columns take the proposed row's value of a
// column: SET a = excluded.b gives "a" -> "b".
func (w *liteWalker) setSources(pairs []*ast.SetPair, excluded bool) (map[string]Source, map[string]string) {
	var set map[string]Source
	var ex map[string]string
	for _, p := range pairs {
		if p == nil {
			continue
		}
		vals := []ast.Expr{p.Value}
		if len(p.Columns) > 1 {
			vals = nil // (a, b) = (?, ?) pairs them; (a, b) = (SELECT ...) does not
			if v, ok := p.Value.(*ast.VectorExpr); ok && v != nil && len(v.List) == len(p.Columns) {
				vals = v.List
			}
		}
		for i, c := range p.Columns {
			if c == nil {
				continue
			}
			name := asciiLower(c.Name)
			src := Source{Expr: true}
			if i < len(vals) {
				src = w.source(vals[i])
				if ref, ok := vals[i].(*ast.QualifiedRef); ok && excluded && ref != nil && len(ref.Parts) == 2 &&
					ref.Parts[0] != nil && ref.Parts[1] != nil && asciiLower(ref.Parts[0].Name) == "excluded" {
					if ex == nil {
						ex = make(map[string]string)
					}
					ex[name] = asciiLower(ref.Parts[1].Name)
				}
			}
			if set == nil {
				set = make(map[string]Source, len(pairs))
			}
			if old, ok := set[name]; ok && old != src {
				src = Source{Expr: true}
			}
			set[name] = src
		}
	}
	return set, ex
}

// targetItem records the table an UPDATE or DELETE writes and returns it as
// a FROM item.
func (w *liteWalker) targetItem(q *ast.QualifiedName, alias *ast.Ident) item {
	schema, name := liteName(q)
	it := item{schema: schema, name: name, table: w.table(q, true)}
	if alias != nil {
		it.alias = asciiLower(alias.Name)
	}
	return it
}

func (w *liteWalker) update(s *ast.UpdateStmt) {
	base := w.with(s.With)
	it := w.targetItem(s.Table, s.Alias)
	if it.table >= 0 {
		t := &w.tables[it.table]
		t.SetCols = setColsLite(s.Set)
		t.Set, _ = w.setSources(s.Set, false)
		if s.OrConflict == ast.ConflictReplace {
			t.wide = true // deletes the rows the new values conflict with
		}
	}
	w.where(w.from(s.From, []item{it}), s.Where)
	for _, p := range s.Set {
		if p != nil {
			w.expr(p.Value)
		}
	}
	w.expr(s.Where)
	w.tail(s.Returning, s.OrderBy, s.Limit)
	w.ctes = w.ctes[:base]
}

func (w *liteWalker) delete(s *ast.DeleteStmt) {
	base := w.with(s.With)
	w.where([]item{w.targetItem(s.Table, s.Alias)}, s.Where)
	w.expr(s.Where)
	w.tail(s.Returning, s.OrderBy, s.Limit)
	w.ctes = w.ctes[:base]
}

// liteLimitOrder describes the ORDER BY of a SELECT with a LIMIT.
func liteLimitOrder(from []*ast.TableRef, order []*ast.OrderingTerm) LimitOrder {
	var lo LimitOrder
	if len(from) == 1 && from[0] != nil && from[0].Name != nil && !from[0].HasArgs {
		lo.Table = qualified(liteName(from[0].Name))
	}
	for _, o := range order {
		var col string
		switch x := o.Expr.(type) {
		case *ast.Ident:
			col = x.Name
		case *ast.QualifiedRef:
			if len(x.Parts) > 0 && x.Parts[len(x.Parts)-1] != nil {
				col = x.Parts[len(x.Parts)-1].Name
			}
		}
		if col == "" {
			return LimitOrder{Table: lo.Table}
		}
		lo.Columns = append(lo.Columns, asciiLower(col))
	}
	return lo
}

// tail visits RETURNING, and the ORDER BY and LIMIT of an UPDATE or DELETE
// (SQLITE_ENABLE_UPDATE_DELETE_LIMIT builds only).
func (w *liteWalker) tail(ret []*ast.ResultColumn, order []*ast.OrderingTerm, limit *ast.Limit) {
	for _, r := range ret {
		w.expr(r)
	}
	for _, o := range order {
		w.expr(o)
	}
	if limit != nil {
		w.expr(limit)
		w.limit = w.limit || len(order) == 0
	}
}
