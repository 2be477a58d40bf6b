package router

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/sqlc-dev/meyer/ast"
	lite "github.com/sqlc-dev/meyer/parser"
)

// AddSQLiteInsertColumns rewrites a SQLite INSERT … VALUES so that it sets
// cols explicitly: each column is appended to the column list and, in every
// VALUES row, given the parameter ?first, ?first+1, … (row by row). Every ?
// of the text becomes ?NNN with the number SQLite gave it, so that the
// added parameters shift none of them. Named parameters are refused: their
// numbers depend on the order they first appear in.
//
// The driver uses it to replay ids and default values that it drew from the
// anchor as parameters on every backend.
func AddSQLiteInsertColumns(text string, cols []string, first int) (string, error) {
	ins, err := sqliteInsert(text)
	if err != nil {
		return "", err
	}
	rows := liteValues(ins.Select)
	if len(ins.Columns) == 0 || len(rows) == 0 {
		return "", errors.New("router: not an INSERT with a column list and VALUES rows")
	}
	edits, err := liteNumbered(ins)
	if err != nil {
		return "", err
	}
	closeAt := func(after int) (int, error) {
		i := skipSpace(text, after)
		if i >= len(text) || text[i] != ')' {
			return 0, errors.New("router: closing parenthesis not found")
		}
		return i, nil
	}
	at, err := closeAt(ins.Columns[len(ins.Columns)-1].End())
	if err != nil {
		return "", err
	}
	var names strings.Builder
	for _, c := range cols {
		names.WriteString(`, "` + strings.ReplaceAll(c, `"`, `""`) + `"`)
	}
	edits = append(edits, edit{at, at, names.String()})
	n := first
	for _, row := range rows {
		if len(row) == 0 {
			return "", errors.New("router: empty VALUES row")
		}
		at, err := closeAt(row[len(row)-1].End())
		if err != nil {
			return "", err
		}
		var b strings.Builder
		for range cols {
			b.WriteString(", ?" + strconv.Itoa(n))
			n++
		}
		edits = append(edits, edit{at, at, b.String()})
	}
	return applyEdits(text, edits), nil
}

// SQLiteInsertSelect describes an INSERT … SELECT that reads one table
// without an order, as GORM's SQLite migrator copies a table it rebuilds.
type SQLiteInsertSelect struct {
	Table string // the table read, named like [Table.Name]
	Qual  string // how the SELECT names it (its alias, or its name as written), for ORDER BY
	At    int    // where an ORDER BY clause goes
}

// ParseSQLiteInsertSelect returns the table an INSERT … SELECT reads and
// where its ORDER BY would go, or an error unless the SELECT is a single
// core reading one table without grouping, DISTINCT, window, ORDER BY or
// LIMIT, whose rows an ORDER BY over the table's key puts in a total order.
func ParseSQLiteInsertSelect(text string) (*SQLiteInsertSelect, error) {
	ins, err := sqliteInsert(text)
	if err != nil {
		return nil, err
	}
	s := ins.Select
	if s == nil || s.With != nil || len(s.Cores) != 1 {
		return nil, errors.New("router: not an INSERT … SELECT of one core")
	}
	q, ok := s.Cores[0].(*ast.SelectQuery)
	if !ok || q == nil || len(q.From) != 1 || len(q.GroupBy) > 0 || q.Having != nil || len(q.Windows) > 0 ||
		len(q.OrderBy) > 0 || q.Limit != nil || q.Distinct == ast.DistinctDistinct {
		return nil, errors.New("router: the SELECT is not a plain read of one table")
	}
	ref := q.From[0]
	if ref.Name == nil || ref.Select != nil || len(ref.List) > 0 || ref.HasArgs || ref.Join != nil {
		return nil, errors.New("router: the SELECT does not read one table")
	}
	schema, name := liteName(ref.Name)
	out := &SQLiteInsertSelect{Table: qualified(schema, name), Qual: ref.Name.Name.Raw, At: q.End()}
	if ref.Name.Schema != nil {
		out.Qual = ref.Name.Schema.Raw + "." + out.Qual
	}
	if ref.Alias != nil {
		out.Qual = ref.Alias.Raw
	}
	if out.At <= 0 || out.At > len(text) {
		return nil, errors.New("router: no position for ORDER BY")
	}
	return out, nil
}

func sqliteInsert(text string) (*ast.InsertStmt, error) {
	stmts, err := lite.ParseString(text)
	if err != nil {
		return nil, &ParseError{Text: text, Err: err}
	}
	if len(stmts) != 1 {
		return nil, errors.New("router: not a single statement")
	}
	ins, ok := stmts[0].(*ast.InsertStmt)
	if !ok || ins == nil {
		return nil, errors.New("router: not an INSERT")
	}
	return ins, nil
}

