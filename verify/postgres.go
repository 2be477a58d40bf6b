package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/calibrated/calibrated"
	"github.com/calibrated/calibrated/backend"
)

// appliedTable is the driver's own bookkeeping, which differs by design.
const appliedTable = backend.AppliedTable

// connectTimeout bounds reaching a backend, so that one behind a dead link
// fails the run instead of hanging it.
const connectTimeout = 10 * time.Second

// session is one backend, read inside one read-only snapshot.
type session struct {
	name   string
	db     *sql.DB
	tx     *sql.Tx
	tables map[string]*table // by report name
}

// table is one table of one backend, and what was measured there.
type table struct {
	schema, name string
	pk           []column // in key order; nil without a primary key
	sum          string
	rows         int64
}

type column struct {
	name       string
	collatable bool
}

// settingsSQL pins, for the snapshot's transaction, every setting that
// changes a row's text, so that backends whose servers or databases default
// to another time zone or date style still compare equal.
const settingsSQL = `SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, MDY', true),
	set_config('IntervalStyle', 'postgres', true), set_config('extra_float_digits', '3', true),
	set_config('bytea_output', 'hex', true), set_config('lc_monetary', 'C', true)`

// tablesSQL lists the ordinary and partitioned tables outside the system
// schemas (partitions are read through their parent), one row per primary
// key column in key order, or one row with NULLs for a table without one.
const tablesSQL = `
SELECT n.nspname, c.relname, a.attname, a.attcollation <> 0
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
LEFT JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
ORDER BY n.nspname, c.relname, k.ord`

// rowHash is the digest of one row: its text, whatever the server encoding.
// (t.*) rather than t, which would name a column called t if there were one.
const rowHash = `md5(convert_to((t.*)::text, 'UTF8'))`

// open connects to b and starts the snapshot that every later query reads.
func open(ctx context.Context, b calibrated.Backend) (*session, error) {
	fail := func(op string, err error) error { return &calibrated.BackendError{Backend: b.Name, Op: op, Err: err} }
	name := b.Driver
	if name == "pq" {
		name = "postgres" // lib/pq registers itself as "postgres"
	}
	db, err := sql.Open(name, b.DSN)
	if err != nil {
		return nil, fail("connect", err)
	}
	s := &session{name: b.Name, db: db}
	pctx, cancel := context.WithTimeout(ctx, connectTimeout)
	err = db.PingContext(pctx)
	cancel()
	if err != nil {
		s.close()
		return nil, fail("connect", err)
	}
	if s.tx, err = db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}); err != nil {
		s.close()
		return nil, fail("begin", err)
	}
	if _, err := s.tx.ExecContext(ctx, settingsSQL); err != nil {
		s.close()
		return nil, fail("set session", err)
	}
	if err := s.list(ctx); err != nil {
		s.close()
		return nil, fail("list tables", err)
	}
	return s, nil
}

func (s *session) close() {
	if s.tx != nil {
		_ = s.tx.Rollback() // read-only: nothing to keep
	}
	_ = s.db.Close()
}

// list reads the backend's tables and their primary keys.
func (s *session) list(ctx context.Context) error {
	rows, err := s.tx.QueryContext(ctx, tablesSQL)
	if err != nil {
		return err
	}
	defer rows.Close()
	s.tables = map[string]*table{}
	for rows.Next() {
		var schema, name string
		var col sql.NullString
		var collatable sql.NullBool
		if err := rows.Scan(&schema, &name, &col, &collatable); err != nil {
			return err
		}
		key := name
		if schema != "public" {
			key = schema + "." + name
		}
		t := s.tables[key]
		if t == nil {
			t = &table{schema: schema, name: name}
			s.tables[key] = t
		}
		if col.Valid {
			t.pk = append(t.pk, column{name: col.String, collatable: collatable.Bool})
		}
	}
	return rows.Err()
}

// checksum measures t in one query: md5 of each row's text, in key order,
// concatenated by blocks of blockRows rows, each block hashed, and the
// block digests hashed in turn, so no value nears the 1 GB limit.
func (s *session) checksum(ctx context.Context, t *table, blockRows int64) error {
	q := fmt.Sprintf(`
SELECT coalesce(sum(c), 0)::bigint, coalesce(md5(string_agg(h, '' ORDER BY b)), '')
FROM (SELECT n / %d AS b, count(*) AS c, md5(string_agg(h, '' ORDER BY n)) AS h
      FROM (SELECT %s AS h, row_number() OVER (ORDER BY %s) - 1 AS n FROM %s AS t) r
      GROUP BY 1) s`, blockRows, rowHash, t.order(), t.ref())
	if err := s.tx.QueryRowContext(ctx, q).Scan(&t.rows, &t.sum); err != nil {
		return &calibrated.BackendError{Backend: s.name, Op: "checksum " + t.ref(), Err: err}
	}
	return nil
}

// ref is t's quoted, schema-qualified name.
func (t *table) ref() string { return quoteIdent(t.schema) + "." + quoteIdent(t.name) }

