package router

import (
	"slices"
	"strconv"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Gen says how to produce the value of one parameter added by a rewrite.
// The values of one statement should come from one instant, read once per
// statement (or, to match PostgreSQL inside a transaction, once per
// transaction for the per-statement kinds); GenTimestamp, GenDate and GenTime
// are that instant in the session's TimeZone, as LOCALTIMESTAMP, CURRENT_DATE
// and LOCALTIME would give it.
type Gen uint8

// The kinds of generated value.
const (
	GenTimestamptz Gen = iota + 1 // a timestamptz: now(), CURRENT_TIMESTAMP, transaction_timestamp(), statement_timestamp(), clock_timestamp(), timeofday(), 'now'::timestamptz
	GenTimestamp                  // a timestamp without time zone: LOCALTIMESTAMP, 'now'::timestamp
	GenDate                       // a date: CURRENT_DATE, 'now'::date, and 'today', 'tomorrow', 'yesterday' (the parameter is today)
	GenTime                       // a time without time zone: LOCALTIME, CURRENT_TIME (converted to timetz by the text), 'now'::time
	GenRandom                     // a float8 in [0,1): random()
	GenUUID                       // a random (version 4) uuid: gen_random_uuid(), uuid_generate_v4(), uuidv4()
)

var genNames = [...]string{"", "timestamptz", "timestamp", "date", "time", "random", "uuid"}

// String returns the name of the value's kind, e.g. "timestamptz".
func (g Gen) String() string {
	if int(g) < len(genNames) && g != 0 {
		return genNames[g]
	}
	return "Gen(" + strconv.Itoa(int(g)) + ")"
}

// Rewrite is how to make a statement deterministic: run Text with the
// statement's arguments followed by one value per Gen.
type Rewrite struct {
	// Text is the statement with each volatile fragment replaced by a new
	// $n cast to its type: now() -> $3::timestamptz, CURRENT_DATE ->
	// $3::date, random() -> $3::float8, gen_random_uuid() -> $3::uuid,
	// 'now'::timestamptz -> $3::timestamptz. The rest of the text is kept
	// byte for byte.
	Text string
	// Gens holds one entry per added parameter, in order: $NumParams+1,
	// $NumParams+2, ... Occurrences of a per-statement value (now() and
	// CURRENT_TIMESTAMP, say) share one parameter; per-row functions get
	// one each.
	Gens []Gen
}

// UnsafeError names a fragment that cannot be made deterministic, why, and
// the fix.
type UnsafeError struct {
	Fragment string // as in [Analysis.Volatile]
	Reason   string // completes a sentence that starts with Fragment
	Fix      string
}

// Error implements error.
func (e *UnsafeError) Error() string {
	return "calibrated: unsafe statement: " + e.Fragment + " " + e.Reason + "; " + e.Fix
}

// Rewritten returns the rewrite that makes the statement's volatile
// fragments deterministic, computed once when the text was analysed. It
// returns nil when nothing needs rewriting: no fragment is volatile, or
// those that are do not make backends differ (a read runs on one backend; a
// column default is not evaluated by CREATE TABLE; setval takes its value
// from its arguments). It returns an *[UnsafeError] for the first fragment,
// in text order, that one value per statement cannot fix. The *Rewrite is
// shared by every caller of the text and must not be modified.
func (a *Analysis) Rewritten() (*Rewrite, error) {
	if len(a.Volatile) == 0 {
		return nil, nil
	}
	if !a.rewriteDone { // built by hand, not by the parser
		return nil, &UnsafeError{Fragment: a.Volatile[0], Reason: "gives a different value on every backend", Fix: fixParam}
	}
	if a.rewriteErr != nil {
		return nil, a.rewriteErr
	}
	return a.rewrite, nil
}

const (
	fixParam  = "compute the value in the application and pass it as a parameter"
	fixParams = "compute the values in the application and pass them as parameters"
	perRow    = "is evaluated once per row, differently on every backend"
)

// how a statement evaluates the expressions in some part of it.
type mode uint8

const (
	evaluated mode = iota // by a statement that is replayed and takes parameters
	readOnly              // by a statement that runs on one backend only
	deferred              // not at all: stored for later (column defaults, view and function bodies, PREPARE)
	noParams              // by a replayed statement that cannot take parameters (DDL, COPY, several statements)
)

// scope is the context of an expression.
type scope struct {
	mode mode
	// one reports that each occurrence is evaluated at most once: an
	// INSERT ... VALUES row, or an UPDATE or DELETE whose WHERE pins its
	// table, outside subqueries.
	one bool
	// why and fix explain noParams.
	why, fix string
}

// occurrence is one volatile fragment found in the tree.
type occurrence struct {
	start, end int // the bytes of the text the replacement replaces
	frag       string
	// class names a value with one instant per statement; its occurrences
	// share a parameter. "" gives each occurrence its own.
	class string
	gen   Gen
	// repl returns the replacement, given the parameter's placeholder.
	repl func(p string) string
	err  *UnsafeError
}

// rewriter finds the volatile fragments of a parsed text.
type rewriter struct {
	text string
	a    *Analysis
	occ  []occurrence
}

// rewritePostgres computes a's rewrite from its parse tree.
func rewritePostgres(a *Analysis, tree *pg.ParseResult) (*Rewrite, error) {
	r := rewriter{text: a.Text, a: a}
	r.statements(tree)
	slices.SortStableFunc(r.occ, func(x, y occurrence) int { return x.start - y.start })
	for _, o := range r.occ {
		if o.err != nil {
			return nil, o.err
		}
	}
	if len(r.occ) == 0 {
		return nil, nil
	}

	rw := &Rewrite{}
	var b strings.Builder
	b.Grow(len(a.Text) + 16*len(r.occ))
	classes := map[string]string{} // class -> placeholder
	last := 0
	for _, o := range r.occ {
		if o.start < last || o.end <= o.start || o.end > len(a.Text) {
			return nil, r.unlocated(o)
		}
		p := classes[o.class]
		if p == "" {
			rw.Gens = append(rw.Gens, o.gen)
			p = "$" + strconv.Itoa(a.NumParams+len(rw.Gens))
			if o.class != "" {
				classes[o.class] = p
			}
		}
		b.WriteString(a.Text[last:o.start])
		b.WriteString(o.repl(p))
		last = o.end
	}
	b.WriteString(a.Text[last:])
	rw.Text = b.String()

	// The edits are textual: check that the result parses to the same kind
	// of statement with the new parameters and nothing left to rewrite.
	b2, tree2, err := analyzePostgres(rw.Text)
	if err != nil || b2.Kind != a.Kind || b2.NumParams != a.NumParams+len(rw.Gens) || len(b2.Tables) != len(a.Tables) {
		return nil, r.unlocated(r.occ[0])
	}
	r2 := rewriter{text: b2.Text, a: b2}
	r2.statements(tree2)
	if len(r2.occ) > 0 {
		return nil, r.unlocated(r.occ[0])
	}
	return rw, nil
}

func (r *rewriter) unlocated(o occurrence) *UnsafeError {
	return &UnsafeError{Fragment: o.frag, Reason: "could not be replaced by a parameter in this text", Fix: fixParam}
}

// statements visits each top-level statement in the scope its kind gives.
func (r *rewriter) statements(tree *pg.ParseResult) {
	multi := len(tree.Stmts) > 1
	for _, raw := range tree.Stmts {
		s := r.scopeOf(raw.GetStmt())
		if multi && s.mode == evaluated {
			s = scope{mode: noParams, why: "is in a text of several statements, which cannot take parameters", fix: "send one statement per call"}
		}
		r.statement(raw.GetStmt(), s)
	}
}

// scopeOf returns the scope of a whole top-level statement.
func (r *rewriter) scopeOf(n *pg.Node) scope {
	ddl := scope{mode: noParams, why: "is evaluated by a DDL statement, which cannot take parameters", fix: "compute the value in the application and write it into the statement"}
	switch x := n.GetNode().(type) {
	case *pg.Node_InsertStmt, *pg.Node_UpdateStmt, *pg.Node_DeleteStmt, *pg.Node_MergeStmt:
		return scope{mode: evaluated, one: true}
	case *pg.Node_SelectStmt:
		switch {
		case x.SelectStmt.IntoClause != nil:
			return ddl
		case writes(x.SelectStmt):
			return scope{mode: evaluated, one: true}
		}
		return scope{mode: readOnly}
	case *pg.Node_ExplainStmt:
		if explainAnalyze(x.ExplainStmt.Options) {
			return r.scopeOf(x.ExplainStmt.Query)
		}
		return scope{mode: readOnly}
	case *pg.Node_CopyStmt:
		if x.CopyStmt.IsFrom {
			return scope{mode: noParams, why: "is evaluated by COPY, which cannot take parameters", fix: "compute the value in the application and put it in the data"}
		}
		return scope{mode: readOnly}
	case *pg.Node_VariableShowStmt, *pg.Node_DeclareCursorStmt, *pg.Node_FetchStmt, *pg.Node_LockStmt:
		return scope{mode: readOnly}
	case *pg.Node_PrepareStmt, *pg.Node_ViewStmt, *pg.Node_CreateFunctionStmt, *pg.Node_RuleStmt,
		*pg.Node_CreateTrigStmt, *pg.Node_CreatePolicyStmt, *pg.Node_AlterPolicyStmt, *pg.Node_CreateDomainStmt,
		*pg.Node_IndexStmt, *pg.Node_CreateStatsStmt:
		return scope{mode: deferred}
	case *pg.Node_CreateTableAsStmt:
		if x.CreateTableAsStmt.GetInto().GetSkipData() {
			return scope{mode: deferred}
		}
	}
	return ddl
}

// writes reports whether m holds an INSERT, UPDATE, DELETE or MERGE.
func writes(m proto.Message) bool {
	found := false
	var f func(proto.Message)
	f = func(m proto.Message) {
		switch m.(type) {
		case *pg.InsertStmt, *pg.UpdateStmt, *pg.DeleteStmt, *pg.MergeStmt:
			found = true
		}
		if !found {
			each(m, f)
		}
	}
	f(m)
	return found
}

// statement visits a top-level statement. Table definitions mix parts
// evaluated now with parts stored for later.
func (r *rewriter) statement(n *pg.Node, s scope) {
	switch x := n.GetNode().(type) {
	case *pg.Node_CreateStmt:
		if s.mode == noParams {
			c := x.CreateStmt
			// The new table is empty: defaults and checks are evaluated
			// by later writes. Partition bounds are evaluated now.
			r.visitAll(c.TableElts, scope{mode: deferred})
			r.visitAll(c.Constraints, scope{mode: deferred})
			if c.Partbound != nil {
				r.visit(c.Partbound, s)
			}
			return
		}
	case *pg.Node_AlterTableStmt:
		if s.mode == noParams {
			for _, cmd := range x.AlterTableStmt.Cmds {
				c := cmd.GetAlterTableCmd()
				switch c.GetSubtype() {
				case pg.AlterTableType_AT_ColumnDefault:
					r.visit(cmd, scope{mode: deferred})
				case pg.AlterTableType_AT_AddColumn:
					r.visit(cmd, scope{mode: noParams, why: "is evaluated for the rows that exist when the column is added, and ALTER TABLE cannot take parameters",
						fix: "add the column without the default, then SET DEFAULT, then fill the existing rows with an UPDATE"})
				default:
					r.visit(cmd, s)
				}
			}
			return
		}
	case *pg.Node_ExplainStmt:
		if explainAnalyze(x.ExplainStmt.Options) {
			r.statement(x.ExplainStmt.Query, s)
			return
		}
	}
	if n != nil {
		r.visit(n, s)
	}
}

func (r *rewriter) visitAll(nodes []*pg.Node, s scope) {
	for _, n := range nodes {
		r.visit(n, s)
	}
}

// visit finds the volatile fragments under m.
func (r *rewriter) visit(m proto.Message, s scope) {
	if m == nil || !m.ProtoReflect().IsValid() {
		return
	}
	switch x := m.(type) {
	case *pg.InsertStmt:
		r.insert(x, s)
		return
	case *pg.UpdateStmt:
		r.update(x, s)
		return
	case *pg.DeleteStmt:
		r.delete(x, s)
		return
	case *pg.SelectStmt:
		r.selectStmt(x, s)
		return
	case *pg.MergeStmt:
		r.visit(x.WithClause, s)
		s = many(s)
		r.children(x, s, "with_clause")
		return
	case *pg.FuncCall:
		if volatileFuncs[lastName(x.Funcname)] {
			r.call(x, s)
		}
	case *pg.SQLValueFunction:
		r.sqlValue(x, s)
	case *pg.TypeCast:
		if c := timeLiteral(x); c != nil {
			r.cast(x, c, s)
		}
	case *pg.ColumnRef, *pg.A_Const, *pg.String, *pg.ParamRef:
		return
	}
	r.children(m, s)
}

// many is s for expressions evaluated once per row of a set.
func many(s scope) scope {
	s.one = false
	return s
}

// children visits every message m holds directly, except the named fields.
func (r *rewriter) children(m proto.Message, s scope, skip ...protoreflect.Name) {
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if !slices.Contains(skip, fd.Name()) {
			eachValue(fd, v, func(c proto.Message) { r.visit(c, s) })
		}
		return true
	})
}

