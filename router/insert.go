package router

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"

	pg "github.com/pganalyze/pg_query_go/v6"
	tidb "github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
)

// AddInsertColumns rewrites an INSERT … VALUES so that it sets cols
// explicitly: each column is appended to the column list and, in every
// VALUES row, given the parameter $first, $first+1, … (row by row) cast to
// its type (types[i], as PostgreSQL's format_type prints it). overriding
// adds OVERRIDING SYSTEM VALUE, for GENERATED ALWAYS identity columns.
//
// The driver uses it to replay values that the anchor generated (serial
// ids, volatile defaults) as literals on every backend.
func AddInsertColumns(text string, cols, types []string, first int, overriding bool) (string, error) {
	if len(cols) != len(types) {
		return "", errors.New("router: AddInsertColumns: cols and types differ in length")
	}
	tree, err := pg.Parse(text)
	if err != nil {
		return "", &ParseError{Text: text, Err: err}
	}
	if len(tree.Stmts) != 1 {
		return "", errors.New("router: AddInsertColumns: not a single statement")
	}
	ins := tree.Stmts[0].GetStmt().GetInsertStmt()
	if ins == nil || len(ins.Cols) == 0 {
		return "", errors.New("router: AddInsertColumns: not an INSERT with a column list")
	}
	sel := ins.GetSelectStmt().GetSelectStmt()
	if sel == nil || len(sel.ValuesLists) == 0 {
		return "", errors.New("router: AddInsertColumns: not an INSERT … VALUES")
	}
	typeNames := make([]*pg.TypeName, len(types))
	for i, t := range types {
		if typeNames[i], err = typeName(t); err != nil {
			return "", err
		}
	}
	for _, c := range cols {
		ins.Cols = append(ins.Cols, &pg.Node{Node: &pg.Node_ResTarget{ResTarget: &pg.ResTarget{Name: c}}})
	}
	n := first
	for _, row := range sel.ValuesLists {
		list := row.GetList()
		if list == nil {
			return "", errors.New("router: AddInsertColumns: unexpected VALUES row")
		}
		for i := range cols {
			param := &pg.Node{Node: &pg.Node_ParamRef{ParamRef: &pg.ParamRef{Number: int32(n)}}}
			list.Items = append(list.Items, &pg.Node{Node: &pg.Node_TypeCast{TypeCast: &pg.TypeCast{Arg: param, TypeName: typeNames[i]}}})
			n++
		}
	}
	if overriding {
		ins.Override = pg.OverridingKind_OVERRIDING_SYSTEM_VALUE
	}
	return pg.Deparse(tree)
}

// typeName parses a type as format_type prints it.
func typeName(t string) (*pg.TypeName, error) {
	tree, err := pg.Parse("SELECT NULL::" + t)
	if err != nil {
		return nil, fmt.Errorf("router: type %q: %w", t, err)
	}
	tc := tree.Stmts[0].GetStmt().GetSelectStmt().GetTargetList()[0].GetResTarget().GetVal().GetTypeCast()
	if tc == nil {
		return nil, fmt.Errorf("router: type %q not understood", t)
	}
	return tc.TypeName, nil
}

// LeavesToDatabase reports whether an INSERT may leave the column col to the
// database in some row although it names it: a row gives it NULL or (with
// zero) 0, as a literal or an argument, or an expression whose value is not
// known before execution. MySQL numbers an AUTO_INCREMENT column given NULL
// or 0, and SQLite an INTEGER PRIMARY KEY given NULL, as if it were omitted.
func (t *Table) LeavesToDatabase(col string, zero bool, args []driver.NamedValue) bool {
	i := slices.Index(t.InsertCols, col)
	if i < 0 {
		return false
	}
	if t.InsertRows == nil {
		return true // INSERT … SELECT: unknown
	}
	for _, row := range t.InsertRows {
		if i >= len(row) {
			return true
		}
		v, ok, err := row[i].value(args)
		if !ok || err != nil || v == nullKey || zero && (v == "0" || v == "false") {
			return true
		}
	}
	return false
}

