package router

import (
	"errors"

	pg "github.com/pganalyze/pg_query_go/v6"
)

// AddDefaultValuesColumns rewrites a PostgreSQL INSERT … DEFAULT VALUES,
// which inserts one row, into INSERT … (cols) VALUES ($first::types[0],
// $first+1::types[1], …), as [AddInsertColumns] does for INSERT … VALUES.
// ok is false, with no error, when text is not an INSERT … DEFAULT VALUES.
// GORM sends one to create a row of a model with no fields but its id.
func AddDefaultValuesColumns(text string, cols, types []string, first int, overriding bool) (_ string, ok bool, err error) {
	if len(cols) != len(types) {
		return "", false, errors.New("router: AddDefaultValuesColumns: cols and types differ in length")
	}
	tree, err := pg.Parse(text)
	if err != nil {
		return "", false, &ParseError{Text: text, Err: err}
	}
	if len(tree.Stmts) != 1 {
		return "", false, nil
	}
	ins := tree.Stmts[0].GetStmt().GetInsertStmt()
	if ins == nil || ins.SelectStmt != nil || len(ins.Cols) != 0 {
		return "", false, nil
	}
	row := &pg.List{}
	for i, c := range cols {
		tn, err := typeName(types[i])
		if err != nil {
			return "", false, err
		}
		ins.Cols = append(ins.Cols, &pg.Node{Node: &pg.Node_ResTarget{ResTarget: &pg.ResTarget{Name: c}}})
		param := &pg.Node{Node: &pg.Node_ParamRef{ParamRef: &pg.ParamRef{Number: int32(first + i)}}}
		row.Items = append(row.Items, &pg.Node{Node: &pg.Node_TypeCast{TypeCast: &pg.TypeCast{Arg: param, TypeName: tn}}})
	}
	ins.SelectStmt = &pg.Node{Node: &pg.Node_SelectStmt{SelectStmt: &pg.SelectStmt{
		ValuesLists: []*pg.Node{{Node: &pg.Node_List{List: row}}},
		Op:          pg.SetOperation_SETOP_NONE,
		LimitOption: pg.LimitOption_LIMIT_OPTION_DEFAULT,
	}}}
	if overriding {
		ins.Override = pg.OverridingKind_OVERRIDING_SYSTEM_VALUE
	}
	out, err := pg.Deparse(tree)
	return out, err == nil, err
}
