package router

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// parsePostgres analyses text with the PostgreSQL parser, and computes the
// rewrite of its volatile fragments while the parse tree is at hand.
func parsePostgres(text string) (*Analysis, error) {
	a, tree, err := analyzePostgres(text)
	if err != nil {
		return nil, err
	}
	if len(a.Volatile) > 0 {
		a.rewrite, a.rewriteErr = rewritePostgres(a, tree)
	}
	a.rewriteDone = true
	return a, nil
}

// analyzePostgres analyses text and returns its parse tree too.
func analyzePostgres(text string) (*Analysis, *pg.ParseResult, error) {
	if strings.IndexByte(text, 0) >= 0 {
		// The parser reads a C string and would silently stop at the NUL.
		return nil, nil, &ParseError{Text: text, Err: errors.New("statement contains a NUL byte")}
	}
	tree, err := pg.Parse(text)
	if err != nil {
		return nil, nil, &ParseError{Text: text, Err: err}
	}
	a := &Analysis{Text: text, Kind: Session, Multi: len(tree.Stmts) > 1}
	w := walker{text: text}
	for i, raw := range tree.Stmts {
		if k := w.statement(raw.GetStmt(), a); i == 0 || rank(k) > rank(a.Kind) {
			a.Kind = k
		}
	}
	w.finish(a)
	a.NumParams = w.params
	a.all = w.all
	a.calls = w.calls
	a.postgres = true
	return a, tree, nil
}

// rank orders the kinds a multi-statement text is summarised by.
func rank(k Kind) int {
	switch k {
	case DDL:
		return 3
	case Write:
		return 2
	case Read:
		return 1
	}
	return 0
}

// merge folds the occurrences of each table into one entry, targets first.
// A table seen more than once loses its pins: some occurrence may be
// unpinned, and pins of different occurrences do not combine.
func merge(occ []Table) []Table {
	var out []Table
	for _, targets := range []bool{true, false} {
		for _, t := range occ {
			if t.Target != targets {
				continue
			}
			i := slices.IndexFunc(out, func(o Table) bool { return o.Name == t.Name })
			if i < 0 {
				out = append(out, t)
				continue
			}
			o := &out[i]
			o.wide, o.Eq = true, nil
			if o.InsertCols == nil {
				o.InsertCols, o.InsertRows = t.InsertCols, t.InsertRows
			}
			o.SetCols = append(o.SetCols, t.SetCols...)
			o.insert, o.opaque = o.insert || t.insert, o.opaque || t.opaque
			o.Set = mergeSet(o.Set, t.Set)
			o.excluded = nil // the Set entries it explains are Expr
		}
	}
	return out
}

// mergeSet combines the assignments of two occurrences of a table; a column
// assigned different values by them is Expr.
func mergeSet(a, b map[string]Source) map[string]Source {
	if len(b) == 0 {
		return a
	}
	out := make(map[string]Source, len(a)+len(b))
	for c, src := range a {
		out[c] = src
	}
	for c, src := range b {
		if old, ok := out[c]; ok && old != src {
			src = Source{Expr: true}
		}
		out[c] = src
	}
	return out
}

// walker collects what a statement touches while it visits the parse tree.
type walker struct {
	occurrences
	text   string
	params int
	writes int // INSERT, UPDATE, DELETE and MERGE statements seen, at any depth
	all    bool
	calls  bool // a function call, a subquery or a CTE: the statement may read what it does not lock
}

