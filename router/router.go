// Package router analyses SQL statements for the calibrated driver: what kind
// of statement a text is, which tables it touches, which values pin their
// rows, and which fragments would make its effect differ between databases
// (DESIGN §6). An [Analyzer] computes an [Analysis] once per text and caches
// it; [Analysis.Keys] binds it to the arguments of one execution.
package router

import (
	"database/sql/driver"
	"strconv"
)

// LimitOrder is the ORDER BY of a LIMIT in a write.
type LimitOrder struct {
	Table   string   // the table whose rows are ordered; "" when they come from several tables or a derived one
	Columns []string // the columns ordered by; nil when an item is not a plain column
}

// Kind is what a statement does, as far as routing is concerned.
type Kind uint8

// The kinds of statement.
const (
	Read       Kind = iota + 1 // SELECT (incl. FOR UPDATE/SHARE, see Locking), SHOW, EXPLAIN without ANALYZE, VALUES, LOCK, FETCH
	Write                      // INSERT, UPDATE, DELETE, MERGE, TRUNCATE, COPY FROM, a SELECT whose CTEs write
	DDL                        // CREATE/ALTER/DROP/COMMENT/GRANT/..., SELECT INTO, and statements whose effects cannot be seen (DO, CALL, EXECUTE, two-phase commit)
	Begin                      // BEGIN / START TRANSACTION
	Commit                     // COMMIT / END
	Rollback                   // ROLLBACK / ABORT
	Savepoint                  // SAVEPOINT name
	RollbackTo                 // ROLLBACK TO [SAVEPOINT] name
	Release                    // RELEASE [SAVEPOINT] name
	Session                    // SET, RESET, DISCARD, LISTEN, PREPARE, ... and the empty statement
)

var kindNames = [...]string{"", "read", "write", "ddl", "begin", "commit", "rollback", "savepoint", "rollback to", "release", "session"}

// String returns the kind's name in lower case, e.g. "rollback to".
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Source is where one value of a key column comes from.
type Source struct {
	Param int    // 1-based $n placeholder; 0 when Const holds a literal
	Const string // the literal's value as text (integers as decimal, strings unquoted); valid when Param == 0 && !Expr
	Expr  bool   // anything else (an expression, DEFAULT, a function call): the value is unknown before execution
}

// Table is one table a statement touches.
type Table struct {
	// Name is normalised: unquoted identifiers lower-cased, quoted ones
	// kept as written, schema-qualified as "schema.name" unless the schema
	// is "public".
	Name string
	// Target reports that the statement writes the table (INSERT, UPDATE,
	// DELETE, MERGE, TRUNCATE, COPY FROM), or for DDL that it is the object
	// the statement defines or alters.
	Target bool
	// Eq maps a column to the values it must equal, from the top-level
	// AND-conjuncts of the WHERE clause that names the table in its FROM
	// list: col = $1, $1 = col, col = 5, col IN ($1, 'x'). Qualified
	// references are attributed by table name or alias, unqualified ones
	// only when that FROM list holds a single table. It is nil when there
	// is no such conjunct, and when the table appears more than once in
	// the statement.
	Eq map[string][]Source
	// InsertCols is the INSERT column list, nil when omitted.
	InsertCols []string
	// InsertRows holds one []Source per VALUES row, aligned with
	// InsertCols; nil for INSERT ... SELECT and DEFAULT VALUES.
	InsertRows [][]Source
	// SetCols are the columns assigned by UPDATE SET or by ON CONFLICT DO
	// UPDATE SET.
	SetCols []string
	// Set maps each column of SetCols to the value assigned to it. A value
	// that is not a plain $n or literal, an assignment to part of a column
	// (SET a[1] = ..., SET c.f = ...), and excluded.col are Expr.
	Set map[string]Source

	wide     bool              // the table appears more than once: no pin bounds what the statement touches
	insert   bool              // the target of an INSERT
	opaque   bool              // the target of MERGE or COPY FROM: rows are written with values the text does not show
	upsert   bool              // INSERT ... ON CONFLICT ... DO UPDATE
	arbiter  []string          // the ON CONFLICT inference columns; nil when not given as plain columns
	excluded map[string]string // ON CONFLICT DO UPDATE SET col = excluded.other: col -> other
}