// order is the ORDER BY list that puts t's rows in key order, the same on
// every backend: collatable key columns compare bytewise (COLLATE "C"), so
// databases with different default collations agree. Without a primary
// key, rows go in the order of their text.
func (t *table) order() string {
	if len(t.pk) == 0 {
		return `(t.*)::text COLLATE "C"`
	}
	cols := make([]string, len(t.pk))
	for i, c := range t.pk {
		cols[i] = "t." + quoteIdent(c.name)
		if c.collatable {
			cols[i] += ` COLLATE "C"`
		}
	}
	return strings.Join(cols, ", ")
}

// keysSQL lists t's rows as (key, row digest), ordered by the key's UTF-8
// bytes, which is the order in which Go compares strings, so [merge] can
// walk the backends side by side. Rows of a table without a primary key are
// their own key, counted.
func (t *table) keysSQL() string {
	if len(t.pk) == 0 {
		return `SELECT k, h FROM (SELECT r AS k, md5(convert_to(r, 'UTF8')) || CASE WHEN count(*) > 1 THEN '*' || count(*) ELSE '' END AS h
	FROM (SELECT (t.*)::text AS r FROM ` + t.ref() + ` AS t) x GROUP BY r) s
ORDER BY convert_to(k, 'UTF8')`
	}
	cols := make([]string, len(t.pk))
	for i, c := range t.pk {
		cols[i] = "t." + quoteIdent(c.name)
	}
	return `SELECT k, h FROM (SELECT concat_ws(',', ` + strings.Join(cols, ", ") + `) AS k, ` + rowHash + ` AS h FROM ` + t.ref() + ` AS t) s
ORDER BY convert_to(k, 'UTF8')`
}

// keyDiffs lists up to limit rows of table name that differ between the
// sessions, querying them concurrently and merging their ordered keys.
func keyDiffs(ctx context.Context, sessions []*session, name string, limit int) ([]KeyDiff, error) {
	names := make([]string, len(sessions))
	streams := make([]stream, len(sessions))
	all := make([]*sql.Rows, len(sessions))
	defer func() {
		for _, rows := range all {
			if rows != nil {
				rows.Close()
			}
		}
	}()
	err := each(len(sessions), func(i int) error {
		s := sessions[i]
		names[i] = s.name
		t := s.tables[name]
		if t == nil {
			streams[i] = &sliceStream{}
			return nil
		}
		rows, err := s.tx.QueryContext(ctx, t.keysSQL())
		if err != nil {
			return &calibrated.BackendError{Backend: s.name, Op: "list keys of " + t.ref(), Err: err}
		}
		all[i] = rows
		streams[i] = &rowStream{rows: rows}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return merge(names, streams, limit)
}

// stream yields one backend's (key, digest) pairs in ascending key order.
type stream interface {
	next() (key, hash string, ok bool, err error)
}

type rowStream struct{ rows *sql.Rows }

func (r *rowStream) next() (key, hash string, ok bool, err error) {
	if !r.rows.Next() {
		return "", "", false, r.rows.Err()
	}
	if err := r.rows.Scan(&key, &hash); err != nil {
		return "", "", false, err
	}
	return key, hash, true, nil
}

// sliceStream is a stream held in memory: a table missing on a backend, or a test.
type sliceStream [][2]string

func (s *sliceStream) next() (key, hash string, ok bool, err error) {
	if len(*s) == 0 {
		return "", "", false, nil
	}
	kv := (*s)[0]
	*s = (*s)[1:]
	return kv[0], kv[1], true, nil
}

// merge walks the streams side by side, one per backend named in names, and
// returns the first limit keys whose digests are not the same on all of them
// (a key absent from a stream has digest "").
func merge(names []string, streams []stream, limit int) ([]KeyDiff, error) {
	type head struct {
		key, hash string
		ok        bool
	}
	heads := make([]head, len(streams))
	advance := func(i int) error {
		k, h, ok, err := streams[i].next()
		if err != nil {
			return &calibrated.BackendError{Backend: names[i], Op: "list keys", Err: err}
		}
		if ok && heads[i].ok && k < heads[i].key {
			return &calibrated.BackendError{Backend: names[i], Op: "list keys", Err: fmt.Errorf("key %q after %q: not in byte order", k, heads[i].key)}
		}
		heads[i] = head{k, h, ok}
		return nil
	}
	var errs []error
	for i := range streams {
		errs = append(errs, advance(i))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	var diffs []KeyDiff
	for len(diffs) < limit {
		var low string
		found := false
		for _, h := range heads {
			if h.ok && (!found || h.key < low) {
				low, found = h.key, true
			}
		}
		if !found {
			break
		}
		d := KeyDiff{Key: low, Backends: make(map[string]string, len(names))}
		same := true
		for i := range heads {
			v := ""
			if heads[i].ok && heads[i].key == low {
				v = heads[i].hash
				if err := advance(i); err != nil {
					return nil, err
				}
			}
			d.Backends[names[i]] = v
			same = same && v == d.Backends[names[0]]
		}
		if !same {
			diffs = append(diffs, d)
		}
	}
	return diffs, nil
}

// quoteIdent quotes a PostgreSQL identifier.
func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }
