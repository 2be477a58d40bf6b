package backend

import (
	"context"
	"database/sql"
	"strings"
)

// loadSQLite reads primary keys and generated columns from SQLite's
// catalogue. An INTEGER PRIMARY KEY is the rowid: SQLite picks its value,
// so it is a generated column with no expression to evaluate elsewhere.
func loadSQLite(ctx context.Context, db *sql.DB) (map[string]*Table, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
	if err != nil {
		return nil, err
	}
	var names []string
	autoinc := map[string]bool{}
	for rows.Next() {
		var n, def string
		if err := rows.Scan(&n, &def); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
		autoinc[n] = strings.Contains(strings.ToUpper(def), "AUTOINCREMENT")
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	tables := map[string]*Table{}
	for _, name := range names {
		t, err := sqliteTable(ctx, db, name, autoinc[name])
		if err != nil {
			return nil, err
		}
		tables[strings.ToLower(name)] = t
	}
	return tables, nil
}

func sqliteTable(ctx context.Context, db *sql.DB, name string, autoinc bool) (*Table, error) {
	rows, err := db.QueryContext(ctx, `SELECT cid, name, type, dflt_value, pk FROM pragma_table_info(?)`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	t := &Table{}
	type col struct {
		name, typ string
		pk, cid   int
	}
	var pks []col
	for rows.Next() {
		var cid, pk int
		var cname, typ string
		var dflt sql.NullString
		if err := rows.Scan(&cid, &cname, &typ, &dflt, &pk); err != nil {
			return nil, err
		}
		if pk > 0 {
			pks = append(pks, col{cname, typ, pk, cid})
		}
		if dflt.Valid && volatileDefault.MatchString(dflt.String) {
			t.Generated = append(t.Generated, Generated{Column: strings.ToLower(cname), Name: cname, Type: typ, Expr: dflt.String, Position: cid + 1})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	t.PrimaryKey = make([]string, len(pks))
	for _, c := range pks {
		t.PrimaryKey[c.pk-1] = strings.ToLower(c.name)
	}
	if len(pks) == 1 && strings.EqualFold(pks[0].typ, "INTEGER") {
		t.Generated = append(t.Generated, Generated{Column: strings.ToLower(pks[0].name), Name: pks[0].name, Type: "INTEGER", Rowid: true, Autoincrement: autoinc, Position: pks[0].cid + 1})
	}
	return t, nil
}
