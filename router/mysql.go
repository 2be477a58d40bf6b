// MySQL dialect: the parser pinned by DESIGN §6.
//
// github.com/pingcap/tidb/pkg/parser (v0.0.0-20260418072757-ce92298d1124)
// is TiDB's MySQL grammar in pure Go. It parses 302 of the 304 statements of
// testdata/gorm-mysql.sql (TestMySQLCorpus); it rejects INSERT ...
// RETURNING (MariaDB) and the MySQL 8.0.19 row alias INSERT ... AS new ON
// DUPLICATE KEY UPDATE, which are refused as *[ParseError]s. Its grammar
// accepts some TiDB-only syntax that MySQL rejects; such a statement is
// analysed and then rejected by the backends alike. Where TiDB and MySQL
// read executable comments differently, see [myComments].
//
// Importing it registers no flags and starts no goroutines
// (TestMySQLImportSideEffects). Its init functions build keyword tables, and
// github.com/pingcap/log builds a zap logger on stdout that the parser does
// not write to while parsing. Beware github.com/pingcap/failpoint, which it
// imports: its init reads GO_FAILPOINTS and GO_FAILPOINTS_HTTP, enables
// failpoints or starts an HTTP server when they are set, and exits the
// process when they are malformed. The package github.com/pingcap/tidb/pkg/parser/test_driver must
// be imported for the parser to build literal and placeholder nodes; its
// ParamMarkerExpr carries the byte offset each placeholder numbering is
// taken from.
//
// Nothing is restored from the tree: TiDB's restorer prints TiDB-only SQL
// for some statements, and no rewrite is computed yet, so the text sent is
// always the application's. Volatile fragments are not rewritten: a
// rewrite into a new ? would shift the numbering of the placeholders after
// it, which a [Rewrite] (added parameters numbered after the statement's
// own) cannot express. Functions that read the statement's start time
// (NOW(), CURRENT_TIMESTAMP, ...) are reported as [Analysis.Clock] instead:
// the driver replays such a write after SET timestamp, as MySQL's
// statement-based replication does (DESIGN §6). The rest are refused.
//
// On this project's machine (2 cores, go1.26, shared and noisy) the whole
// analysis of BenchmarkAnalyzeMySQLNew's GORM query took 10.5-15.7 µs
// (61 allocations), against 6.4-11.5 µs for BenchmarkAnalyzeSQLiteNew's
// measured alongside; the parse is about 85% of it. A corpus statement
// takes 9-15 µs (BenchmarkAnalyzeMySQLCorpus). Texts are cached, as for
// the other dialects.

package router

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	tidb "github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"
)

// myParsers holds parsers for reuse: a parser is not safe for concurrent
// use, and a new one allocates its parse stack.
var myParsers = sync.Pool{New: func() any { return tidb.New() }}

// parseMySQL analyses text with MySQL's grammar. Names are normalised the
// way a server with lower_case_table_names=1 compares them: identifiers,
// quoted with backticks or not, are lower-cased, and db.table keeps its
// database. Each ? is a parameter, numbered 1, 2, ... in text order across
// the whole text, as both go-sql-driver/mysql's interpolation and the
// server's prepared statements bind them.
func parseMySQL(text string) (a *Analysis, err error) {
	src, err := myComments(text)
	if err != nil {
		return nil, &ParseError{Text: text, Err: err}
	}
	p, _ := myParsers.Get().(*tidb.Parser)
	if p == nil {
		p = tidb.New()
	}
	stmts, ok, err := myParse(p, src)
	returning := false
	if err != nil && ok {
		// MariaDB's INSERT/REPLACE/DELETE … RETURNING, which the TiDB
		// parser rejects: the statement without its RETURNING list is
		// analysed, and reported as Returning.
		if at := myReturningAt(src); at > 0 {
			s2, ok2, err2 := myParse(p, src[:at])
			ok = ok2
			if ok2 && err2 == nil && len(s2) == 1 && returnable(s2[0]) {
				stmts, err, returning = s2, nil, true
			}
		}
	}
	if ok {
		// The statements live in the parser's buffers until its next use.
		defer myParsers.Put(p)
	}
	if err != nil {
		return nil, &ParseError{Text: text, Err: err}
	}
	defer func() {
		if r := recover(); r != nil {
			a, err = nil, &ParseError{Text: text, Err: fmt.Errorf("MySQL analysis failed: %v", r)}
		}
	}()
	a = &Analysis{Text: text, Kind: Session, Multi: len(stmts) > 1}
	w := myWalker{text: text, markers: myMarkers(text, stmts)}
	for i, s := range stmts {
		if k := w.statement(s, a); i == 0 || rank(k) > rank(a.Kind) {
			a.Kind = k
		}
	}
	w.finish(a)
	a.Clock = w.clock
	a.Returning = a.Returning || returning
	a.NumParams = len(w.markers)
	if w.unsafe != nil {
		a.rewriteErr = w.unsafe
	}
	a.rewriteDone = true
	return a, nil
}

// myParse parses src; ok is false when the parser panicked, as its test
// driver does on some numbers (MyDecimal of more than 81 digits). A driver
// must not bring the application down over a statement text: refusing it
// is enough, and the parser is dropped.
func myParse(p *tidb.Parser, src string) (stmts []ast.StmtNode, ok bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			stmts, ok, err = nil, false, fmt.Errorf("MySQL parser failed: %v", r)
		}
	}()
	stmts, _, err = p.ParseSQL(src)
	return stmts, true, err
}