// selectStmt visits a SELECT: every expression in it is evaluated per row,
// except in the bodies of its data-modifying WITH queries.
func (r *rewriter) selectStmt(x *pg.SelectStmt, s scope) {
	r.visit(x.WithClause, s)
	r.children(x, many(s), "with_clause")
}

// insert visits an INSERT. Each occurrence in a VALUES row is evaluated
// once; so is the rest when there is one row.
func (r *rewriter) insert(x *pg.InsertStmt, s scope) {
	r.visit(x.WithClause, s)
	sel := x.SelectStmt.GetSelectStmt()
	if !valuesOnly(sel) {
		r.children(x, many(s), "with_clause")
		return
	}
	for _, row := range sel.ValuesLists {
		r.visit(row, s)
	}
	if len(sel.ValuesLists) != 1 {
		s = many(s)
	}
	r.children(x, s, "with_clause", "select_stmt")
}

// valuesOnly reports whether sel is a plain VALUES list.
func valuesOnly(sel *pg.SelectStmt) bool {
	return sel != nil && len(sel.ValuesLists) > 0 && len(sel.FromClause) == 0 && sel.WithClause == nil &&
		sel.Op <= pg.SetOperation_SETOP_NONE && len(sel.SortClause) == 0 && sel.LimitCount == nil && sel.LimitOffset == nil
}