// statement visits one top-level statement and returns its kind.
func (w *walker) statement(n *pg.Node, a *Analysis) Kind {
	switch x := n.GetNode().(type) {
	case nil:
		return Session
	case *pg.Node_SelectStmt:
		writes := w.writes
		w.visit(x.SelectStmt)
		switch {
		case x.SelectStmt.IntoClause != nil:
			return DDL
		case w.writes > writes:
			a.Returning = true
			return Write
		}
		return Read
	case *pg.Node_InsertStmt:
		w.visit(x.InsertStmt)
		a.Returning = a.Returning || len(x.InsertStmt.ReturningList) > 0
		return Write
	case *pg.Node_UpdateStmt:
		w.visit(x.UpdateStmt)
		a.Returning = a.Returning || len(x.UpdateStmt.ReturningList) > 0
		return Write
	case *pg.Node_DeleteStmt:
		w.visit(x.DeleteStmt)
		a.Returning = a.Returning || len(x.DeleteStmt.ReturningList) > 0
		return Write
	case *pg.Node_MergeStmt:
		w.visit(x.MergeStmt)
		a.Returning = a.Returning || len(x.MergeStmt.ReturningList) > 0
		return Write
	case *pg.Node_TruncateStmt:
		for _, r := range x.TruncateStmt.Relations {
			w.table(r.GetRangeVar(), true)
		}
		w.all = w.all || x.TruncateStmt.Behavior == pg.DropBehavior_DROP_CASCADE
		return Write
	case *pg.Node_CopyStmt:
		if i := w.table(x.CopyStmt.Relation, x.CopyStmt.IsFrom); i >= 0 {
			w.tables[i].opaque = x.CopyStmt.IsFrom
		}
		w.children(x.CopyStmt, "relation")
		if x.CopyStmt.IsFrom {
			return Write
		}
		return Read
	case *pg.Node_ExplainStmt:
		if explainAnalyze(x.ExplainStmt.Options) {
			return w.statement(x.ExplainStmt.Query, a)
		}
		from := len(w.tables)
		w.visit(x.ExplainStmt.Query)
		for i := from; i < len(w.tables); i++ {
			w.tables[i].Target = false
		}
		return Read
	case *pg.Node_LockStmt:
		w.locking = true
		w.visit(x.LockStmt)
		return Read
	case *pg.Node_VariableShowStmt, *pg.Node_DeclareCursorStmt, *pg.Node_FetchStmt:
		w.visit(n)
		return Read
	case *pg.Node_TransactionStmt:
		return transaction(x.TransactionStmt, a)
	case *pg.Node_VariableSetStmt, *pg.Node_DiscardStmt, *pg.Node_ListenStmt, *pg.Node_UnlistenStmt,
		*pg.Node_NotifyStmt, *pg.Node_LoadStmt, *pg.Node_PrepareStmt, *pg.Node_DeallocateStmt,
		*pg.Node_ConstraintsSetStmt, *pg.Node_ClosePortalStmt, *pg.Node_CheckPointStmt:
		w.visit(n)
		return Session
	case *pg.Node_DropStmt:
		w.drop(x.DropStmt)
	}
	// Everything else defines or alters objects, or has effects the text
	// does not show (DO, CALL, EXECUTE): the relations the statement names
	// directly are its targets.
	each(n, func(stmt proto.Message) {
		each(stmt, func(c proto.Message) {
			if rv := relation(c); rv != nil {
				w.table(rv, true)
			} else {
				w.visit(c)
			}
		})
	})
	return DDL
}

// relation returns the RangeVar m is or wraps, or nil.
func relation(m proto.Message) *pg.RangeVar {
	switch x := m.(type) {
	case *pg.RangeVar:
		return x
	case *pg.Node:
		return x.GetRangeVar()
	}
	return nil
}

// transaction returns the kind of a transaction-control statement.
func transaction(t *pg.TransactionStmt, a *Analysis) Kind {
	switch t.Kind {
	case pg.TransactionStmtKind_TRANS_STMT_BEGIN, pg.TransactionStmtKind_TRANS_STMT_START:
		for _, o := range t.Options {
			if d := o.GetDefElem(); d.GetDefname() == "transaction_read_only" && d.GetArg().GetAConst().GetIval().GetIval() != 0 {
				a.ReadOnly = true
			}
		}
		return Begin
	case pg.TransactionStmtKind_TRANS_STMT_COMMIT:
		return Commit
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK:
		return Rollback
	}
	if a.Savepoint == "" {
		a.Savepoint = t.SavepointName
	}
	switch t.Kind {
	case pg.TransactionStmtKind_TRANS_STMT_SAVEPOINT:
		return Savepoint
	case pg.TransactionStmtKind_TRANS_STMT_ROLLBACK_TO:
		return RollbackTo
	case pg.TransactionStmtKind_TRANS_STMT_RELEASE:
		return Release
	}
	return DDL // PREPARE TRANSACTION, COMMIT PREPARED, ROLLBACK PREPARED
}

