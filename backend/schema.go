package backend

import (
	"context"
	"database/sql"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/calibrated/calibrated/router"
)

// Table is what the driver needs to know about one table.
type Table struct {
	PrimaryKey []string    // lower-cased, in key order
	Generated  []Generated // columns whose default differs on every backend, in column order
	// UniqueKeys holds the unique indexes and constraints other than the
	// primary key, by index name: each its key columns lower-cased, in index
	// order. Partial and expression indexes are left out: the router cannot
	// tell which rows they constrain.
	UniqueKeys [][]string
	// ForeignKeys holds the table's foreign-key constraints, by name.
	ForeignKeys []router.ForeignKey
	// Plain reports, for PostgreSQL, an ordinary table whose writes run no
	// SQL the statement does not show and touch no row their keys do not
	// name: it has a primary key; no triggers of its own (foreign keys'
	// internal ones aside), rules, row security, inheritance children,
	// partitions, exclusion or deferrable constraints, partial or
	// expression unique indexes; and its foreign keys, both ways,
	// reference primary keys and have no ON DELETE/UPDATE action.
	Plain bool
	// UniqueColumns, for a Plain table, holds the (lower-cased) columns of
	// its unique indexes other than the primary key; nil for none.
	UniqueColumns map[string]bool
	// Collations maps each MySQL string column (lower-cased) to its
	// collation (lower-cased), for keys that compare values as the
	// column does (MySQLFold).
	Collations map[string]string
}

// Generated is a column whose default gives a different value on every
// backend: a serial or identity column, or a volatile default such as
// now() or gen_random_uuid(). The driver evaluates Expr on the anchor and
// replays the values it gives as literals everywhere.
type Generated struct {
	Column   string // lower-cased
	Name     string // as stored, for rewriting statements
	Type     string // as format_type prints it
	Expr     string // an expression giving a fresh value: the default, or nextval of the identity's sequence
	Sequence string // the sequence behind it, if any, kept ahead on every backend
	Always   bool   // GENERATED ALWAYS AS IDENTITY: inserts need OVERRIDING SYSTEM VALUE
	Position int    // 1-based among the table's columns, for INSERTs without a column list
	Rowid    bool   // SQLite's rowid or MySQL's AUTO_INCREMENT: no expression gives its next value elsewhere
	OnUpdate bool   // MySQL's ON UPDATE CURRENT_TIMESTAMP: every UPDATE sets it, differently on every backend
	// Clock reports a default that reads the statement's start time
	// (MySQL's CURRENT_TIMESTAMP), which SET timestamp fixes.
	Clock bool
	// Autoincrement reports SQLite's AUTOINCREMENT: ids never reuse one
	// that sqlite_sequence records.
	Autoincrement bool
}

// Column returns the generated column named col, if any.
func (t *Table) Column(col string) *Generated {
	for i := range t.Generated {
		if t.Generated[i].Column == col {
			return &t.Generated[i]
		}
	}
	return nil
}

// Schema is the anchor's schema, read on first use and after DDL. It is
// safe for concurrent use.
type Schema struct {
	DB      func() *sql.DB // the anchor, whichever backend that is now
	Dialect string

	mu     sync.Mutex
	tables map[string]*Table // nil: not loaded
}

// Invalidate makes the next lookup read the schema again.
func (s *Schema) Invalidate() {
	s.mu.Lock()
	s.tables = nil
	s.mu.Unlock()
}

// Table returns what is known of table, loading the schema if needed; nil
// for a table the anchor does not have (yet).
func (s *Schema) Table(ctx context.Context, table string) (*Table, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tables == nil {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		load := loadPostgres
		switch s.Dialect {
		case "sqlite":
			load = loadSQLite
		case "mysql":
			load = loadMySQL
		}
		t, err := load(ctx, s.DB())
		if err != nil {
			return nil, err
		}
		s.tables = t
	}
	return s.tables[table], nil
}

// PrimaryKey implements router.Schema. A schema that cannot be read gives
// nil, so statements take table keys: slower, never wrong.
func (s *Schema) PrimaryKey(table string) []string {
	t, err := s.Table(context.Background(), table)
	if err != nil || t == nil {
		return nil
	}
	return t.PrimaryKey
}

// UniqueKeys implements router.Schema; nil when the schema cannot be read.
func (s *Schema) UniqueKeys(table string) [][]string {
	t, err := s.Table(context.Background(), table)
	if err != nil || t == nil {
		return nil
	}
	return t.UniqueKeys
}

// ForeignKeys implements router.Schema; nil when the schema cannot be read.
func (s *Schema) ForeignKeys(table string) []router.ForeignKey {
	t, err := s.Table(context.Background(), table)
	if err != nil || t == nil {
		return nil
	}
	return t.ForeignKeys
}

// VolatileDefault reports whether a column default gives a different value
// on every backend.
func VolatileDefault(expr string) bool { return volatileDefault.MatchString(expr) }

// volatileDefault matches column defaults that give another value on every
// backend.
var volatileDefault = regexp.MustCompile(`(?i)nextval|now\(\)|current_timestamp|current_date|current_time|localtime|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday|random|uuid`)