func (r *rewriter) update(x *pg.UpdateStmt, s scope) {
	r.visit(x.WithClause, s)
	r.visitAll(x.FromClause, many(s))
	if !r.pinned(x.Relation) || len(x.FromClause) > 0 {
		s = many(s)
	}
	r.children(x, s, "with_clause", "from_clause")
}

func (r *rewriter) delete(x *pg.DeleteStmt, s scope) {
	r.visit(x.WithClause, s)
	r.visitAll(x.UsingClause, many(s))
	if !r.pinned(x.Relation) || len(x.UsingClause) > 0 {
		s = many(s)
	}
	r.children(x, s, "with_clause", "using_clause")
}

// pinned reports whether the WHERE clause pins the target table rv to one
// row, as far as the text shows without the schema: some column equals one
// value, and no IN list of the table has more than one.
func (r *rewriter) pinned(rv *pg.RangeVar) bool {
	if rv == nil {
		return false
	}
	name := tableName(rv.Schemaname, rv.Relname)
	i := slices.IndexFunc(r.a.Tables, func(t Table) bool { return t.Target && t.Name == name })
	if i < 0 {
		return false
	}
	t := &r.a.Tables[i]
	if t.wide || len(t.Eq) == 0 {
		return false
	}
	for _, vals := range t.Eq {
		if len(vals) > 1 {
			return false
		}
	}
	return true
}