// myMaxVersion is the highest version of a /*!NNNNN ... */ comment that
// every supported server (MySQL 8.0 and later, MariaDB 10 and later)
// executes.
const myMaxVersion = 80000

// myComments returns the text the TiDB parser must read for it to see what
// a MySQL server executes, with the same offsets; or an error when that
// depends on the server. TiDB runs the body of /*T! ... */ while MySQL and
// MariaDB skip it: it is made a plain comment. MariaDB runs /*M! ... */,
// which MySQL and TiDB skip, and a server runs /*!NNNNN ... */ only from
// version NNNNN on, which TiDB always does: unless every supported server
// runs it, the analysis could miss or invent a condition, so these are
// refused. Strings are read as without the NO_BACKSLASH_ESCAPES mode.
func myComments(text string) (string, error) {
	if !strings.Contains(text, "/*") {
		return text, nil
	}
	var b []byte // a copy, once changed
	for i := 0; i < len(text); {
		switch c := text[i]; {
		case c == '\'' || c == '"' || c == '`':
			i = skipMyQuoted(text, i)
		case c == '#' || c == '-' && strings.HasPrefix(text[i:], "--") && (i+2 == len(text) || text[i+2] <= ' '):
			if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(text)
			}
		case strings.HasPrefix(text[i:], "/*!"):
			j := i + 3
			for j < len(text) && '0' <= text[j] && text[j] <= '9' {
				j++
			}
			if n := j - i - 3; n > 0 {
				if v, err := strconv.Atoi(text[i+3 : j]); n != 5 || err != nil || v > myMaxVersion {
					return "", fmt.Errorf("%s... is run or skipped depending on the server's version", text[i:j])
				}
			}
			i = j // the body is code; its */ is skipped below
		case strings.HasPrefix(text[i:], "/*"):
			if strings.HasPrefix(text[i:], "/*M!") {
				return "", errors.New("/*M! ... */ is run by MariaDB and skipped by MySQL")
			}
			if strings.HasPrefix(text[i:], "/*T!") {
				if b == nil {
					b = []byte(text)
				}
				b[i+2] = ' '
			}
			if j := strings.Index(text[i+2:], "*/"); j >= 0 {
				i += 2 + j + 2
			} else {
				i = len(text)
			}
		default:
			i++
		}
	}
	if b == nil {
		return text, nil
	}
	return string(b), nil
}

// skipMyQuoted returns the index after the string or quoted identifier
// that starts at i: a doubled quote, and in strings a backslash, escape.
func skipMyQuoted(text string, i int) int {
	q := text[i]
	for i++; i < len(text); i++ {
		switch {
		case text[i] == '\\' && q != '`':
			i++
		case text[i] == q:
			if i+1 < len(text) && text[i+1] == q {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(text)
}

// myMarkers returns the byte offsets of the placeholders of stmts, sorted:
// the n-th is parameter n. The parser leaves numbering to its caller.
func myMarkers(text string, stmts []ast.StmtNode) []int {
	c := markerCollector{}
	for _, s := range stmts {
		s.Accept(&c)
	}
	// Every placeholder is a '?' byte. When the visitor saw fewer, a '?'
	// sits in a literal or a comment, or in a node whose Accept skips a
	// child; walk every field of the tree to be sure of the numbering.
	if len(c.offsets) < strings.Count(text, "?") {
		c.offsets = c.offsets[:0]
		seen := map[reflectKey]bool{}
		for _, s := range stmts {
			reflectMarkers(reflect.ValueOf(s), seen, &c.offsets)
		}
	}
	slices.Sort(c.offsets)
	return slices.Compact(c.offsets)
}

// markerCollector is an [ast.Visitor] that records placeholder offsets.
type markerCollector struct{ offsets []int }

func (c *markerCollector) Enter(n ast.Node) (ast.Node, bool) {
	if m, ok := n.(*test_driver.ParamMarkerExpr); ok {
		c.offsets = append(c.offsets, m.Offset)
		return n, true
	}
	return n, false
}

func (c *markerCollector) Leave(n ast.Node) (ast.Node, bool) { return n, true }

var markerType = reflect.TypeFor[*test_driver.ParamMarkerExpr]()

type reflectKey struct {
	t reflect.Type
	p uintptr
}

// reflectMarkers appends the offset of every placeholder reachable from v.
func reflectMarkers(v reflect.Value, seen map[reflectKey]bool, out *[]int) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return
		}
		k := reflectKey{v.Type(), v.Pointer()}
		if seen[k] {
			return
		}
		seen[k] = true
		if v.Type() == markerType {
			*out = append(*out, int(v.Elem().FieldByName("Offset").Int()))
			return
		}
		reflectMarkers(v.Elem(), seen, out)
	case reflect.Interface:
		if !v.IsNil() {
			reflectMarkers(v.Elem(), seen, out)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			reflectMarkers(v.Field(i), seen, out)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			reflectMarkers(v.Index(i), seen, out)
		}
	}
}

// myWalker collects what MySQL statements touch while it visits their
// syntax trees. It is the [ast.Visitor] for the parts of a statement it
// does not take apart itself.
type myWalker struct {
	occurrences
	text    string
	markers []int // placeholder offsets, sorted
	// targets are the tables a DDL statement defines or alters, as
	// opposed to those it refers to.
	targets map[*ast.TableName]bool

	sc      scope // how the current part of the statement is evaluated
	session bool  // the current part sets the session's state, and may read the backend's system variables
	clock   bool  // a write reads the clock, which SET timestamp fixes

	// unsafe is the refusal of the first volatile fragment, in text order,
	// that a statement evaluates on every backend; unsafePos its offset.
	unsafe    *UnsafeError
	unsafePos int
}