// explainAnalyze reports whether EXPLAIN options run the statement.
func explainAnalyze(opts []*pg.Node) bool {
	for _, o := range opts {
		d := o.GetDefElem()
		if d.GetDefname() != "analyze" {
			continue
		}
		switch arg := d.GetArg().GetNode().(type) {
		case *pg.Node_String_:
			switch strings.ToLower(arg.String_.Sval) {
			case "false", "off", "0", "no", "f", "n":
				return false
			}
		case *pg.Node_Integer:
			return arg.Integer.Ival != 0
		case *pg.Node_Boolean:
			return arg.Boolean.Boolval
		}
		return true
	}
	return false
}

// visit dispatches on the node types that matter and walks into the rest.
func (w *walker) visit(m proto.Message) {
	switch x := m.(type) {
	case *pg.SelectStmt:
		w.selectStmt(x)
	case *pg.InsertStmt:
		w.insert(x)
	case *pg.UpdateStmt:
		w.update(x)
	case *pg.DeleteStmt:
		w.delete(x)
	case *pg.MergeStmt:
		w.merge(x)
	case *pg.RangeVar: // outside a FROM list: LOCK, TABLESAMPLE, REFERENCES, ...
		w.table(x, false)
	case *pg.IntoClause:
		w.table(x.Rel, true)
		w.children(x, "rel")
	case *pg.ParamRef:
		w.params = max(w.params, int(x.Number))
	case *pg.SubLink:
		w.calls = true
		w.children(m)
	case *pg.FuncCall:
		w.calls = true
		if volatileFuncs[lastName(x.Funcname)] {
			w.volatileAt(x.Location, true, lastName(x.Funcname)+"()")
		}
		w.children(x)
	case *pg.SQLValueFunction:
		op := x.Op
		withPrecision := op == pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N || op == pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N ||
			op == pg.SQLValueFunctionOp_SVFOP_LOCALTIME_N || op == pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N
		w.volatileAt(x.Location, withPrecision, strings.TrimPrefix(op.String(), "SVFOP_"))
	case *pg.TypeCast:
		if c := timeLiteral(x); c != nil {
			w.volatileAt(c.Location, false, "'"+c.GetSval().GetSval()+"'")
		}
		w.children(x)
	case *pg.ColumnRef, *pg.A_Const, *pg.String:
	default:
		w.children(m)
	}
}

var volatileFuncs = map[string]bool{
	"now": true, "clock_timestamp": true, "statement_timestamp": true, "transaction_timestamp": true, "timeofday": true,
	"random": true, "random_normal": true, "setseed": true,
	"gen_random_uuid": true, "uuidv4": true, "uuidv7": true, "uuid_generate_v1": true, "uuid_generate_v1mc": true, "uuid_generate_v4": true,
	"gen_random_bytes": true, "gen_salt": true,
	"nextval": true, "currval": true, "lastval": true, "setval": true,
	"txid_current": true, "txid_current_if_assigned": true, "txid_current_snapshot": true,
	"pg_current_xact_id": true, "pg_current_xact_id_if_assigned": true, "pg_current_snapshot": true,
	"pg_backend_pid": true, "pg_postmaster_start_time": true, "pg_conf_load_time": true,
	"pg_current_wal_lsn": true, "pg_current_wal_insert_lsn": true,
	"inet_client_addr": true, "inet_client_port": true, "inet_server_addr": true, "inet_server_port": true,
	"current_database": true, "current_schema": true, "current_schemas": true, "version": true,
}

// timeLiteral returns the literal of 'now'::timestamptz and friends, which
// are evaluated when the statement runs; nil for other casts.
func timeLiteral(tc *pg.TypeCast) *pg.A_Const {
	c := tc.Arg.GetAConst()
	switch strings.ToLower(strings.TrimSpace(c.GetSval().GetSval())) {
	case "now", "today", "tomorrow", "yesterday":
		if timeTypes[lastName(tc.TypeName.GetNames())] {
			return c
		}
	}
	return nil
}

