package backend

import (
	"context"
	"database/sql"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Table is what the driver needs to know about one table.
type Table struct {
	PrimaryKey []string          // lower-cased, in key order
	Volatile   map[string]string // column -> its non-deterministic default (nextval, now(), …)
}

// Schema is the anchor's schema, read on first use and after DDL. It is
// safe for concurrent use.
type Schema struct {
	DB *sql.DB

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
		t, err := loadPostgres(ctx, s.DB)
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

// volatileDefault matches column defaults that give another value on every
// backend.
var volatileDefault = regexp.MustCompile(`(?i)nextval|now\(\)|current_timestamp|current_date|current_time|localtime|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday|random|uuid`)

func loadPostgres(ctx context.Context, db *sql.DB) (map[string]*Table, error) {
	tables := map[string]*Table{}
	get := func(name string) *Table {
		t := tables[name]
		if t == nil {
			t = &Table{Volatile: map[string]string{}}
			tables[name] = t
		}
		return t
	}
	rows, err := db.QueryContext(ctx, `
SELECT CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END,
       a.attname
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE i.indisprimary AND n.nspname NOT IN ('pg_catalog', 'information_schema')
ORDER BY 1, k.ord`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var table, col string
		if err := rows.Scan(&table, &col); err != nil {
			rows.Close()
			return nil, err
		}
		t := get(table)
		t.PrimaryKey = append(t.PrimaryKey, strings.ToLower(col))
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	rows, err = db.QueryContext(ctx, `
SELECT CASE WHEN table_schema = 'public' THEN table_name ELSE table_schema || '.' || table_name END,
       column_name, coalesce(column_default, ''), is_identity
FROM information_schema.columns
WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
  AND (column_default IS NOT NULL OR is_identity = 'YES')`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var table, col, def, identity string
		if err := rows.Scan(&table, &col, &def, &identity); err != nil {
			return nil, err
		}
		if identity == "YES" {
			def = "GENERATED AS IDENTITY"
		}
		if identity == "YES" || volatileDefault.MatchString(def) {
			get(table).Volatile[strings.ToLower(col)] = def
		}
	}
	return tables, rows.Err()
}