func loadPostgres(ctx context.Context, db *sql.DB) (map[string]*Table, error) {
	tables := map[string]*Table{}
	get := func(name string) *Table {
		t := tables[name]
		if t == nil {
			t = &Table{}
			tables[name] = t
		}
		return t
	}
	// Key columns only (k.ord <= indnkeyatts): INCLUDE columns do not
	// take part in uniqueness.
	rows, err := db.QueryContext(ctx, `
SELECT CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END,
       ic.relname, i.indisprimary, a.attname
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE (i.indisprimary OR i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL)
  AND k.ord <= i.indnkeyatts
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 3 DESC, 2, k.ord`)
	if err != nil {
		return nil, err
	}
	var lastTable, lastIndex string
	for rows.Next() {
		var table, index, col string
		var primary bool
		if err := rows.Scan(&table, &index, &primary, &col); err != nil {
			rows.Close()
			return nil, err
		}
		t := get(table)
		switch {
		case primary:
			t.PrimaryKey = append(t.PrimaryKey, strings.ToLower(col))
		case table != lastTable || index != lastIndex:
			t.UniqueKeys = append(t.UniqueKeys, []string{strings.ToLower(col)})
		default:
			u := &t.UniqueKeys[len(t.UniqueKeys)-1]
			*u = append(*u, strings.ToLower(col))
		}
		lastTable, lastIndex = table, index
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	// A foreign key to a partitioned table is repeated, with a parent
	// constraint, for each partition it references: keep the one that
	// names the table statements name.
	rows, err = db.QueryContext(ctx, `
SELECT CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END,
       con.conname,
       CASE WHEN pn.nspname = 'public' THEN pc.relname ELSE pn.nspname || '.' || pc.relname END,
       a.attname, pa.attname
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class pc ON pc.oid = con.confrelid
JOIN pg_namespace pn ON pn.oid = pc.relnamespace
JOIN LATERAL unnest(con.conkey, con.confkey) WITH ORDINALITY AS k(attnum, pattnum, ord) ON true
JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
JOIN pg_attribute pa ON pa.attrelid = con.confrelid AND pa.attnum = k.pattnum
WHERE con.contype = 'f' AND NOT (con.conparentid <> 0 AND pc.relispartition)
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, 2, k.ord`)
	if err != nil {
		return nil, err
	}
	var lastCon string
	lastTable = ""
	for rows.Next() {
		var table, name, parent, col, pcol string
		if err := rows.Scan(&table, &name, &parent, &col, &pcol); err != nil {
			rows.Close()
			return nil, err
		}
		t := get(table)
		if table != lastTable || name != lastCon {
			t.ForeignKeys = append(t.ForeignKeys, router.ForeignKey{Parent: parent})
		}
		fk := &t.ForeignKeys[len(t.ForeignKeys)-1]
		fk.Columns = append(fk.Columns, strings.ToLower(col))
		fk.ParentColumns = append(fk.ParentColumns, strings.ToLower(pcol))
		lastTable, lastCon = table, name
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	// Plain tables (see Table.Plain), with the columns of their unique
	// indexes other than the primary key.
	rows, err = db.QueryContext(ctx, `
SELECT CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END,
       coalesce((SELECT json_agg(DISTINCT a.attname)::text FROM pg_index i
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
                 WHERE i.indrelid = c.oid AND i.indisunique AND NOT i.indisprimary), '')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND NOT c.relispartition AND NOT c.relhassubclass
  AND NOT c.relrowsecurity AND NOT c.relhasrules
  AND EXISTS (SELECT 1 FROM pg_index p WHERE p.indrelid = c.oid AND p.indisprimary)
  AND NOT EXISTS (SELECT 1 FROM pg_index e WHERE e.indrelid = c.oid AND e.indisunique AND NOT e.indisprimary
                  AND (e.indexprs IS NOT NULL OR e.indpred IS NOT NULL))
  AND NOT EXISTS (SELECT 1 FROM pg_trigger tg WHERE tg.tgrelid = c.oid AND NOT tg.tgisinternal)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conrelid = c.oid AND (x.contype = 'x' OR x.condeferrable))
  AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND (f.conrelid = c.oid OR f.confrelid = c.oid)
                  AND (f.confdeltype NOT IN ('a', 'r') OR f.confupdtype NOT IN ('a', 'r')
                       OR NOT EXISTS (SELECT 1 FROM pg_index pk WHERE pk.indexrelid = f.conindid AND pk.indisprimary)))
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var table, cols string
		if err := rows.Scan(&table, &cols); err != nil {
			rows.Close()
			return nil, err
		}
		t := get(table)
		t.Plain = true
		if cols != "" {
			var names []string
			if err := json.Unmarshal([]byte(cols), &names); err != nil {
				rows.Close()
				return nil, err
			}
			t.UniqueColumns = map[string]bool{}
			for _, c := range names {
				t.UniqueColumns[strings.ToLower(c)] = true
			}
		}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	rows, err = db.QueryContext(ctx, `
SELECT CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END,
       a.attname, format_type(a.atttypid, a.atttypmod),
       coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity::text,
       coalesce(pg_get_serial_sequence(quote_ident(n.nspname) || '.' || quote_ident(c.relname), a.attname), ''),
       (SELECT count(*) FROM pg_attribute p WHERE p.attrelid = a.attrelid AND p.attnum > 0 AND p.attnum <= a.attnum AND NOT p.attisdropped)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND (d.adbin IS NOT NULL OR a.attidentity <> '')
ORDER BY 1, a.attnum`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var table string
		var g Generated
		var identity string
		if err := rows.Scan(&table, &g.Name, &g.Type, &g.Expr, &identity, &g.Sequence, &g.Position); err != nil {
			return nil, err
		}
		g.Column = strings.ToLower(g.Name)
		switch {
		case identity != "":
			g.Expr = "nextval('" + strings.ReplaceAll(g.Sequence, "'", "''") + "'::regclass)"
			g.Always = identity == "a"
		case !volatileDefault.MatchString(g.Expr):
			continue
		}
		t := get(table)
		t.Generated = append(t.Generated, g)
	}
	return tables, rows.Err()
}
