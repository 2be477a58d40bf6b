package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/ledger"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// Resync rebuilds backend to from backend from while writes go on: see
// the driver's Resync.
func (e *Engine) Resync(ctx context.Context, from, to string, progress func(table string, rows int64)) error {
	return e.resync(ctx, from, to, progress)
}

func (e *Engine) resync(ctx context.Context, from, to string, progress func(string, int64)) error {
	src, dst := e.byName[from], e.byName[to]
	switch {
	case src == nil || dst == nil:
		return fmt.Errorf("calibrated: resync: no backend %q", map[bool]string{true: from, false: to}[src == nil])
	case from == to:
		return errors.New("calibrated: resync: --from and --to name the same backend")
	case e.cal.State(from) != ledger.Active:
		return fmt.Errorf("calibrated: resync: source %q is %v; resync from an active backend", from, e.cal.State(from))
	}
	if progress == nil {
		progress = func(string, int64) {}
	}
	e.log.Info("calibrated: resync starting", "from", from, "to", to)
	// to stops serving and applying; entries from now on queue for it.
	e.setState(ctx, to, ledger.Resyncing)
	if err := e.cal.Sync(ctx); err != nil {
		return &LedgerError{Err: err}
	}
	err := e.copyBackend(ctx, src, dst, progress)
	if err != nil {
		e.setState(context.WithoutCancel(ctx), to, ledger.Stale)
		return fmt.Errorf("calibrated: resync of %q from %q failed; %q is stale: %w", to, from, to, err)
	}
	e.setState(ctx, to, ledger.CatchingUp)
	for e.cal.State(to) != ledger.Active {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	e.log.Info("calibrated: resync done", "from", from, "to", to)
	return nil
}

// copyBackend copies src's shared tables, sequences and applied marks to
// dst, from a snapshot of src taken while every key was held.
func (e *Engine) copyBackend(ctx context.Context, src, dst *backend.Backend, progress func(string, int64)) error {
	srcConn, err := src.DB.Conn(ctx)
	if err != nil {
		return &BackendError{Backend: src.Name, Op: "resync", Err: err}
	}
	defer srcConn.Close()
	dstConn, err := dst.DB.Conn(ctx)
	if err != nil {
		return &BackendError{Backend: dst.Name, Op: "resync", Err: err}
	}
	defer dstConn.Close()
	return srcConn.Raw(func(s any) error {
		sc, ok := s.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("backend %q: resync needs a pgx (postgres://) backend", src.Name)
		}
		return dstConn.Raw(func(d any) error {
			dc, ok := d.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("backend %q: resync needs a pgx (postgres://) backend", dst.Name)
			}
			return e.copyFrom(ctx, sc.Conn(), dc.Conn(), src.Name, dst.Name, progress)
		})
	})
}

func (e *Engine) copyFrom(ctx context.Context, sc, dc *pgx.Conn, srcName, dstName string, progress func(string, int64)) error {
	snap, err := e.snapshot(ctx, sc, srcName)
	if err != nil {
		return err
	}
	defer snap.Rollback(context.WithoutCancel(ctx))
	tables, err := e.sharedTables(ctx, snap)
	if err != nil {
		return &BackendError{Backend: srcName, Op: "list tables", Err: err}
	}
	dtx, err := dc.Begin(ctx)
	if err != nil {
		return &BackendError{Backend: dstName, Op: "begin", Err: err}
	}
	defer dtx.Rollback(context.WithoutCancel(ctx))
	all := append([]copyTable{{name: backend.AppliedTable, ident: pgx.Identifier{backend.AppliedTable}.Sanitize(), cols: "ledger, seq"}}, tables...)
	idents := make([]string, len(all))
	for i, t := range all {
		idents[i] = t.ident
	}
	if _, err := dtx.Exec(ctx, "TRUNCATE "+strings.Join(idents, ", ")); err != nil {
		return &BackendError{Backend: dstName, Op: "truncate", Err: err}
	}
	for _, t := range all {
		n, err := copyTableData(ctx, snap.Conn(), dtx.Conn(), t)
		if err != nil {
			return fmt.Errorf("copy %s: %w", t.name, err)
		}
		progress(t.name, n)
	}
	// Sequences: never behind the source's, so ids cannot collide.
	rows, err := snap.Query(ctx, `SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), last_value FROM pg_sequences WHERE last_value IS NOT NULL`)
	if err != nil {
		return &BackendError{Backend: srcName, Op: "read sequences", Err: err}
	}
	type seq struct {
		name string
		last int64
	}
	var seqs []seq
	for rows.Next() {
		var s seq
		if err := rows.Scan(&s.name, &s.last); err != nil {
			rows.Close()
			return err
		}
		seqs = append(seqs, s)
	}
	rows.Close()
	for _, s := range seqs {
		if _, err := dtx.Exec(ctx, `SELECT setval($1::regclass, $2)`, s.name, s.last); err != nil {
			return &BackendError{Backend: dstName, Op: "set sequence " + s.name, Err: err}
		}
	}
	if err := dtx.Commit(ctx); err != nil {
		return &BackendError{Backend: dstName, Op: "commit", Err: err}
	}
	return nil
}

// snapshot opens a repeatable-read transaction on the source whose snapshot
// holds exactly the entries admitted before a moment when every key was
// held: everything before had been applied on every active backend, and
// nothing after could be admitted until the snapshot was taken.
func (e *Engine) snapshot(ctx context.Context, sc *pgx.Conn, srcName string) (pgx.Tx, error) {
	id := "resync-" + strconv.FormatInt(e.txSeq.Add(1), 10)
	tk, err := e.cal.Submit(ctx, &ledger.Event{Type: ledger.Lock, Tx: id, Keys: []ledger.Key{ledger.All}, Lease: e.cfg.TxLease, Backend: srcName})
	if err != nil {
		return nil, &LedgerError{Err: err}
	}
	release := func() {
		if _, err := e.cal.Append(context.WithoutCancel(ctx), &ledger.Event{Type: ledger.Abort, Tx: id}); err != nil {
			e.log.Error("calibrated: resync cannot release its lock", "err", err)
		}
	}
	defer release()
	select {
	case <-tk.Decided():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if d := tk.Decision(); d != ledger.Admitted {
		return nil, fmt.Errorf("calibrated: resync could not hold every key: %v", d)
	}
	tx, err := sc.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, &BackendError{Backend: srcName, Op: "begin snapshot", Err: err}
	}
	// The snapshot is taken at the first statement.
	if _, err := tx.Exec(ctx, "SELECT 1"); err != nil {
		tx.Rollback(context.WithoutCancel(ctx))
		return nil, &BackendError{Backend: srcName, Op: "take snapshot", Err: err}
	}
	return tx, nil
}

type copyTable struct {
	name  string // as the config names tables
	ident string // quoted, schema-qualified
	cols  string // quoted column list
}

// sharedTables lists the shared tables of the source, with their columns.
func (e *Engine) sharedTables(ctx context.Context, tx pgx.Tx) ([]copyTable, error) {
	rows, err := tx.Query(ctx, `
SELECT n.nspname, c.relname, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'
  AND c.relname <> $1
GROUP BY n.nspname, c.relname
ORDER BY 1, 2`, backend.AppliedTable)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []copyTable
	for rows.Next() {
		var schema, rel, cols string
		if err := rows.Scan(&schema, &rel, &cols); err != nil {
			return nil, err
		}
		name := rel
		if schema != "public" {
			name = schema + "." + rel
		}
		if !e.cfg.IsShared(name) {
			continue
		}
		out = append(out, copyTable{name: name, ident: pgx.Identifier{schema, rel}.Sanitize(), cols: cols})
	}
	return out, rows.Err()
}

// copyTableData streams one table from src to dst with COPY in binary form.
func copyTableData(ctx context.Context, src, dst *pgx.Conn, t copyTable) (int64, error) {
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		_, err := src.PgConn().CopyTo(ctx, pw, fmt.Sprintf("COPY %s (%s) TO STDOUT (FORMAT binary)", t.ident, t.cols))
		pw.CloseWithError(err)
		errc <- err
	}()
	tag, err := dst.PgConn().CopyFrom(ctx, pr, fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", t.ident, t.cols))
	pr.CloseWithError(err)
	if serr := <-errc; serr != nil {
		return 0, serr
	}
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