// ReplaceSQLiteInsertNulls rewrites a SQLite INSERT … VALUES so that each
// row giving column col a literal NULL gives it the parameter ?first,
// ?first+1, … instead (every ? of the text becoming ?NNN, as in
// AddSQLiteInsertColumns), and returns the indexes of those rows.
func ReplaceSQLiteInsertNulls(text, col string, first int) (string, []int, error) {
	ins, err := sqliteInsert(text)
	if err != nil {
		return "", nil, err
	}
	rows := liteValues(ins.Select)
	idx := -1
	for i, c := range ins.Columns {
		if c != nil && asciiLower(c.Name) == col {
			idx = i
		}
	}
	if idx < 0 || len(rows) == 0 {
		return "", nil, errors.New("router: not an INSERT … VALUES naming the column")
	}
	edits, err := liteNumbered(ins)
	if err != nil {
		return "", nil, err
	}
	var which []int
	n := first
	for r, row := range rows {
		if idx >= len(row) {
			return "", nil, errors.New("router: a VALUES row is short")
		}
		if lit, ok := row[idx].(*ast.Literal); ok && lit != nil && lit.Kind == ast.LitNull {
			edits = append(edits, edit{lit.Pos(), lit.End(), "?" + strconv.Itoa(n)})
			n++
			which = append(which, r)
		}
	}
	return applyEdits(text, edits), which, nil
}

// AddSQLiteDefaultValuesColumns rewrites a SQLite INSERT … DEFAULT VALUES,
// which inserts one row, into INSERT … (cols) VALUES (?first, ?first+1, …),
// every ? of the text becoming ?NNN as in [AddSQLiteInsertColumns]. ok is
// false, with no error, when text is not an INSERT … DEFAULT VALUES. GORM
// sends one to create a row of a model with no fields but its id.
func AddSQLiteDefaultValuesColumns(text string, cols []string, first int) (_ string, ok bool, err error) {
	ins, err := sqliteInsert(text)
	if err != nil || !ins.DefaultValues {
		return "", false, nil
	}
	if len(cols) == 0 || len(ins.Columns) > 0 || ins.Select != nil || ins.Table == nil {
		return "", false, errors.New("router: not an INSERT … DEFAULT VALUES of columns to set")
	}
	after := ins.Table.End()
	if ins.Alias != nil {
		after = max(after, ins.Alias.End())
	}
	at := skipSpace(text, after)
	end := at
	for _, word := range []string{"DEFAULT", "VALUES"} {
		end = skipSpace(text, end)
		if end+len(word) > len(text) || !strings.EqualFold(text[end:end+len(word)], word) {
			return "", false, errors.New("router: DEFAULT VALUES not found after the table name")
		}
		end += len(word)
	}
	edits, err := liteNumbered(ins)
	if err != nil {
		return "", false, err
	}
	var b strings.Builder
	b.WriteString("(")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`"` + strings.ReplaceAll(c, `"`, `""`) + `"`)
	}
	b.WriteString(") VALUES (")
	for i := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("?" + strconv.Itoa(first+i))
	}
	b.WriteString(")")
	edits = append(edits, edit{at, end, b.String()})
	return applyEdits(text, edits), true, nil
}

// edit replaces text[at:end] with s.
type edit struct {
	at, end int
	s       string
}

// liteNumbered returns the edits that give every anonymous ? of ins the
// number SQLite gives it (?NNN), so that parameters added to the text
// shift none of them. Named parameters are refused: their numbers depend
// on the order they first appear in.
func liteNumbered(ins *ast.InsertStmt) ([]edit, error) {
	var edits []edit
	var bad error
	ast.Walk(ins, func(n ast.Node) bool {
		if p, ok := n.(*ast.BindParam); ok {
			switch p.Kind {
			case ast.ParamAnon:
				edits = append(edits, edit{p.Pos(), p.End(), "?" + strconv.Itoa(p.Number)})
			case ast.ParamNumber:
			default:
				bad = errors.New("router: named parameters cannot be renumbered")
			}
		}
		return true
	})
	return edits, bad
}

// applyEdits applies edits, which do not overlap, to text.
func applyEdits(text string, edits []edit) string {
	edits = slices.Clone(edits)
	slices.SortStableFunc(edits, func(x, y edit) int { return x.at - y.at })
	var b strings.Builder
	last := 0
	for _, e := range edits {
		b.WriteString(text[last:e.at])
		b.WriteString(e.s)
		last = e.end
	}
	b.WriteString(text[last:])
	return b.String()
}