// LeftToDatabase reports, for each VALUES row, whether it may leave the
// value at index at of the row (its column, by the column list or the
// table's column order) to the database: NULL or (with zero) 0, as a
// literal or an argument, DEFAULT, or an expression whose value is not
// known before execution. It is nil for INSERT … SELECT.
func (t *Table) LeftToDatabase(at int, zero bool, args []driver.NamedValue) []bool {
	if t.InsertRows == nil {
		return nil
	}
	out := make([]bool, len(t.InsertRows))
	for r, row := range t.InsertRows {
		if at < 0 || at >= len(row) {
			out[r] = true
			continue
		}
		v, ok, err := row[at].value(args)
		out[r] = !ok || err != nil || v == nullKey || zero && (v == "0" || v == "false")
	}
	return out
}

// MySQLInsert is the layout of a MySQL INSERT … VALUES text: where its
// column list is, where each row and each of its values is and where its
// placeholders are, so that the driver can replay it with the ids the
// anchor generated, as literals, one row or all rows at a time.
type MySQLInsert struct {
	text     string
	colsOpen int        // the index of the '(' that opens the column list, or -1
	colsEnd  int        // the index of the ')' that closes it, or -1
	values   int        // the index of the VALUES keyword
	rows     [][2]int   // each row's '(' and ')' indexes
	items    [][][2]int // each row's values: start and end (exclusive) indexes
	params   []int      // placeholder offsets, sorted: the n-th is argument n
}

// ParseMySQLInsert returns the layout of a MySQL INSERT or REPLACE with
// VALUES rows (INSERT INTO t VALUES () included), or an error for any
// other text.
func ParseMySQLInsert(text string) (*MySQLInsert, error) {
	src, err := myComments(text)
	if err != nil {
		return nil, &ParseError{Text: text, Err: err}
	}
	p, _ := myParsers.Get().(*tidb.Parser)
	if p == nil {
		p = tidb.New()
	}
	stmts, ok, err := myParse(p, src)
	if ok {
		defer myParsers.Put(p)
	}
	if err != nil {
		return nil, &ParseError{Text: text, Err: err}
	}
	if len(stmts) != 1 {
		return nil, errors.New("router: not a single statement")
	}
	ins, isInsert := stmts[0].(*ast.InsertStmt)
	if !isInsert || ins.Select != nil || len(ins.Lists) == 0 || ins.Setlist || len(ins.PartitionNames) > 0 {
		return nil, errors.New("router: not an INSERT with VALUES rows")
	}
	m := &MySQLInsert{text: text, colsOpen: -1, colsEnd: -1, values: -1, params: myMarkers(text, stmts)}
	// The column list, if any, is the last top-level parenthesis before
	// VALUES.
	depth, i := 0, 0
	values := -1
	for i < len(src) && values < 0 {
		switch c := src[i]; {
		case c == '\'' || c == '"' || c == '`':
			i = skipMyQuoted(src, i)
			continue
		case c == '#' || c == '-' && strings.HasPrefix(src[i:], "--") || c == '/' && strings.HasPrefix(src[i:], "/*"):
			i = skipMyComment(src, i)
			continue
		case c == '(':
			if depth == 0 {
				m.colsOpen = i
			}
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				m.colsEnd = i
			}
		case depth == 0 && (c|0x20 == 'v') && (i == 0 || !identByte(src[i-1])):
			j := i
			for j < len(src) && identByte(src[j]) {
				j++
			}
			if w := strings.ToUpper(src[i:j]); w == "VALUES" || w == "VALUE" {
				m.values, values = i, j
			}
			i = j
			continue
		}
		i++
	}
	if values < 0 {
		return nil, errors.New("router: no VALUES")
	}
	switch {
	case len(ins.Columns) > 0 && m.colsEnd < 0,
		len(ins.Columns) == 0 && m.colsEnd >= 0 && strings.TrimSpace(src[m.colsOpen+1:m.colsEnd]) != "":
		return nil, errors.New("router: column list not found")
	}
	for i = values; ; {
		i = skipMySpace(src, i)
		if i >= len(src) || src[i] != '(' {
			return nil, errors.New("router: VALUES row not found")
		}
		open := i
		var items [][2]int
		from := open + 1
		for depth = 0; i < len(src); {
			c := src[i]
			switch {
			case c == '\'' || c == '"' || c == '`':
				i = skipMyQuoted(src, i)
				continue
			case c == '#' || c == '-' && strings.HasPrefix(src[i:], "--") || c == '/' && strings.HasPrefix(src[i:], "/*"):
				i = skipMyComment(src, i)
				continue
			case c == '(':
				depth++
			case c == ')':
				depth--
				if depth == 0 && (len(items) > 0 || strings.TrimSpace(src[from:i]) != "") {
					items = append(items, [2]int{from, i})
				}
			case c == ',' && depth == 1:
				items = append(items, [2]int{from, i})
				from = i + 1
			}
			i++
			if depth == 0 {
				break
			}
		}
		if depth != 0 {
			return nil, errors.New("router: unbalanced VALUES row")
		}
		if len(m.rows) < len(ins.Lists) && len(items) != len(ins.Lists[len(m.rows)]) {
			return nil, fmt.Errorf("router: found %d values in VALUES row %d, the parser %d", len(items), len(m.rows)+1, len(ins.Lists[len(m.rows)]))
		}
		m.rows = append(m.rows, [2]int{open, i - 1})
		m.items = append(m.items, items)
		i = skipMySpace(src, i)
		if i >= len(src) || src[i] != ',' {
			break
		}
		i++
	}
	if len(m.rows) != len(ins.Lists) {
		return nil, fmt.Errorf("router: found %d VALUES rows, the parser %d", len(m.rows), len(ins.Lists))
	}
	return m, nil
}