var timeTypes = map[string]bool{"timestamp": true, "timestamptz": true, "date": true, "time": true, "timetz": true}

// volatileAt records the fragment of the text at loc, or fallback when the
// location is unknown.
func (w *walker) volatileAt(loc int32, call bool, fallback string) {
	f := fragment(w.text, int(loc), call)
	if f == "" {
		f = fallback
	}
	if !slices.Contains(w.volatile, f) {
		w.volatile = append(w.volatile, f)
	}
}

// children visits every message m holds directly, except the named fields.
func (w *walker) children(m proto.Message, skip ...protoreflect.Name) {
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if !slices.Contains(skip, fd.Name()) {
			eachValue(fd, v, w.visit)
		}
		return true
	})
}

// each calls f for every message m holds directly.
func each(m proto.Message, f func(proto.Message)) {
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		eachValue(fd, v, f)
		return true
	})
}

func eachValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, f func(proto.Message)) {
	switch {
	case fd.Kind() != protoreflect.MessageKind:
	case fd.IsList():
		l := v.List()
		for i := range l.Len() {
			f(l.Get(i).Message().Interface())
		}
	case !fd.IsMap():
		f(v.Message().Interface())
	}
}

// with brings the names a WITH clause defines into scope while visiting its
// bodies, and returns the scope depth to restore when the statement ends.
func (w *walker) with(wc *pg.WithClause) int {
	base := len(w.ctes)
	if wc == nil {
		return base
	}
	w.calls = true
	if wc.Recursive {
		for _, c := range wc.Ctes {
			w.ctes = append(w.ctes, c.GetCommonTableExpr().GetCtename())
		}
	}
	for _, c := range wc.Ctes {
		cte := c.GetCommonTableExpr()
		if cte == nil {
			w.visit(c)
			continue
		}
		w.visit(cte)
		if !wc.Recursive { // later bodies see earlier names
			w.ctes = append(w.ctes, cte.Ctename)
		}
	}
	return base
}

// table records one occurrence of a relation and returns its index in
// w.tables, or -1 for a WITH name.
func (w *walker) table(rv *pg.RangeVar, target bool) int {
	if rv == nil {
		return -1
	}
	return w.record(rv.Schemaname, rv.Relname, tableName(rv.Schemaname, rv.Relname), target)
}

// tableName joins a schema and a relation name the way keys spell them.
func tableName(schema, rel string) string {
	if schema == "" || schema == "public" {
		return rel
	}
	return schema + "." + rel
}

// drop records the tables and views a DROP statement names.
func (w *walker) drop(d *pg.DropStmt) {
	switch d.RemoveType {
	case pg.ObjectType_OBJECT_TABLE, pg.ObjectType_OBJECT_VIEW, pg.ObjectType_OBJECT_MATVIEW, pg.ObjectType_OBJECT_FOREIGN_TABLE:
	default:
		return
	}
	for _, o := range d.Objects {
		names := strs(o.GetList().GetItems())
		if len(names) > 0 {
			rv := &pg.RangeVar{Relname: names[len(names)-1]}
			if len(names) > 1 {
				rv.Schemaname = names[len(names)-2]
			}
			w.table(rv, true)
		}
	}
}

// item is one entry of a FROM list, as column references can name it.
type item struct {
	alias, schema, name string
	table               int // index in walker.tables; -1 when not a table
}

func (it item) named(q []string) bool {
	if it.alias != "" {
		return len(q) == 1 && q[0] == it.alias
	}
	switch len(q) {
	case 1:
		return q[0] == it.name
	case 2:
		return q[0] == it.schema && q[1] == it.name
	}
	return false
}

// from visits a FROM list and returns its items appended to items.
func (w *walker) from(nodes []*pg.Node, items []item) []item {
	for _, n := range nodes {
		switch x := n.GetNode().(type) {
		case *pg.Node_RangeVar:
			items = append(items, w.rangeItem(x.RangeVar, false))
		case *pg.Node_JoinExpr:
			items = w.from([]*pg.Node{x.JoinExpr.Larg, x.JoinExpr.Rarg}, items)
			w.children(x.JoinExpr, "larg", "rarg")
		default: // subqueries, functions, ...: what they touch is read, unpinned
			if n != nil {
				w.visit(n)
			}
			items = append(items, item{table: -1})
		}
	}
	return items
}