// Analysis is what one statement text is, computed once and cached by text.
// An Analysis returned by [Analyzer.Analyze] is shared: treat it as
// immutable.
type Analysis struct {
	Text string
	Kind Kind
	// Tables lists every table touched, targets first, each name once.
	// Names defined by WITH are not tables, but what their bodies touch is
	// included.
	Tables    []Table
	NumParams int // highest $n
	// Volatile lists the fragments whose value is not fixed by the text
	// and the arguments, as they appear in the text, each once: "now()",
	// "CURRENT_TIMESTAMP", "random()", "nextval('s')", "'now'" cast to a
	// date/time type, and values that differ between databases such as
	// "current_user" and "version()". [Analysis.Rewritten] says how to
	// make them deterministic, or why that cannot be done.
	Volatile []string
	// Returning reports that a write yields rows: INSERT, UPDATE, DELETE
	// or MERGE ... RETURNING, or a SELECT whose CTEs write.
	Returning  bool
	OnConflict bool // INSERT ... ON CONFLICT
	Locking    bool // SELECT ... FOR UPDATE / NO KEY UPDATE / SHARE / KEY SHARE, or LOCK TABLE
	// Clock reports, for the MySQL dialect, that a write reads the clock
	// (NOW(), CURRENT_TIMESTAMP, CURDATE(), UNIX_TIMESTAMP() ...) where
	// every backend evaluates it: the driver fixes the instant with SET
	// timestamp, as MySQL's statement replication does, instead of
	// refusing the statement.
	Clock bool
	// Unordered names, for writes, what makes the result depend on the
	// order rows are visited in or on concurrent transactions: "INSERT ...
	// SELECT without ORDER BY", "LIMIT without ORDER BY" or "SKIP LOCKED"
	// (in any SELECT of the statement); else "".
	Unordered string
	// LimitOrders are the ORDER BY clauses of the LIMITs in a write: the
	// driver checks each is a total order (it covers a primary or unique
	// key of the rows it orders), or refuses the write.
	LimitOrders []LimitOrder
	// Multi reports that the text holds more than one statement. Kind is
	// then the strongest of their kinds (DDL, then Write, then Read, else
	// the first), and Tables covers them all.
	Multi     bool
	Savepoint string // the savepoint name for Savepoint, RollbackTo and Release
	ReadOnly  bool   // for Begin: BEGIN / START TRANSACTION READ ONLY

	all bool // the statement reaches beyond the tables it names (TRUNCATE ... CASCADE): Keys gives ledger.All

	postgres bool // analysed by the PostgreSQL analyzer, which tracks calls
	calls    bool // PostgreSQL: the statement calls a function, or holds a subquery or a CTE

	// The result of Rewritten, computed with the analysis.
	rewrite     *Rewrite
	rewriteErr  error
	rewriteDone bool
}

// Contained reports that a write reads no row it does not lock: one
// INSERT ... VALUES, UPDATE or DELETE of one table, named once, with no
// function call, subquery, CTE, upsert or RETURNING. On PostgreSQL such a
// statement, run while an earlier transaction that has already executed
// commits, gives what it would give after that commit: the rows it writes
// wait for the earlier transaction's row locks and are re-checked, and an
// insert waits for a conflicting uncommitted key (read committed). Only
// the PostgreSQL analyzer tells; other dialects' writes are never
// contained. Triggers, rules and row security on the table are the
// schema's to rule out.
func (a *Analysis) Contained() bool {
	if !a.postgres || a.Kind != Write || a.Multi || a.all || a.calls || a.Returning || a.OnConflict ||
		a.Unordered != "" || len(a.LimitOrders) > 0 || len(a.Volatile) > 0 || len(a.Tables) != 1 {
		return false
	}
	t := &a.Tables[0]
	return t.Target && !t.wide && !t.opaque && !t.upsert && (!t.insert || t.InsertRows != nil)
}

// Arg is one argument of a statement, as database/sql passes it to a
// driver: positional ($1, ? in order) by Ordinal, from 1.
type Arg = driver.NamedValue

// ParseError is returned for text the dialect's parser rejects.
type ParseError struct {
	Text string
	Err  error
}

// Error implements error.
func (e *ParseError) Error() string { return "calibrated: cannot parse statement: " + e.Err.Error() }

// Unwrap returns the parser's error.
func (e *ParseError) Unwrap() error { return e.Err }

// Schema tells the router what it cannot see in the text. Tables are named
// as [Table.Name] spells them.
type Schema interface {
	// PrimaryKey returns the table's primary-key columns, lower-cased
	// like table names, in key order; nil if unknown.
	PrimaryKey(table string) []string
	// UniqueKeys returns the table's unique indexes and unique constraints
	// other than the primary key, each as its lower-cased columns in index
	// order. Only indexes on plain columns without a WHERE clause count:
	// the router cannot tell which rows a partial or expression index
	// constrains.
	UniqueKeys(table string) [][]string
	// ForeignKeys returns the table's foreign-key constraints.
	ForeignKeys(table string) []ForeignKey
}

// ForeignKey is a foreign-key constraint of a child table.
type ForeignKey struct {
	Columns       []string // the child's columns, lower-cased, in constraint order
	Parent        string   // the referenced table, named like [Table.Name]
	ParentColumns []string // the referenced columns, lower-cased, aligned with Columns
}