// Rows returns the number of VALUES rows.
func (m *MySQLInsert) Rows() int { return len(m.rows) }

// Text returns the statement for the given rows, in that order, with column
// col added to the column list (which is written when the statement has
// none) and vals[k] (SQL literals) to row rows[k]; with vals nil the column
// is not added. It also returns the 0-based indexes of the statement's
// arguments the text takes, in order.
func (m *MySQLInsert) Text(rows []int, col string, vals []string) (string, []int) {
	return m.build(rows, col, vals, -1, nil)
}

// Replace returns the statement for the given rows, in that order, with
// the value at index at of row rows[k] replaced by vals[k] (an SQL literal),
// or left as written where vals[k] is "". It also returns the 0-based
// indexes of the statement's arguments the text takes, in order: those of
// replaced values are left out.
func (m *MySQLInsert) Replace(rows []int, at int, vals []string) (string, []int) {
	return m.build(rows, "", nil, at, vals)
}

func (m *MySQLInsert) build(rows []int, col string, add []string, at int, set []string) (string, []int) {
	var b strings.Builder
	b.Grow(len(m.text) + 16*len(rows))
	first, last := m.rows[0][0], m.rows[len(m.rows)-1][1]
	var args []int
	for n, off := range m.params {
		if off < first {
			args = append(args, n)
		}
	}
	quoted := "`" + strings.ReplaceAll(col, "`", "``") + "`"
	switch {
	case add == nil:
		b.WriteString(m.text[:first])
	case m.colsEnd < 0:
		b.WriteString(m.text[:m.values])
		b.WriteString("(" + quoted + ") ")
		b.WriteString(m.text[m.values:first])
	default:
		b.WriteString(m.text[:m.colsEnd])
		if strings.TrimSpace(m.text[m.colsOpen+1:m.colsEnd]) != "" {
			b.WriteString(", ")
		}
		b.WriteString(quoted)
		b.WriteString(m.text[m.colsEnd:first])
	}
	for k, r := range rows {
		if k > 0 {
			b.WriteString(", ")
		}
		span := m.rows[r]
		skip := [2]int{-1, -1}
		if set != nil && set[k] != "" && at < len(m.items[r]) {
			skip = m.items[r][at]
			b.WriteString(m.text[span[0]:skip[0]])
			// Keep the space the value had after its comma.
			if lead := len(m.text[skip[0]:skip[1]]) - len(strings.TrimLeft(m.text[skip[0]:skip[1]], " \t\r\n")); lead > 0 {
				b.WriteString(m.text[skip[0] : skip[0]+lead])
			}
			b.WriteString(set[k])
			b.WriteString(m.text[skip[1]:span[1]])
		} else {
			b.WriteString(m.text[span[0]:span[1]])
		}
		if add != nil {
			if len(m.items[r]) > 0 {
				b.WriteString(", ")
			}
			b.WriteString(add[k])
		}
		b.WriteString(")")
		for n, off := range m.params {
			if span[0] < off && off < span[1] && !(skip[0] <= off && off < skip[1]) {
				args = append(args, n)
			}
		}
	}
	b.WriteString(m.text[last+1:])
	for n, off := range m.params {
		if off > last {
			args = append(args, n)
		}
	}
	return b.String(), args
}

func identByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || 'a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9'
}

// skipMyComment returns the index after the comment that starts at i.
func skipMyComment(text string, i int) int {
	if strings.HasPrefix(text[i:], "/*") {
		if j := strings.Index(text[i+2:], "*/"); j >= 0 {
			return i + 2 + j + 2
		}
		return len(text)
	}
	if j := strings.IndexByte(text[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(text)
}

// skipMySpace returns the index of the first byte from i that is neither
// white space nor in a comment.
func skipMySpace(text string, i int) int {
	for i < len(text) {
		switch c := text[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			i++
		case c == '#' || c == '-' && strings.HasPrefix(text[i:], "-- ") || c == '/' && strings.HasPrefix(text[i:], "/*"):
			i = skipMyComment(text, i)
		default:
			return i
		}
	}
	return i
}

// MySQLReturning splits a MariaDB INSERT, REPLACE or DELETE … RETURNING
// into the statement without its RETURNING clause and the RETURNING list;
// ok is false for any other text, and for a list with placeholders.
func MySQLReturning(text string) (stripped, list string, ok bool) {
	at := myReturningAt(text)
	if at <= 0 {
		return "", "", false
	}
	return strings.TrimRight(text[:at], " \t\r\n"), strings.TrimSpace(text[at+len("RETURNING"):]), true
}

// myReturningAt returns the offset of the top-level RETURNING keyword of
// text, or -1; also -1 when what follows it holds a placeholder, which
// would be numbered after the statement's own.
func myReturningAt(text string) int {
	depth := 0
	for i := 0; i < len(text); {
		switch c := text[i]; {
		case c == '\'' || c == '"' || c == '`':
			i = skipMyQuoted(text, i)
			continue
		case c == '#' || c == '-' && strings.HasPrefix(text[i:], "--") || c == '/' && strings.HasPrefix(text[i:], "/*"):
			i = skipMyComment(text, i)
			continue
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && c|0x20 == 'r' && (i == 0 || !identByte(text[i-1])):
			j := i
			for j < len(text) && identByte(text[j]) {
				j++
			}
			if strings.EqualFold(text[i:j], "RETURNING") {
				for k := j; k < len(text); {
					switch text[k] {
					case '\'', '"', '`':
						k = skipMyQuoted(text, k)
						continue
					case '?':
						return -1
					}
					k++
				}
				return i
			}
			i = j
			continue
		}
		i++
	}
	return -1
}

// returnable reports whether s is a statement MariaDB gives RETURNING to.
func returnable(s ast.StmtNode) bool {
	switch s.(type) {
	case *ast.InsertStmt, *ast.DeleteStmt:
		return true
	}
	return false
}