func (w *walker) rangeItem(rv *pg.RangeVar, target bool) item {
	return item{alias: rv.GetAlias().GetAliasname(), schema: rv.GetSchemaname(), name: rv.GetRelname(), table: w.table(rv, target)}
}

// where records the pins of the top-level AND-conjuncts of a WHERE clause.
func (w *walker) where(items []item, n *pg.Node) {
	switch x := n.GetNode().(type) {
	case *pg.Node_BoolExpr:
		if x.BoolExpr.Boolop == pg.BoolExprType_AND_EXPR {
			for _, c := range x.BoolExpr.Args {
				w.where(items, c)
			}
		}
	case *pg.Node_AExpr:
		e := x.AExpr
		if len(e.Name) != 1 || e.Name[0].GetString_().GetSval() != "=" {
			return
		}
		switch e.Kind {
		case pg.A_Expr_Kind_AEXPR_OP:
			w.pin(items, e.Lexpr, []*pg.Node{e.Rexpr})
			w.pin(items, e.Rexpr, []*pg.Node{e.Lexpr})
		case pg.A_Expr_Kind_AEXPR_IN:
			if l := e.Rexpr.GetList(); l != nil {
				w.pin(items, e.Lexpr, l.Items)
			}
		}
	}
}

// pin records that the column col refers to must equal one of vals.
func (w *walker) pin(items []item, col *pg.Node, vals []*pg.Node) {
	ref := col.GetColumnRef()
	if ref == nil {
		return
	}
	names := strs(ref.Fields)
	if len(names) != len(ref.Fields) { // a.*
		return
	}
	t := -1
	if q := names[:len(names)-1]; len(q) == 0 {
		if len(items) == 1 {
			t = items[0].table
		}
	} else if i := slices.IndexFunc(items, func(it item) bool { return it.named(q) }); i >= 0 {
		t = items[i].table
	}
	if t < 0 {
		return
	}
	srcs := make([]Source, len(vals))
	for i, v := range vals {
		srcs[i] = source(v)
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

func anyExpr(srcs []Source) bool {
	return slices.ContainsFunc(srcs, func(s Source) bool { return s.Expr })
}

// source says where the value of an expression comes from.
func source(n *pg.Node) Source {
	switch x := n.GetNode().(type) {
	case *pg.Node_ParamRef:
		if x.ParamRef.Number > 0 {
			return Source{Param: int(x.ParamRef.Number)}
		}
	case *pg.Node_AConst:
		if s, ok := constText(x.AConst); ok {
			return Source{Const: s}
		}
	case *pg.Node_TypeCast:
		if timeLiteral(x.TypeCast) == nil {
			return source(x.TypeCast.Arg)
		}
	}
	return Source{Expr: true}
}

// constText returns a literal's value as keys spell it.
func constText(c *pg.A_Const) (string, bool) {
	if c.Isnull {
		return nullKey, true
	}
	switch v := c.Val.(type) {
	case *pg.A_Const_Ival:
		return strconv.FormatInt(int64(v.Ival.GetIval()), 10), true
	case *pg.A_Const_Fval:
		return number(v.Fval.GetFval()), true
	case *pg.A_Const_Sval:
		return v.Sval.GetSval(), true
	case *pg.A_Const_Boolval:
		return strconv.FormatBool(v.Boolval.GetBoolval()), true
	}
	return "", false
}

// number normalises a numeric literal too large for an Integer node, or
// with a fraction or exponent, so that it matches the argument's key.
func number(s string) string {
	t := strings.ReplaceAll(s, "_", "")
	base := 10
	if len(t) > 2 && t[0] == '0' && strings.ContainsRune("xXoObB", rune(t[1])) {
		base = 0
	}
	if i, err := strconv.ParseInt(t, base, 64); err == nil {
		return strconv.FormatInt(i, 10)
	}
	if t != "" && strings.Trim(t, "0123456789") == "" {
		return strings.TrimLeft(t, "0")
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil {
		return formatFloat(f)
	}
	return s
}

func (w *walker) selectStmt(s *pg.SelectStmt) {
	base := w.with(s.WithClause)
	w.where(w.from(s.FromClause, nil), s.WhereClause)
	w.children(s, "with_clause", "from_clause", "locking_clause") // FOR UPDATE OF names FROM items
	if s.LimitCount != nil || s.LimitOffset != nil {
		if len(s.SortClause) == 0 {
			w.limit = true
		} else {
			w.limitOrders = append(w.limitOrders, pgLimitOrder(s))
		}
	}
	for _, l := range s.LockingClause {
		w.locking = true
		w.skipLocked = w.skipLocked || l.GetLockingClause().GetWaitPolicy() == pg.LockWaitPolicy_LockWaitSkip
	}
	w.ctes = w.ctes[:base]
}

// pgLimitOrder describes the ORDER BY of a SELECT with a LIMIT.
func pgLimitOrder(s *pg.SelectStmt) LimitOrder {
	var lo LimitOrder
	if len(s.FromClause) == 1 {
		if rv := s.FromClause[0].GetRangeVar(); rv != nil {
			lo.Table = tableName(rv.Schemaname, rv.Relname)
		}
	}
	for _, n := range s.SortClause {
		ref := n.GetSortBy().GetNode().GetColumnRef()
		if ref == nil || len(ref.Fields) == 0 || ref.Fields[len(ref.Fields)-1].GetString_() == nil {
			return LimitOrder{Table: lo.Table}
		}
		lo.Columns = append(lo.Columns, ref.Fields[len(ref.Fields)-1].GetString_().Sval)
	}
	return lo
}

func (w *walker) insert(s *pg.InsertStmt) {
	w.writes++
	base := w.with(s.WithClause)
	sel := s.SelectStmt.GetSelectStmt()
	values := valuesOnly(sel)
	if sel != nil && !values && (len(sel.FromClause) > 0 || sel.Op > pg.SetOperation_SETOP_NONE) && len(sel.SortClause) == 0 {
		w.insertSelect = true
	}
	if i := w.table(s.Relation, true); i >= 0 {
		t := &w.tables[i]
		t.insert = true
		for _, c := range s.Cols {
			t.InsertCols = append(t.InsertCols, c.GetResTarget().GetName())
		}
		if values {
			for _, row := range sel.ValuesLists {
				items := row.GetList().GetItems()
				srcs := make([]Source, len(items))
				for j, v := range items {
					srcs[j] = source(v)
				}
				t.InsertRows = append(t.InsertRows, srcs)
			}
		}
		if oc := s.OnConflictClause; oc != nil {
			t.SetCols = setCols(oc.TargetList)
			t.Set, t.excluded = setSources(oc.TargetList, true)
			t.upsert = oc.Action == pg.OnConflictAction_ONCONFLICT_UPDATE
			for _, e := range oc.Infer.GetIndexElems() {
				ie := e.GetIndexElem()
				if ie.GetName() == "" {
					t.arbiter = nil
					break
				}
				t.arbiter = append(t.arbiter, ie.GetName())
			}
		}
	}
	w.onConflict = w.onConflict || s.OnConflictClause != nil
	w.children(s, "relation", "with_clause")
	w.ctes = w.ctes[:base]
}

func setCols(targets []*pg.Node) []string {
	var cols []string
	for _, n := range targets {
		if name := n.GetResTarget().GetName(); name != "" && !slices.Contains(cols, name) {
			cols = append(cols, name)
		}
	}
	return cols
}

// setSources returns the value each SET target assigns, and with excluded
// (ON CONFLICT DO UPDATE) which columns take the proposed row's value of a
// column: SET a = excluded.b gives "a" -> "b".
func setSources(targets []*pg.Node, excluded bool) (map[string]Source, map[string]string) {
	var set map[string]Source
	var ex map[string]string
	for _, n := range targets {
		rt := n.GetResTarget()
		if rt.GetName() == "" {
			continue
		}
		val := rt.GetVal()
		if m := val.GetMultiAssignRef(); m != nil { // SET (a, b) = ($1, $2)
			val = nil
			if args := m.GetSource().GetRowExpr().GetArgs(); m.Colno >= 1 && int(m.Colno) <= len(args) {
				val = args[m.Colno-1]
			}
		}
		src := Source{Expr: true}
		if len(rt.Indirection) == 0 && val != nil {
			src = source(val)
			if ref := val.GetColumnRef(); excluded && ref != nil {
				if names := strs(ref.Fields); len(names) == 2 && len(ref.Fields) == 2 && names[0] == "excluded" {
					if ex == nil {
						ex = make(map[string]string)
					}
					ex[rt.Name] = names[1]
				}
			}
		}
		if set == nil {
			set = make(map[string]Source, len(targets))
		}
		set[rt.Name] = src
	}
	return set, ex
}

func (w *walker) update(s *pg.UpdateStmt) {
	w.writes++
	base := w.with(s.WithClause)
	it := w.rangeItem(s.Relation, true)
	if it.table >= 0 {
		w.tables[it.table].SetCols = setCols(s.TargetList)
		w.tables[it.table].Set, _ = setSources(s.TargetList, false)
	}
	w.where(w.from(s.FromClause, []item{it}), s.WhereClause)
	w.children(s, "relation", "from_clause", "with_clause")
	w.ctes = w.ctes[:base]
}

func (w *walker) delete(s *pg.DeleteStmt) {
	w.writes++
	base := w.with(s.WithClause)
	w.where(w.from(s.UsingClause, []item{w.rangeItem(s.Relation, true)}), s.WhereClause)
	w.children(s, "relation", "using_clause", "with_clause")
	w.ctes = w.ctes[:base]
}

func (w *walker) merge(s *pg.MergeStmt) {
	w.writes++
	base := w.with(s.WithClause)
	if i := w.table(s.Relation, true); i >= 0 { // never pinned: MERGE picks rows by its join
		w.tables[i].opaque = true
	}
	w.from([]*pg.Node{s.SourceRelation}, nil)
	w.children(s, "relation", "source_relation", "with_clause")
	w.ctes = w.ctes[:base]
}

// strs returns the String values among nodes.
func strs(nodes []*pg.Node) []string {
	out := make([]string, 0, len(nodes))
	for _, n := range nodes {
		if s := n.GetString_(); s != nil {
			out = append(out, s.Sval)
		}
	}
	return out
}

// lastName returns the unqualified part of a qualified name.
func lastName(nodes []*pg.Node) string {
	if len(nodes) == 0 {
		return ""
	}
	return nodes[len(nodes)-1].GetString_().GetSval()
}

// fragment returns the text at loc of a possibly qualified, possibly quoted
// name, a quoted literal, or with call a name and its argument list; "" when
// loc is unknown.
func fragment(text string, loc int, call bool) string {
	if loc < 0 || loc >= len(text) {
		return ""
	}
	i := loc
	if text[i] == '\'' {
		return text[loc:skipQuoted(text, i)]
	}
	for i < len(text) {
		if text[i] == '"' {
			i = skipQuoted(text, i)
		} else {
			for i < len(text) && (text[i] == '_' || text[i] == '$' || text[i] >= 0x80 ||
				'a' <= text[i]|0x20 && text[i]|0x20 <= 'z' || '0' <= text[i] && text[i] <= '9') {
				i++
			}
		}
		if i < len(text) && text[i] == '.' {
			i++
			continue
		}
		break
	}
	j := i
	for j < len(text) && strings.IndexByte(" \t\r\n", text[j]) >= 0 {
		j++
	}
	if !call || j == len(text) || text[j] != '(' {
		return text[loc:i]
	}
	for depth := 0; j < len(text); {
		switch text[j] {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return text[loc : j+1]
			}
		case '\'', '"':
			j = skipQuoted(text, j)
			continue
		}
		j++
	}
	return text[loc:i]
}

// skipQuoted returns the index after the quoted token that starts at i;
// doubled quotes stay inside it.
func skipQuoted(text string, i int) int {
	q := text[i]
	for i++; i < len(text); i++ {
		if text[i] == q {
			if i+1 < len(text) && text[i+1] == q {
				i++
				continue
			}
			return i + 1
		}
	}
	return len(text)
}