// add records an occurrence found in scope s. rowValue says that the
// fragment takes a new value per row rather than one per statement.
func (r *rewriter) add(o occurrence, s scope, rowValue bool) {
	switch s.mode {
	case readOnly, deferred:
		return
	case noParams:
		o.err = &UnsafeError{Fragment: o.frag, Reason: s.why, Fix: s.fix}
	default:
		if rowValue && !s.one {
			fix := fixParams
			if o.gen == GenUUID {
				fix = "generate the UUIDs in the application and pass them as parameters"
			}
			o.err = &UnsafeError{Fragment: o.frag, Reason: perRow, Fix: fix}
		}
	}
	r.occ = append(r.occ, o)
}

// refuse records an occurrence that no rewrite can fix, unless s does not
// evaluate it on every backend.
func (r *rewriter) refuse(loc int32, call bool, fallback, reason, fix string, s scope) {
	if s.mode == readOnly || s.mode == deferred {
		return
	}
	f := fragment(r.text, int(loc), call)
	if f == "" {
		f = fallback
	}
	r.occ = append(r.occ, occurrence{start: int(loc), frag: f, err: &UnsafeError{Fragment: f, Reason: reason, Fix: fix}})
}

// rowFuncs are the rewritable functions evaluated once per call.
var rowFuncs = map[string]Gen{
	"clock_timestamp": GenTimestamptz, "timeofday": GenTimestamptz, "random": GenRandom,
	"gen_random_uuid": GenUUID, "uuid_generate_v4": GenUUID, "uuidv4": GenUUID,
}

// funcRefusals gives the reason and fix for each function in volatileFuncs
// that no parameter replaces.
var funcRefusals = map[string][2]string{
	"nextval":            {"takes a different value from each backend's sequence", "give the id explicitly; generated ids are captured from the anchor for INSERT into serial columns"},
	"currval":            {"depends on each backend's session", "read the id with RETURNING and pass it as a parameter"},
	"lastval":            {"depends on each backend's session", "read the id with RETURNING and pass it as a parameter"},
	"random_normal":      {"generates a different value on every backend", fixParams},
	"setseed":            {"changes the random state of each backend's session separately", fixParams},
	"uuidv7":             {"generates a different value on every backend", fixUUID},
	"uuid_generate_v1":   {"generates a different value on every backend", fixUUID},
	"uuid_generate_v1mc": {"generates a different value on every backend", fixUUID},
	"gen_random_bytes":   {"generates a different value on every backend", fixParam},
	"gen_salt":           {"generates a different value on every backend", fixParam},

	"txid_current":                   {xact, fixXact},
	"txid_current_if_assigned":       {xact, fixXact},
	"txid_current_snapshot":          {xact, fixXact},
	"pg_current_xact_id":             {xact, fixXact},
	"pg_current_xact_id_if_assigned": {xact, fixXact},
	"pg_current_snapshot":            {xact, fixXact},

	"pg_backend_pid":            {server, fixParam},
	"pg_postmaster_start_time":  {server, fixParam},
	"pg_conf_load_time":         {server, fixParam},
	"pg_current_wal_lsn":        {server, fixParam},
	"pg_current_wal_insert_lsn": {server, fixParam},
	"inet_client_addr":          {server, fixParam},
	"inet_client_port":          {server, fixParam},
	"inet_server_addr":          {server, fixParam},
	"inet_server_port":          {server, fixParam},
	"current_database":          {server, fixParam},
	"current_schema":            {server, fixParam},
	"current_schemas":           {server, fixParam},
	"version":                   {server, fixParam},
}

const (
	fixUUID = "generate the UUID in the application and pass it as a parameter"
	xact    = "is each backend's own transaction state, which differs between backends"
	fixXact = "use a value from the application, passed as a parameter"
	server  = "describes the backend or its session, which can differ between backends"
)

