package backend

import (
	"context"
	"database/sql"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/cases"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"

	"github.com/calibrated/calibrated/router"
)

// loadMySQL reads keys and generated columns of the current database from
// MySQL's information_schema.
func loadMySQL(ctx context.Context, db *sql.DB) (map[string]*Table, error) {
	tables := map[string]*Table{}
	get := func(name string) *Table {
		name = strings.ToLower(name)
		t := tables[name]
		if t == nil {
			t = &Table{}
			tables[name] = t
		}
		return t
	}
	rows, err := db.QueryContext(ctx, `
SELECT TABLE_NAME, INDEX_NAME, COALESCE(COLUMN_NAME, ''), SUB_PART IS NOT NULL
FROM information_schema.STATISTICS
WHERE TABLE_SCHEMA = DATABASE() AND NON_UNIQUE = 0
ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`)
	if err != nil {
		return nil, err
	}
	type index struct{ table, name string }
	var order []index
	cols := map[index][]string{}
	partial := map[index]bool{}
	for rows.Next() {
		var ix index
		var col string
		var prefix bool
		if err := rows.Scan(&ix.table, &ix.name, &col, &prefix); err != nil {
			rows.Close()
			return nil, err
		}
		if _, seen := cols[ix]; !seen {
			order = append(order, ix)
		}
		cols[ix] = append(cols[ix], strings.ToLower(col))
		partial[ix] = partial[ix] || prefix || col == ""
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for _, ix := range order {
		t := get(ix.table)
		switch {
		case ix.name == "PRIMARY":
			t.PrimaryKey = cols[ix]
		case !partial[ix]:
			// A prefix or expression index does not make a column's value unique.
			t.UniqueKeys = append(t.UniqueKeys, cols[ix])
		}
	}
	rows, err = db.QueryContext(ctx, `
SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME
FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = DATABASE() AND REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`)
	if err != nil {
		return nil, err
	}
	fks := map[index]*router.ForeignKey{}
	var fkOrder []index
	for rows.Next() {
		var ix index
		var col, parent, pcol string
		if err := rows.Scan(&ix.table, &ix.name, &col, &parent, &pcol); err != nil {
			rows.Close()
			return nil, err
		}
		fk := fks[ix]
		if fk == nil {
			fk = &router.ForeignKey{Parent: strings.ToLower(parent)}
			fks[ix] = fk
			fkOrder = append(fkOrder, ix)
		}
		fk.Columns = append(fk.Columns, strings.ToLower(col))
		fk.ParentColumns = append(fk.ParentColumns, strings.ToLower(pcol))
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	for _, ix := range fkOrder {
		t := get(ix.table)
		t.ForeignKeys = append(t.ForeignKeys, *fks[ix])
	}
	rows, err = db.QueryContext(ctx, `
SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, COALESCE(COLUMN_DEFAULT, ''), EXTRA, ORDINAL_POSITION, COALESCE(COLLATION_NAME, '')
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = DATABASE()
ORDER BY TABLE_NAME, ORDINAL_POSITION`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var table, col, typ, def, extra, coll string
		var pos int
		if err := rows.Scan(&table, &col, &typ, &def, &extra, &pos, &coll); err != nil {
			return nil, err
		}
		if coll != "" {
			t := get(table)
			if t.Collations == nil {
				t.Collations = map[string]string{}
			}
			t.Collations[strings.ToLower(col)] = strings.ToLower(coll)
		}
		g := Generated{Column: strings.ToLower(col), Name: col, Type: typ, Expr: def, Position: pos}
		lx := strings.ToLower(extra)
		if strings.Contains(lx, "auto_increment") {
			g.Rowid, g.Expr = true, ""
		} else {
			g.OnUpdate = strings.Contains(lx, "on update")
			// MariaDB reports an expression default as written and a
			// literal quoted; MySQL marks expressions DEFAULT_GENERATED.
			quoted := strings.HasPrefix(def, "'")
			g.Clock = !quoted && myClockDefault.MatchString(def)
			if !g.OnUpdate && !g.Clock && (quoted || !volatileDefault.MatchString(def) && !myVolatileDefault.MatchString(def)) {
				continue
			}
		}
		t := get(table)
		t.Generated = append(t.Generated, g)
	}
	return tables, rows.Err()
}

// myClockDefault matches the MySQL defaults that read the statement's start
// time: CURRENT_TIMESTAMP, NOW(), CURDATE() … (with or without precision).
var myClockDefault = regexp.MustCompile(`(?i)^\(?\s*(current_timestamp|now|localtime|localtimestamp|curdate|current_date|curtime|current_time|utc_timestamp|utc_date|utc_time|unix_timestamp)\b\s*(\(\s*\d*\s*\))?\s*\)?$`)

// myVolatileDefault matches other MySQL defaults that differ on every
// backend.
var myVolatileDefault = regexp.MustCompile(`(?i)\b(rand|uuid|uuid_short|sysdate|random_bytes|connection_id)\s*\(`)

// MySQLFold returns v as a column of the given collation compares it, so
// that values it holds equal are equal strings: PAD SPACE collations (all
// but MySQL's *_0900_* and MariaDB's *_nopad_*) ignore trailing spaces;
// case-insensitive ones (*_ci) ignore case, by Unicode case folding; and
// those that are also accent-insensitive (*_ci but *_as_ci) ignore
// accents, by dropping combining marks after canonical decomposition. It
// approximates the server's collations from above: it may hold equal two
// values the server holds different (their writes then conflict in the
// ledger for nothing), and in rare cases the reverse (general_ci's 'ß' =
// 's', where folding gives "ss").
func MySQLFold(collation, v string) string {
	if !strings.Contains(collation, "0900") && !strings.Contains(collation, "nopad") {
		v = strings.TrimRight(v, " ")
	}
	if !strings.HasSuffix(collation, "_ci") {
		return v
	}
	if !strings.HasSuffix(collation, "_as_ci") {
		if s, _, err := transform.String(transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC), v); err == nil {
			v = s
		}
	}
	return cases.Fold().String(v)
}