// Enter implements [ast.Visitor].
func (w *myWalker) Enter(n ast.Node) (ast.Node, bool) {
	switch x := n.(type) {
	case *ast.SelectStmt:
		w.selectStmt(x)
	case *ast.SetOprStmt:
		w.setOpr(x)
	case *ast.SetOprSelectList:
		w.setOprList(x)
	case *ast.InsertStmt:
		w.insert(x)
	case *ast.UpdateStmt:
		w.update(x)
	case *ast.DeleteStmt:
		w.delete(x)
	case *ast.Join, *ast.TableSource:
		if r, ok := x.(ast.ResultSetNode); ok {
			w.from(r, nil)
		}
	case *ast.TableName: // outside a FROM list: DDL, SHOW, NEXTVAL(s), ...
		w.table(x, w.targets[x])
	case *ast.FuncCallExpr:
		w.funcCall(x)
		return n, false
	case *ast.VariableExpr:
		if x.IsSystem {
			w.sysVar(x)
		}
		return n, false
	case *test_driver.ParamMarkerExpr, *test_driver.ValueExpr, *ast.ColumnNameExpr:
	default:
		return n, false
	}
	return n, true
}

// Leave implements [ast.Visitor].
func (w *myWalker) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// visit walks a node that may be absent.
func (w *myWalker) visit(n ast.Node) {
	if n == nil {
		return
	}
	if v := reflect.ValueOf(n); v.Kind() == reflect.Pointer && v.IsNil() {
		return
	}
	n.Accept(w)
}

// expr walks an expression that may be absent.
func (w *myWalker) expr(e ast.ExprNode) {
	if e != nil {
		e.Accept(w)
	}
}

// statement visits one top-level statement and returns its kind.
func (w *myWalker) statement(s ast.StmtNode, a *Analysis) Kind {
	w.sc, w.session = myScope(s), false
	switch x := s.(type) {
	case *ast.SelectStmt:
		w.selectStmt(x)
		if x.SelectIntoOpt != nil {
			return DDL // INTO OUTFILE writes on every server
		}
		return Read
	case *ast.SetOprStmt:
		w.setOpr(x)
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
	case *ast.TruncateTableStmt:
		w.table(x.Table, true)
		return Write
	case *ast.LoadDataStmt:
		if i := w.table(x.Table, true); i >= 0 {
			w.tables[i].opaque = true
		}
		w.onConflict = w.onConflict || x.OnDuplicate != ast.OnDuplicateKeyHandlingError
		for _, as := range x.ColumnAssignments {
			if as != nil {
				w.expr(as.Expr)
			}
		}
		return Write
	case *ast.ExplainStmt:
		if x.Stmt == nil {
			return Read
		}
		if x.Analyze { // runs the statement
			return w.statement(x.Stmt, a)
		}
		from := len(w.tables)
		w.visit(x.Stmt)
		for i := from; i < len(w.tables); i++ {
			w.tables[i].Target = false
		}
		return Read
	case *ast.ShowStmt, *ast.ExplainForStmt, *ast.HelpStmt:
		s.Accept(w)
		return Read
	case *ast.LockTablesStmt:
		w.locking = true
		for _, l := range x.TableLocks {
			w.table(l.Table, false)
		}
		return Read
	case *ast.BeginStmt:
		a.ReadOnly = a.ReadOnly || x.ReadOnly
		return Begin
	case *ast.CommitStmt:
		return Commit
	case *ast.RollbackStmt:
		if x.SavepointName == "" {
			return Rollback
		}
		mySavepoint(a, x.SavepointName)
		return RollbackTo
	case *ast.SavepointStmt:
		mySavepoint(a, x.Name)
		return Savepoint
	case *ast.ReleaseSavepointStmt:
		mySavepoint(a, x.Name)
		return Release
	case *ast.SetStmt:
		for _, va := range x.Variables {
			// A system variable may take a value from the backend's own
			// (SET sql_mode = CONCAT(@@sql_mode, ...)); a user variable
			// would carry it into later statements.
			if va != nil {
				w.session = va.IsSystem
				w.expr(va.Value)
			}
		}
		return Session
	case *ast.SetRoleStmt, *ast.UseStmt, *ast.PrepareStmt,
		*ast.DeallocateStmt, *ast.UnlockTablesStmt, *ast.KillStmt:
		// The connection's state, not the data. KILL names a connection
		// of one backend.
		w.session = true
		s.Accept(w)
		return Session
	case *ast.CreateTableStmt:
		w.createTable(x)
		return DDL
	case *ast.AlterTableStmt:
		w.alterTable(x)
		return DDL
	}
	// Everything else defines or alters objects, or has effects the text
	// does not show (CALL, DO, EXECUTE): the tables the statement names
	// directly are its targets.
	w.targets = directTables(s)
	s.Accept(w)
	w.targets = nil
	return DDL
}

// mySavepoint records the first savepoint name of a text; MySQL compares
// them ignoring case.
func mySavepoint(a *Analysis, name string) {
	if a.Savepoint == "" {
		a.Savepoint = strings.ToLower(name)
	}
}