// call records a call of a function in volatileFuncs.
func (r *rewriter) call(x *pg.FuncCall, s scope) {
	name := lastName(x.Funcname)
	frag := fragment(r.text, int(x.Location), true)
	if frag == "" {
		frag = name + "()"
	}
	var qual string
	if len(x.Funcname) > 1 {
		qual = x.Funcname[len(x.Funcname)-2].GetString_().GetSval()
	}
	plain := len(x.Args) == 0 && len(x.AggOrder) == 0 && x.AggFilter == nil && x.Over == nil && !x.AggStar && !x.AggDistinct && !x.FuncVariadic &&
		(qual == "" || qual == "pg_catalog" || name == "uuid_generate_v4")
	var (
		class string
		gen   Gen
		row   bool
	)
	switch name {
	case "now", "transaction_timestamp":
		class, gen = "now", GenTimestamptz
	case "statement_timestamp":
		class, gen = "statement_timestamp", GenTimestamptz
	case "setval":
		return // its value comes from its arguments
	default:
		g, ok := rowFuncs[name]
		if !ok {
			why := funcRefusals[name]
			if why[0] == "" {
				why = [2]string{"differs between backends", fixParam}
			}
			r.refuse(x.Location, true, name+"()", why[0], why[1], s)
			return
		}
		gen, row = g, true
	}
	if !plain {
		r.refuse(x.Location, true, name+"()", "is evaluated separately on every backend, and only a plain call without arguments is replaced by a parameter", fixParam, s)
		return
	}
	end := callEnd(r.text, int(x.Location))
	repl := func(p string) string { return p + "::timestamptz" }
	switch {
	case name == "timeofday":
		repl = func(p string) string { return "to_char(" + p + "::timestamptz, 'Dy Mon DD HH24:MI:SS.US YYYY TZ')" }
	case gen == GenRandom:
		repl = func(p string) string { return p + "::float8" }
	case gen == GenUUID:
		repl = func(p string) string { return p + "::uuid" }
	}
	r.add(occurrence{start: int(x.Location), end: end, frag: frag, class: class, gen: gen, repl: repl}, s, row)
}

// sqlValue records CURRENT_TIMESTAMP and the other SQL-standard value
// functions.
func (r *rewriter) sqlValue(x *pg.SQLValueFunction, s scope) {
	var (
		class, typ string
		gen        Gen
		prec       = x.Op == pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N || x.Op == pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N ||
			x.Op == pg.SQLValueFunctionOp_SVFOP_LOCALTIME_N || x.Op == pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N
	)
	fallback := strings.TrimPrefix(x.Op.String(), "SVFOP_")
	switch x.Op {
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP, pg.SQLValueFunctionOp_SVFOP_CURRENT_TIMESTAMP_N:
		class, typ, gen = "now", "::timestamptz", GenTimestamptz
	case pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP, pg.SQLValueFunctionOp_SVFOP_LOCALTIMESTAMP_N:
		class, typ, gen = "timestamp", "::timestamp", GenTimestamp
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_DATE:
		class, typ, gen = "date", "::date", GenDate
	case pg.SQLValueFunctionOp_SVFOP_LOCALTIME, pg.SQLValueFunctionOp_SVFOP_LOCALTIME_N:
		class, typ, gen = "time", "::time", GenTime
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME, pg.SQLValueFunctionOp_SVFOP_CURRENT_TIME_N:
		class, typ, gen = "time", "::time::timetz", GenTime
	case pg.SQLValueFunctionOp_SVFOP_CURRENT_CATALOG, pg.SQLValueFunctionOp_SVFOP_CURRENT_SCHEMA:
		r.refuse(x.Location, false, fallback, "describes the backend's session, which can differ between backends", fixParam, s)
		return
	default: // CURRENT_USER, CURRENT_ROLE, USER, SESSION_USER
		r.refuse(x.Location, false, fallback, "is the backend session's user, which can differ between backends", "pass the user name as a parameter", s)
		return
	}
	if prec {
		typ += "(" + strconv.Itoa(int(x.Typmod)) + ")"
	}
	frag := fragment(r.text, int(x.Location), prec)
	if frag == "" {
		frag = fallback
	}
	end := int(x.Location) + len(frag)
	if prec {
		end = callEnd(r.text, int(x.Location))
	}
	r.add(occurrence{start: int(x.Location), end: end, frag: frag, class: class, gen: gen,
		repl: func(p string) string { return p + typ }}, s, false)
}

