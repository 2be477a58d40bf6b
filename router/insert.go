package router

import (
	"errors"
	"fmt"

	pg "github.com/pganalyze/pg_query_go/v6"
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