// myScope returns how a top-level statement evaluates its expressions.
func myScope(s ast.StmtNode) scope {
	switch x := s.(type) {
	case *ast.SelectStmt:
		if x.SelectIntoOpt != nil {
			return scope{mode: evaluated}
		}
		return scope{mode: readOnly}
	case *ast.ExplainStmt:
		if x.Analyze && x.Stmt != nil {
			return myScope(x.Stmt)
		}
		return scope{mode: readOnly}
	case *ast.SetOprStmt, *ast.ShowStmt, *ast.ExplainForStmt, *ast.HelpStmt, *ast.LockTablesStmt:
		return scope{mode: readOnly}
	case *ast.CreateViewStmt, *ast.CreateIndexStmt, *ast.PrepareStmt, *ast.CreateTableStmt, *ast.AlterTableStmt:
		// Stored for later; CREATE TABLE and ALTER TABLE set the scope of
		// the parts evaluated now.
		return scope{mode: deferred}
	case *ast.InsertStmt, *ast.UpdateStmt, *ast.DeleteStmt, *ast.LoadDataStmt, *ast.SetStmt, *ast.DoStmt,
		*ast.CallStmt, *ast.ExecuteStmt:
		return scope{mode: evaluated}
	}
	return myDDL
}

var myDDL = scope{mode: noParams, why: "is evaluated by a DDL statement, which cannot take parameters",
	fix: "compute the value in the application and write it into the statement"}

// createTable visits CREATE TABLE: the new table is empty, so defaults,
// checks and generated columns are evaluated by later writes; a SELECT
// that fills it is evaluated now.
func (w *myWalker) createTable(x *ast.CreateTableStmt) {
	w.table(x.Table, true)
	if x.ReferTable != nil {
		w.table(x.ReferTable, false)
	}
	for _, c := range x.Cols {
		w.visit(c)
	}
	for _, c := range x.Constraints {
		w.visit(c)
	}
	w.visit(x.Partition)
	if x.Select != nil {
		w.sc = myDDL
		w.visit(x.Select)
	}
}

// alterTable visits ALTER TABLE. ADD COLUMN evaluates its default for the
// rows that exist; the rest is stored for later.
func (w *myWalker) alterTable(x *ast.AlterTableStmt) {
	w.table(x.Table, true)
	w.targets = map[*ast.TableName]bool{}
	for _, sp := range x.Specs {
		if sp == nil {
			continue
		}
		if sp.NewTable != nil { // RENAME TO
			w.targets[sp.NewTable] = true
		}
		w.sc = scope{mode: deferred}
		if sp.Tp == ast.AlterTableAddColumns {
			w.sc = scope{mode: noParams, why: "is evaluated for the rows that exist when the column is added, on every backend separately",
				fix: "add the column without the default, fill the existing rows with an UPDATE, then set the default"}
		}
		sp.Accept(w)
	}
	w.targets = nil
}

// directTables returns the tables a statement's own fields name.
func directTables(s ast.StmtNode) map[*ast.TableName]bool {
	v := reflect.ValueOf(s)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	v = v.Elem()
	m := map[*ast.TableName]bool{}
	for i := range v.NumField() {
		if !v.Type().Field(i).IsExported() {
			continue
		}
		switch f := v.Field(i).Interface().(type) {
		case *ast.TableName:
			m[f] = f != nil
		case []*ast.TableName:
			for _, t := range f {
				m[t] = t != nil
			}
		case []*ast.TableToTable:
			for _, tt := range f {
				if tt != nil {
					m[tt.OldTable], m[tt.NewTable] = tt.OldTable != nil, tt.NewTable != nil
				}
			}
		}
	}
	return m
}

// myName returns the normalised name of a table, "" for none.
func myName(tn *ast.TableName) (schema, name string) {
	if tn == nil {
		return "", ""
	}
	return tn.Schema.L, tn.Name.L
}

// table records one occurrence of a table and returns its index in
// w.tables, or -1 for a WITH name.
func (w *myWalker) table(tn *ast.TableName, target bool) int {
	schema, name := myName(tn)
	return w.record(schema, name, qualified(schema, name), target)
}

// with brings the names a WITH clause defines into scope while visiting its
// bodies, and returns the scope depth to restore when the statement ends.
// A body sees the names defined before it, and with RECURSIVE its own.
func (w *myWalker) with(wc *ast.WithClause) int {
	base := len(w.ctes)
	if wc == nil {
		return base
	}
	for _, c := range wc.CTEs {
		if c == nil {
			continue
		}
		if wc.IsRecursive {
			w.ctes = append(w.ctes, c.Name.L)
		}
		w.visit(c.Query)
		if !wc.IsRecursive {
			w.ctes = append(w.ctes, c.Name.L)
		}
	}
	return base
}

// from visits a FROM list (a tree of joins) and returns its items appended
// to items.
func (w *myWalker) from(n ast.ResultSetNode, items []item) []item {
	switch x := n.(type) {
	case *ast.Join:
		if x == nil {
			return items
		}
		items = w.from(x.Left, items)
		items = w.from(x.Right, items)
		if x.On != nil {
			w.expr(x.On.Expr)
		}
	case *ast.TableSource:
		if x == nil {
			return items
		}
		if tn, ok := x.Source.(*ast.TableName); ok && tn != nil {
			it := w.tableItem(tn, false)
			if x.AsName.L != "" {
				it.alias = x.AsName.L
			}
			return append(items, it)
		}
		// Derived tables: what they touch is read, unpinned.
		w.visit(x.Source)
		items = append(items, item{alias: x.AsName.L, table: -1})
	case *ast.TableName:
		if x != nil {
			items = append(items, w.tableItem(x, false))
		}
	case nil:
	default:
		w.visit(n)
		items = append(items, item{table: -1})
	}
	return items
}