// cast records 'now'::timestamptz and the other date/time literals
// PostgreSQL evaluates when it reads them.
func (r *rewriter) cast(x *pg.TypeCast, c *pg.A_Const, s scope) {
	lit := strings.ToLower(strings.TrimSpace(c.GetSval().GetSval()))
	typ := lastName(x.TypeName.GetNames())
	loc := int(c.Location)
	frag := fragment(r.text, loc, false)
	if frag == "" {
		frag = "'" + c.GetSval().GetSval() + "'"
	}
	if s.mode == deferred {
		// Stored definitions keep the value the literal had when they
		// were created, which differs between backends.
		r.occ = append(r.occ, occurrence{start: loc, frag: frag, err: &UnsafeError{Fragment: frag,
			Reason: "is turned into a fixed time when the definition is stored, differently on every backend",
			Fix:    "use now(), CURRENT_TIMESTAMP or CURRENT_DATE, which are evaluated when the definition is used"}})
		return
	}
	if len(x.TypeName.GetArrayBounds()) > 0 || lit != "now" && (typ == "time" || typ == "timetz") {
		return // an error on every backend
	}
	// inner follows the placeholder in the replacement of the literal;
	// the cast that follows the literal stays, or for the form
	// timestamptz 'now' is added.
	var (
		inner, class string
		gen          Gen
	)
	switch {
	case lit == "now" && typ == "timestamptz":
		class, gen = "now", GenTimestamptz
	case lit == "now" && typ == "timestamp":
		class, gen = "timestamp", GenTimestamp
	case lit == "now" && typ == "time":
		class, gen = "time", GenTime
	case lit == "now" && typ == "timetz":
		class, gen, inner = "time", GenTime, "::time"
	default: // a day: 'now' or 'today' as a date, or any of them as a timestamp
		class, gen = "date", GenDate
		switch {
		case lit == "tomorrow":
			inner = "::date + 1"
		case lit == "yesterday":
			inner = "::date - 1"
		case typ != "date":
			inner = "::date"
		}
	}
	start, end := loc, literalEnd(r.text, loc)
	var tail string
	if tl := int(x.TypeName.GetLocation()); tl >= 0 && tl < loc {
		start, tail = tl, "::"+strings.TrimRight(r.text[tl:loc], " \t")
	}
	repl := func(p string) string {
		if strings.Contains(inner, " ") {
			return "(" + p + inner + ")" + tail
		}
		return p + inner + tail
	}
	r.add(occurrence{start: start, end: end, frag: frag, class: class, gen: gen, repl: repl}, s, false)
}

// literalEnd returns the index after the string literal at i, or -1.
func literalEnd(text string, i int) int {
	switch {
	case i < 0 || i >= len(text):
		return -1
	case text[i] == '\'':
		return skipQuoted(text, i)
	case text[i] == '$':
		j := strings.IndexByte(text[i+1:], '$')
		if j < 0 {
			return -1
		}
		tag := text[i : i+j+2]
		k := strings.Index(text[i+len(tag):], tag)
		if k < 0 {
			return -1
		}
		return i + len(tag) + k + len(tag)
	}
	return -1 // E'...', U&'...': not rewritten
}

// callEnd returns the index after the argument list of the call whose
// name starts at i, or -1. Comments may stand between the name and the
// list.
func callEnd(text string, i int) int {
	if i < 0 || i >= len(text) {
		return -1
	}
	name := fragment(text, i, false)
	j := skipSpace(text, i+len(name))
	if j >= len(text) || text[j] != '(' {
		return -1
	}
	for depth := 0; j < len(text); {
		switch c := text[j]; {
		case c == '(':
			depth++
		case c == ')':
			if depth--; depth == 0 {
				return j + 1
			}
		case c == '\'' || c == '"':
			j = skipQuoted(text, j)
			continue
		case strings.HasPrefix(text[j:], "--") || strings.HasPrefix(text[j:], "/*"):
			j = skipSpace(text, j)
			continue
		}
		j++
	}
	return -1
}

// skipSpace returns the index of the first byte from i that is neither
// white space nor in a comment.
func skipSpace(text string, i int) int {
	for i < len(text) {
		switch {
		case strings.IndexByte(" \t\r\n\f\v", text[i]) >= 0:
			i++
		case strings.HasPrefix(text[i:], "--"):
			k := strings.IndexByte(text[i:], '\n')
			if k < 0 {
				return len(text)
			}
			i += k + 1
		case strings.HasPrefix(text[i:], "/*"):
			depth := 0
			for i < len(text) {
				if strings.HasPrefix(text[i:], "/*") {
					depth++
					i += 2
				} else if strings.HasPrefix(text[i:], "*/") {
					i += 2
					if depth--; depth == 0 {
						break
					}
				} else {
					i++
				}
			}
		default:
			return i
		}
	}
	return i
}
