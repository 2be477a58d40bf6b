package router

import (
	"errors"
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
	type edit struct {
		at, end int
		s       string
	}
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
	if bad != nil {
		return "", bad
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
	// Edits do not overlap; apply them in text order.
	for i := 1; i < len(edits); i++ {
		for j := i; j > 0 && edits[j].at < edits[j-1].at; j-- {
			edits[j], edits[j-1] = edits[j-1], edits[j]
		}
	}
	var b strings.Builder
	last := 0
	for _, e := range edits {
		b.WriteString(text[last:e.at])
		b.WriteString(e.s)
		last = e.end
	}
	b.WriteString(text[last:])
	return b.String(), nil
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
	type edit struct {
		at, end int
		s       string
	}
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
	if bad != nil {
		return "", nil, bad
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
	for i := 1; i < len(edits); i++ {
		for j := i; j > 0 && edits[j].at < edits[j-1].at; j-- {
			edits[j], edits[j-1] = edits[j-1], edits[j]
		}
	}
	var b strings.Builder
	last := 0
	for _, e := range edits {
		b.WriteString(text[last:e.at])
		b.WriteString(e.s)
		last = e.end
	}
	b.WriteString(text[last:])
	return b.String(), which, nil
}