func (w *myWalker) tableItem(tn *ast.TableName, target bool) item {
	schema, name := myName(tn)
	return item{schema: schema, name: name, table: w.table(tn, target)}
}

// where records the pins of the top-level AND-conjuncts of a WHERE clause;
// parentheses are only grouping.
func (w *myWalker) where(items []item, e ast.ExprNode) {
	switch x := e.(type) {
	case *ast.ParenthesesExpr:
		w.where(items, x.Expr)
	case *ast.BinaryOperationExpr:
		switch x.Op {
		case opcode.LogicAnd:
			w.where(items, x.L)
			w.where(items, x.R)
		case opcode.EQ, opcode.NullEQ:
			// A NULL-safe comparison pins like =: no key row is NULL.
			l, lok := x.L.(*ast.RowExpr)
			r, rok := x.R.(*ast.RowExpr)
			if lok && rok && len(l.Values) == len(r.Values) { // (a, b) = (?, ?)
				for i := range l.Values {
					w.pin(items, l.Values[i], []ast.ExprNode{r.Values[i]})
					w.pin(items, r.Values[i], []ast.ExprNode{l.Values[i]})
				}
				return
			}
			w.pin(items, x.L, []ast.ExprNode{x.R})
			w.pin(items, x.R, []ast.ExprNode{x.L})
		}
	case *ast.PatternInExpr:
		if x.Not || x.Sel != nil || len(x.List) == 0 {
			return
		}
		row, ok := x.Expr.(*ast.RowExpr)
		if !ok {
			w.pin(items, x.Expr, x.List)
			return
		}
		// (a, b) IN ((1, 2), (3, 4)) pins a to 1 or 3 and b to 2 or 4:
		// their product is a superset of the rows named.
		cols := make([][]ast.ExprNode, len(row.Values))
		for _, e := range x.List {
			r, ok := e.(*ast.RowExpr)
			if !ok || len(r.Values) != len(row.Values) {
				return
			}
			for i, v := range r.Values {
				cols[i] = append(cols[i], v)
			}
		}
		for i, c := range row.Values {
			w.pin(items, c, cols[i])
		}
	}
}

// pin records that the column col refers to must equal one of vals.
func (w *myWalker) pin(items []item, col ast.ExprNode, vals []ast.ExprNode) {
	for {
		p, ok := col.(*ast.ParenthesesExpr)
		if !ok {
			break
		}
		col = p.Expr
	}
	ref, ok := col.(*ast.ColumnNameExpr)
	if !ok || ref.Name == nil {
		return
	}
	t := -1
	switch q := ref.Name; {
	case q.Table.L == "":
		if len(items) == 1 {
			t = items[0].table
		}
	default:
		qual := []string{q.Table.L}
		if q.Schema.L != "" {
			qual = []string{q.Schema.L, q.Table.L}
		}
		if i := slices.IndexFunc(items, func(it item) bool { return it.named(qual) }); i >= 0 {
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
	c := ref.Name.Name.L
	if old, ok := tb.Eq[c]; !ok || anyExpr(old) && !anyExpr(srcs) {
		tb.Eq[c] = srcs
	}
}

// source says where the value of an expression comes from.
func (w *myWalker) source(e ast.ExprNode) Source {
	switch x := e.(type) {
	case *test_driver.ParamMarkerExpr:
		if i, ok := slices.BinarySearch(w.markers, x.Offset); ok {
			return Source{Param: i + 1}
		}
	case *ast.ParenthesesExpr:
		return w.source(x.Expr)
	case *test_driver.ValueExpr:
		if s, ok := w.constText(x, ""); ok {
			return Source{Const: s}
		}
	case *ast.UnaryOperationExpr:
		if v, ok := x.V.(*test_driver.ValueExpr); ok && (x.Op == opcode.Minus || x.Op == opcode.Plus) {
			sign := ""
			if x.Op == opcode.Minus {
				sign = "-"
			}
			if s, ok := w.constText(v, sign); ok {
				return Source{Const: s}
			}
		}
	}
	return Source{Expr: true}
}

// constText returns a literal's value as keys spell it; sign prefixes a
// number. TRUE and FALSE are the integers 1 and 0 to MySQL but true and
// false to an argument's key, and a hexadecimal or bit literal is a number
// or a string depending on where it is used: all are unknown.
func (w *myWalker) constText(v *test_driver.ValueExpr, sign string) (string, bool) {
	switch x := v.GetValue().(type) {
	case nil:
		return nullKey, sign == ""
	case int64:
		return number(sign + strconv.FormatInt(x, 10)), w.numberAt(v)
	case uint64:
		return number(sign + strconv.FormatUint(x, 10)), w.numberAt(v)
	case float64:
		return number(sign + formatFloat(x)), w.numberAt(v)
	case *test_driver.MyDecimal:
		return number(sign + x.String()), w.numberAt(v)
	case string:
		return x, sign == ""
	case []byte:
		return string(x), sign == ""
	}
	return "", false
}

// numberAt reports whether the text of a numeric literal is a number, not
// TRUE or FALSE.
func (w *myWalker) numberAt(v *test_driver.ValueExpr) bool {
	p := v.OriginTextPosition()
	return p >= 0 && p < len(w.text) && ('0' <= w.text[p] && w.text[p] <= '9' || w.text[p] == '.')
}

func (w *myWalker) selectStmt(s *ast.SelectStmt) {
	base := w.with(s.With)
	var items []item
	if s.From != nil {
		items = w.from(s.From.TableRefs, nil)
	}
	w.where(items, s.Where)
	w.expr(s.Where)
	w.visit(s.Fields)
	w.visit(s.GroupBy)
	w.visit(s.Having)
	for i := range s.WindowSpecs {
		s.WindowSpecs[i].Accept(w)
	}
	w.visit(s.OrderBy)
	w.visit(s.Limit)
	for _, row := range s.Lists {
		w.visit(row)
	}
	w.limit = w.limit || s.Limit != nil && s.OrderBy == nil
	if s.Limit != nil && s.OrderBy != nil {
		w.limitOrders = append(w.limitOrders, myLimitOrder(s.From, s.OrderBy))
	}
	if li := s.LockInfo; li != nil && li.LockType != ast.SelectLockNone {
		// FOR UPDATE OF names FROM items: no new tables.
		w.locking = true
		w.skipLocked = w.skipLocked || li.LockType == ast.SelectLockForUpdateSkipLocked || li.LockType == ast.SelectLockForShareSkipLocked
	}
	w.ctes = w.ctes[:base]
}

func (w *myWalker) setOpr(s *ast.SetOprStmt) {
	base := w.with(s.With)
	w.visit(s.SelectList)
	w.visit(s.OrderBy)
	w.visit(s.Limit)
	w.limit = w.limit || s.Limit != nil && s.OrderBy == nil
	w.ctes = w.ctes[:base]
}

func (w *myWalker) setOprList(l *ast.SetOprSelectList) {
	base := w.with(l.With)
	for _, s := range l.Selects {
		w.visit(s)
	}
	w.visit(l.OrderBy)
	w.visit(l.Limit)
	w.limit = w.limit || l.Limit != nil && l.OrderBy == nil
	w.ctes = w.ctes[:base]
}

// unorderedSelect reports whether an INSERT's SELECT reads rows in an order
// the text does not fix.
func unorderedSelect(n ast.ResultSetNode) bool {
	switch x := n.(type) {
	case *ast.SelectStmt:
		return x.Kind != ast.SelectStmtKindValues && x.From != nil && x.OrderBy == nil
	case *ast.SetOprStmt:
		return x.OrderBy == nil
	}
	return false
}

// insertTable returns the table of INSERT INTO t.
func insertTable(s *ast.InsertStmt) *ast.TableName {
	if s.Table == nil || s.Table.TableRefs == nil {
		return nil
	}
	ts, ok := s.Table.TableRefs.Left.(*ast.TableSource)
	if !ok || ts == nil {
		return nil
	}
	tn, _ := ts.Source.(*ast.TableName)
	return tn
}

// insert visits INSERT and REPLACE. ON DUPLICATE KEY UPDATE updates the row
// that conflicts with the proposed one on the primary key or on any unique
// index: the row keys and unique keys of the proposed rows name it, as an
// INSERT's do. So unlike ON CONFLICT (...) DO UPDATE it leaves the table's
// upsert flag unset, which would ask for one arbiter index; VALUES(col)
// takes the proposed row's value when there is one row.
func (w *myWalker) insert(s *ast.InsertStmt) {
	w.onConflict = w.onConflict || s.IsReplace || s.IgnoreErr || len(s.OnDuplicate) > 0
	if s.Select != nil && unorderedSelect(s.Select) {
		w.insertSelect = true
	}
	tn := insertTable(s)
	if i := w.table(tn, true); i >= 0 {
		t := &w.tables[i]
		t.insert = true
		for _, c := range s.Columns {
			if c != nil {
				t.InsertCols = append(t.InsertCols, c.Name.L)
			}
		}
		if s.Select == nil {
			for _, row := range s.Lists {
				srcs := make([]Source, len(row))
				for j, v := range row {
					srcs[j] = w.source(v)
				}
				t.InsertRows = append(t.InsertRows, srcs)
			}
		}
		if s.IsReplace {
			// REPLACE deletes the rows that conflict on any unique index:
			// no pin bounds what it touches.
			t.wide = true
		}
		_, name := myName(tn)
		for _, as := range s.OnDuplicate {
			if as == nil || as.Column == nil || selfAssign(as, name) {
				continue
			}
			src := Source{Expr: true}
			if v, ok := as.Expr.(*ast.ValuesExpr); ok {
				if v.Column != nil && v.Column.Name != nil && len(t.InsertRows) == 1 {
					src = proposed(t.InsertCols, v.Column.Name.Name.L, t.InsertRows[0])
				}
			} else {
				src = w.source(as.Expr)
			}
			assign(t, as.Column.Name.L, src)
		}
	}
	for _, row := range s.Lists {
		for _, v := range row {
			w.expr(v)
		}
	}
	w.visit(s.Select)
	for _, as := range s.OnDuplicate {
		if as != nil {
			w.expr(as.Expr)
		}
	}
}

// selfAssign reports whether an assignment leaves its column as it is
// (GORM's ON DUPLICATE KEY UPDATE `id`=`id` does nothing on conflict).
func selfAssign(as *ast.Assignment, table string) bool {
	ref, ok := as.Expr.(*ast.ColumnNameExpr)
	if !ok || ref.Name == nil || ref.Name.Name.L != as.Column.Name.L {
		return false
	}
	for _, q := range []*ast.ColumnName{as.Column, ref.Name} {
		if q.Table.L != "" && q.Table.L != table {
			return false
		}
	}
	return ref.Name.Schema.L == as.Column.Schema.L
}

// assign records that t's column col is set to src; a column assigned
// twice with different values is Expr.
func assign(t *Table, col string, src Source) {
	if t.Set == nil {
		t.Set = make(map[string]Source)
	}
	if old, ok := t.Set[col]; ok && old != src {
		src = Source{Expr: true}
	}
	t.Set[col] = src
	if !slices.Contains(t.SetCols, col) {
		t.SetCols = append(t.SetCols, col)
	}
}

// update visits UPDATE, single- or multi-table. The tables whose columns
// it assigns are its targets; an unqualified column of a multi-table UPDATE
// is assigned to every table of the join, as the router cannot tell which
// one has it.
func (w *myWalker) update(s *ast.UpdateStmt) {
	base := w.with(s.With)
	var items []item
	if s.TableRefs != nil {
		items = w.from(s.TableRefs.TableRefs, nil)
	}
	if len(items) == 1 && items[0].table >= 0 {
		w.tables[items[0].table].Target = true
	}
	for _, as := range s.List {
		if as == nil || as.Column == nil {
			continue
		}
		src := w.source(as.Expr)
		for _, i := range assignTargets(items, as.Column) {
			t := &w.tables[i]
			t.Target = true
			if !selfAssign(as, t.Name[strings.LastIndexByte(t.Name, '.')+1:]) {
				assign(t, as.Column.Name.L, src)
			}
		}
	}
	w.where(items, s.Where)
	for _, as := range s.List {
		if as != nil {
			w.expr(as.Expr)
		}
	}
	w.expr(s.Where)
	w.visit(s.Order)
	w.visit(s.Limit)
	w.limit = w.limit || s.Limit != nil && s.Order == nil
	if s.Limit != nil && s.Order != nil {
		w.limitOrders = append(w.limitOrders, myLimitOrder(s.TableRefs, s.Order))
	}
	w.ctes = w.ctes[:base]
}

// myLimitOrder describes the ORDER BY of a statement with a LIMIT over from.
func myLimitOrder(from *ast.TableRefsClause, order *ast.OrderByClause) LimitOrder {
	var lo LimitOrder
	if from != nil && from.TableRefs != nil && from.TableRefs.Right == nil {
		if ts, ok := from.TableRefs.Left.(*ast.TableSource); ok {
			if tn, ok := ts.Source.(*ast.TableName); ok {
				schema, name := myName(tn)
				lo.Table = qualified(schema, name)
			}
		}
	}
	for _, it := range order.Items {
		c, ok := it.Expr.(*ast.ColumnNameExpr)
		if !ok || c.Name == nil {
			return LimitOrder{Table: lo.Table}
		}
		lo.Columns = append(lo.Columns, c.Name.Name.L)
	}
	return lo
}

// assignTargets returns the tables (indexes in w.tables) an assigned column
// may belong to.
func assignTargets(items []item, col *ast.ColumnName) []int {
	var out []int
	if col.Table.L != "" {
		q := []string{col.Table.L}
		if col.Schema.L != "" {
			q = []string{col.Schema.L, col.Table.L}
		}
		if i := slices.IndexFunc(items, func(it item) bool { return it.named(q) }); i >= 0 {
			if items[i].table >= 0 {
				out = append(out, items[i].table)
			}
			return out
		}
	}
	for _, it := range items {
		if it.table >= 0 {
			out = append(out, it.table)
		}
	}
	return out
}

// delete visits DELETE, single- or multi-table (DELETE t1, t2 FROM ... or
// DELETE FROM t1, t2 USING ...), whose targets name FROM items.
func (w *myWalker) delete(s *ast.DeleteStmt) {
	base := w.with(s.With)
	var items []item
	if s.TableRefs != nil {
		items = w.from(s.TableRefs.TableRefs, nil)
	}
	switch {
	case s.IsMultiTable && s.Tables != nil:
		for _, tn := range s.Tables.Tables {
			schema, name := myName(tn)
			q := []string{name}
			if schema != "" {
				q = []string{schema, name}
			}
			if i := slices.IndexFunc(items, func(it item) bool { return it.named(q) }); i >= 0 && items[i].table >= 0 {
				w.tables[items[i].table].Target = true
			} else {
				w.table(tn, true)
			}
		}
	case len(items) == 1 && items[0].table >= 0:
		w.tables[items[0].table].Target = true
	}
	w.where(items, s.Where)
	w.expr(s.Where)
	w.visit(s.Order)
	w.visit(s.Limit)
	w.limit = w.limit || s.Limit != nil && s.Order == nil
	if s.Limit != nil && s.Order != nil {
		w.limitOrders = append(w.limitOrders, myLimitOrder(s.TableRefs, s.Order))
	}
	w.ctes = w.ctes[:base]
}

const (
	myClock  = "is evaluated by every backend when it applies the statement, at a different time"
	myRandom = "generates a different value on every backend"
	myConn   = "depends on each backend's connection"
	myServer = "describes the backend or its session, which can differ between backends"
	myLock   = "takes or reports a lock of each backend separately, with results that can differ"
)

// myVolatileFuncs are MySQL's and MariaDB's built-in functions whose value
// is not fixed by the text and the arguments, each with why and the fix.
var myVolatileFuncs = map[string][2]string{
	"now": {myClock, fixParam}, "current_timestamp": {myClock, fixParam}, "localtime": {myClock, fixParam},
	"localtimestamp": {myClock, fixParam}, "curdate": {myClock, fixParam}, "current_date": {myClock, fixParam},
	"curtime": {myClock, fixParam}, "current_time": {myClock, fixParam}, "utc_timestamp": {myClock, fixParam},
	"utc_date": {myClock, fixParam}, "utc_time": {myClock, fixParam},
	"sysdate":        {"reads each backend's own clock, which SET timestamp does not fix", "use NOW(), or pass the time as a parameter"},
	"unix_timestamp": {myClock, fixParam}, // without arguments

	"rand": {myRandom, fixParam}, "random_bytes": {myRandom, fixParam},
	"uuid": {myRandom, fixUUID}, "uuid_short": {myRandom, fixParam},
	"uuid_v4": {myRandom, fixUUID}, "uuid_v7": {myRandom, fixUUID}, "sys_guid": {myRandom, fixUUID},

	"last_insert_id": {myConn, "read the id from the result (LastInsertId) and pass it as a parameter"}, // without arguments
	"connection_id":  {myConn, fixParam}, "row_count": {myConn, fixParam}, "found_rows": {myConn, fixParam},

	"database": {myServer, fixParam}, "schema": {myServer, fixParam}, "version": {myServer, fixParam},
	"user": {myServer, fixParam}, "current_user": {myServer, fixParam}, "session_user": {myServer, fixParam},
	"system_user": {myServer, fixParam}, "current_role": {myServer, fixParam},

	"get_lock": {myLock, fixParam}, "release_lock": {myLock, fixParam}, "release_all_locks": {myLock, fixParam},
	"is_free_lock": {myLock, fixParam}, "is_used_lock": {myLock, fixParam},

	"nextval": {"takes a different value from each backend's sequence", "give the value explicitly"},
	"lastval": {myConn, fixParam},
}

// funcCall records a call of a function in myVolatileFuncs.
func (w *myWalker) funcCall(x *ast.FuncCallExpr) {
	if x.Schema.L != "" { // a stored function
		return
	}
	name := x.FnName.L
	why, ok := myVolatileFuncs[name]
	if !ok || len(x.Args) > 0 && (name == "unix_timestamp" || name == "last_insert_id") {
		return
	}
	pos := x.OriginTextPosition()
	frag := fragment(w.text, pos, true)
	if id, _, _ := strings.Cut(frag, "("); !strings.EqualFold(strings.TrimSpace(id), x.FnName.O) {
		frag = x.FnName.O // a form the parser renamed: NEXT VALUE FOR s is nextval
	}
	if myClockFuncs[name] && w.sc.mode == evaluated {
		// Every backend reads the instant its session's timestamp gives:
		// the driver sets it (SET timestamp), as MySQL's statement-based
		// replication does. SYSDATE() ignores it and stays refused.
		if !slices.Contains(w.volatile, frag) {
			w.volatile = append(w.volatile, frag)
		}
		w.clock = true
		return
	}
	w.volatileAt(pos, frag, why[0], why[1], false)
}

// myClockFuncs are the functions that read the statement's start time,
// which SET timestamp fixes.
var myClockFuncs = map[string]bool{
	"now": true, "current_timestamp": true, "localtime": true, "localtimestamp": true,
	"curdate": true, "current_date": true, "curtime": true, "current_time": true,
	"utc_timestamp": true, "utc_date": true, "utc_time": true, "unix_timestamp": true,
}

// sysVar records a system variable (@@hostname, @@session.time_zone):
// backends may differ in them. A Session statement may read them, as in
// SET sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES'), which adjusts
// each backend's own setting.
func (w *myWalker) sysVar(x *ast.VariableExpr) {
	pos := x.OriginTextPosition()
	frag := ""
	if pos >= 0 && pos+2 <= len(w.text) && w.text[pos:pos+2] == "@@" {
		i := pos + 2
		for i < len(w.text) && (w.text[i] == '_' || w.text[i] == '.' || w.text[i] == '$' || w.text[i] >= 0x80 ||
			'a' <= w.text[i]|0x20 && w.text[i]|0x20 <= 'z' || '0' <= w.text[i] && w.text[i] <= '9') {
			i++
		}
		frag = w.text[pos:i]
	}
	if frag == "" {
		frag = "@@" + x.Name
	}
	w.volatileAt(pos, frag, myServer, fixParam, true)
}

// volatileAt records a volatile fragment at pos and, when the current scope
// evaluates it on every backend, refuses it.
func (w *myWalker) volatileAt(pos int, frag, reason, fix string, sessionOK bool) {
	if !slices.Contains(w.volatile, frag) {
		w.volatile = append(w.volatile, frag)
	}
	switch {
	case w.sc.mode == readOnly || w.sc.mode == deferred:
		return
	case sessionOK && w.session:
		return
	case w.sc.mode == noParams:
		reason, fix = w.sc.why, w.sc.fix
	}
	if w.unsafe == nil || pos < w.unsafePos {
		w.unsafe = &UnsafeError{Fragment: frag, Reason: reason, Fix: fix}
		w.unsafePos = pos
	}
}
