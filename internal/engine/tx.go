package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/router"
)

// Tx is a transaction on the anchor (DESIGN §5). Each write first locks its
// keys through the ledger, then runs on the anchor; Commit appends the
// statements, records the entry as applied in the anchor transaction and
// commits it, and the other backends replay the entry in log order.
type Tx struct {
	c      *Session
	e      *Engine
	id     string
	anchor *backend.Backend
	atx    *sql.Tx
	ro     bool

	// SQLite: the marker of the foreign key setting the transaction runs
	// with, other than the backends' URLs', and what ends the pinned
	// anchor connection that setting was made on.
	fkMarker string
	unpin    func()

	locked     bool
	ddl        bool
	expired    atomic.Bool // its lease lapsed: rolled back on the anchor
	keys       []ledger.Key
	stmts      []ledger.Stmt
	savepoints []savepoint
}

type savepoint struct {
	name string
	n    int // statements before it
}

func (e *Engine) begin(ctx context.Context, c *Session, opts sql.TxOptions) (*Tx, error) {
	a, err := e.anchor()
	if err != nil {
		return nil, err
	}
	id := strconv.FormatInt(e.txSeq.Add(1), 10)
	t := &Tx{c: c, e: e, id: id, anchor: a, ro: opts.ReadOnly}
	if a.Dialect == "sqlite" && !opts.ReadOnly {
		// SQLite has one writer per database: a transaction writing on the
		// anchor would hold the file against the anchor's applier while it
		// waited for keys that only the applier can release. So a SQLite
		// transaction holds every key from its start, as SQLite itself
		// would hold the database.
		if err := t.lock(ctx, []ledger.Key{ledger.All}); err != nil {
			t.release()
			return nil, err
		}
	}
	var on interface {
		BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
	} = a.DB
	if m, ok := c.liteFKMarker(); ok && a.Dialect == "sqlite" {
		// PRAGMA foreign_keys is a no-op inside a transaction: switch it
		// on the anchor connection before the transaction begins.
		conn, unpin, err := backend.PinForeignKeys(ctx, a.DB, c.fkOn)
		if err != nil {
			t.release()
			e.failed(a.Name, err)
			return nil, &BackendError{Backend: a.Name, Op: "begin", Err: err}
		}
		on, t.fkMarker, t.unpin = conn, m, unpin
	}
	atx, err := on.BeginTx(ctx, &sql.TxOptions{Isolation: sql.IsolationLevel(opts.Isolation), ReadOnly: opts.ReadOnly})
	if err != nil {
		t.release()
		t.unpinConn()
		e.failed(a.Name, err)
		return nil, &BackendError{Backend: a.Name, Op: "begin", Err: err}
	}
	t.atx = atx
	e.txs.Store(id, t)
	return t, nil
}

// lapsed is called when the calibrator released t's locks because its lease
// lapsed: the anchor transaction is rolled back so its row locks go too.
func (e *Engine) lapsed(id string) {
	v, ok := e.txs.Load(id)
	if !ok {
		return
	}
	t, ok := v.(*Tx)
	if !ok {
		return
	}
	t.expired.Store(true)
	_ = t.atx.Rollback()
	e.log.Warn("calibrated: transaction lease lapsed; rolled back", "tx", id, "tx_lease", e.cfg.TxLease)
}

func (t *Tx) exec(ctx context.Context, query string, args []router.Arg) (sql.Result, error) {
	st, err := t.statement(ctx, query, args)
	if err != nil || st == nil {
		return result{}, err
	}
	if err := t.pre(ctx, st); err != nil {
		return nil, err
	}
	if st.p != nil && st.p.gen != nil {
		return t.execGenerated(ctx, st)
	}
	res, err := t.atx.ExecContext(ctx, st.text, namedArgs(st.args)...)
	t.post(ctx, st)
	if err != nil {
		if t.expired.Load() {
			return nil, ErrTxExpired // rolled back when its lease lapsed
		}
		return nil, &BackendError{Backend: t.anchor.Name, Op: "exec", Err: err}
	}
	t.record(st)
	return res, nil
}

func (t *Tx) query(ctx context.Context, query string, args []router.Arg) (*Rows, error) {
	st, err := t.statement(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return &Rows{Buf: &backend.Buffered{}}, nil
	}
	if err := t.pre(ctx, st); err != nil {
		return nil, err
	}
	if st.p != nil && st.p.anchorFirst() {
		return t.queryBuffered(ctx, st)
	}
	r, err := t.atx.QueryContext(ctx, st.text, namedArgs(st.args)...)
	if err != nil {
		if t.expired.Load() {
			return nil, ErrTxExpired // rolled back when its lease lapsed
		}
		return nil, &BackendError{Backend: t.anchor.Name, Op: "query", Err: err}
	}
	t.record(st)
	return &Rows{Live: r, Done: nil}, nil
}

// txStmt is one statement of a transaction as the anchor runs it: for a
// write, made deterministic (plan), so the other backends replay it exactly.
type txStmt struct {
	text string
	args []router.Arg
	p    *plan // nil for reads and private tables
}

// pre runs a write's preparatory statements (sequence moves) on the anchor.
func (t *Tx) pre(ctx context.Context, st *txStmt) error {
	if st.p == nil {
		return nil
	}
	for _, s := range st.p.pre {
		if _, err := t.atx.ExecContext(ctx, s.SQL, s.Args...); err != nil {
			return &BackendError{Backend: t.anchor.Name, Op: "exec", Err: err}
		}
	}
	return nil
}

// statement prepares one statement of the transaction: reads wait for the
// anchor to have no pending write on their keys, writes are made
// deterministic and lock their keys. Savepoint statements are run here and
// give nil.
func (t *Tx) statement(ctx context.Context, query string, args []router.Arg) (*txStmt, error) {
	e := t.e
	if t.expired.Load() {
		return nil, ErrTxExpired
	}
	st := &txStmt{text: query, args: args}
	a, err := e.an.Analyze(query)
	if err != nil {
		if !looksLikeRead(query) {
			return nil, parseRefusal(err)
		}
		return st, e.cal.WaitClear(ctx, t.anchor.Name, nil, t.id)
	}
	if private, err := e.private(a); err != nil || private {
		return st, err
	}
	switch a.Kind {
	case router.Read:
		keys, err := e.readKeys(a, args)
		if err != nil {
			return nil, err
		}
		if a.Locking && !t.ro && len(keys) > 0 {
			// SELECT … FOR UPDATE/SHARE locks its rows in the ledger first,
			// so no write is admitted on them while the anchor holds them.
			if err := t.lock(ctx, keys); err != nil {
				return nil, err
			}
		}
		return st, e.cal.WaitClear(ctx, t.anchor.Name, keys, t.id)
	case router.Write, router.DDL:
		if t.ro {
			return st, nil // the anchor refuses it
		}
		p, err := e.pl.plan(ctx, a, args)
		if err != nil {
			return nil, err
		}
		if _, err := p.stmts(false); err != nil {
			return nil, err
		}
		st.text, st.args, st.p = p.a.Text, p.args, p
		return st, t.lock(ctx, p.keys)
	case router.Savepoint, router.RollbackTo, router.Release:
		if _, err := t.atx.ExecContext(ctx, query); err != nil {
			return nil, &BackendError{Backend: t.anchor.Name, Op: "exec", Err: err}
		}
		t.savepoint(a)
		return nil, nil
	}
	if err := userVariable(a); err != nil {
		return nil, err
	}
	return nil, &UnsupportedError{What: a.Kind.String() + " inside a transaction (" + a.Text + ")", Fix: "use the methods of sql.Tx"}
}

// lock takes keys for the transaction through the ledger.
func (t *Tx) lock(ctx context.Context, keys []ledger.Key) error {
	tk, err := t.e.cal.Submit(ctx, &ledger.Event{Type: ledger.Lock, Tx: t.id, Keys: keys, Lease: t.e.cfg.TxLease, Reject: t.e.cfg.Conflict == ConflictReject, Backend: t.anchor.Name})
	if err != nil {
		return &LedgerError{Err: err}
	}
	t.locked = true
	if err := t.e.admit(ctx, tk, "lock", t.id); err != nil {
		return err
	}
	t.keys = append(t.keys, keys...)
	return nil
}

// record keeps a write for the Commit entry.
func (t *Tx) record(st *txStmt) {
	if st.p == nil {
		return
	}
	stmts, _ := st.p.stmts(false)
	t.stmts = append(t.stmts, stmts...)
	if st.p.a.Kind == router.DDL {
		t.ddl = true
	}
}

func (t *Tx) savepoint(a *router.Analysis) {
	switch a.Kind {
	case router.Savepoint:
		t.savepoints = append(t.savepoints, savepoint{name: a.Savepoint, n: len(t.stmts)})
	case router.RollbackTo:
		// Statements rolled back on the anchor never reach the ledger.
		if i := t.find(a.Savepoint); i >= 0 {
			t.stmts = t.stmts[:t.savepoints[i].n]
			t.savepoints = t.savepoints[:i+1]
		}
	case router.Release:
		if i := t.find(a.Savepoint); i >= 0 {
			t.savepoints = t.savepoints[:i]
		}
	}
}

func (t *Tx) find(name string) int {
	for i := len(t.savepoints) - 1; i >= 0; i-- {
		if t.savepoints[i].name == name {
			return i
		}
	}
	return -1
}

// Commit commits the transaction on the anchor once the ledger has admitted it.
func (t *Tx) Commit() error {
	defer t.end()
	e := t.e
	ctx := context.Background()
	if t.expired.Load() {
		t.release()
		return ErrTxExpired
	}
	if len(t.stmts) == 0 {
		err := t.atx.Commit()
		t.release()
		if err != nil {
			return &BackendError{Backend: t.anchor.Name, Op: "commit", Err: err}
		}
		return nil
	}
	stmts := t.stmts
	if t.fkMarker != "" {
		// The other backends apply it with the foreign key setting it ran with.
		stmts = append([]ledger.Stmt{{SQL: t.fkMarker}}, stmts...)
	}
	tk, err := e.cal.Submit(ctx, &ledger.Event{Type: ledger.Commit, Tx: t.id, Stmts: stmts, Keys: t.keys, Backend: t.anchor.Name})
	if err != nil {
		_ = t.atx.Rollback()
		t.release()
		return &LedgerError{Err: fmt.Errorf("%w: %w", ErrMaybeAppended, err)}
	}
	select {
	case <-tk.Decided():
	case <-e.runCtx.Done():
		_ = t.atx.Rollback()
		tk.Release()
		return &LedgerError{Seq: uint64(tk.Seq), Err: errors.New("the driver was closed before the commit was decided")}
	case <-e.cal.Done():
		_ = t.atx.Rollback()
		tk.Release()
		return &LedgerError{Seq: uint64(tk.Seq), Err: e.cal.Err()}
	}
	switch tk.Decision() {
	case ledger.Admitted:
		e.metrics.Admitted("commit")
	case ledger.Lapsed:
		_ = t.atx.Rollback()
		tk.Release()
		return ErrTxExpired
	default:
		_ = t.atx.Rollback()
		tk.Release()
		return ErrConflict
	}
	// The entry is in the ledger: it will be applied everywhere. Commit it
	// on the anchor with its applied mark; if that fails, the anchor's
	// applier replays it, and its outcome is the transaction's.
	err = t.commitMarked(ctx, tk.Seq, func() { tk.Committed(t.anchor.Name) })
	if err == nil {
		if e.sharedLedger {
			// The anchor's applier may run in another process: tell it,
			// and every process, that the entry is applied there.
			e.reportOwnCommit(ctx, t.anchor.Name, tk.Seq)
		}
	} else {
		tk.Release()
	}
	if err != nil {
		e.log.Warn("calibrated: anchor commit failed; the anchor's applier replays the entry", "tx", t.id, "seq", tk.Seq, "err", err)
	}
	r, err := e.await(ctx, tk.Job(), t.ddl)
	if err != nil {
		return err
	}
	if r.Skipped || r.SQLState == "" {
		return nil
	}
	return fmt.Errorf("calibrated: commit of entry %d: %s", tk.Seq, r.Msg)
}

// commitMarked inserts the applied mark of entry seq in the anchor
// transaction, commits it and, once it has committed, calls committed.
// On PostgreSQL the mark and the COMMIT go in one round trip, as one
// simple-protocol query that also opens an empty transaction for
// database/sql's own COMMIT to end afterwards: the anchor's row locks,
// which the next transaction on the same rows waits for, go a round trip
// sooner, and so do the transaction's keys in the ledger.
func (t *Tx) commitMarked(ctx context.Context, seq ledger.Seq, committed func()) error {
	e := t.e
	if id := e.ledger.ID(); t.anchor.Dialect == "postgres" && !strings.ContainsAny(id, "'\\\x00") {
		q := fmt.Sprintf("INSERT INTO %s (ledger, seq) VALUES ('%s', %d); COMMIT; BEGIN", backend.AppliedTable, id, int64(seq))
		if _, err := t.atx.ExecContext(ctx, q); err != nil {
			_ = t.atx.Rollback()
			return err
		}
		committed()
		// What is left open is the empty transaction: ending it cannot
		// undo what committed, so its error is not the transaction's.
		if err := t.atx.Commit(); err != nil {
			e.log.Warn("calibrated: cannot end the empty transaction after an anchor commit", "tx", t.id, "err", err)
		}
		return nil
	}
	if _, err := t.atx.ExecContext(ctx, backend.MarkSQL(t.anchor.Dialect), e.ledger.ID(), int64(seq)); err != nil {
		_ = t.atx.Rollback()
		return err
	}
	if err := t.atx.Commit(); err != nil {
		return err
	}
	committed()
	return nil
}

// Rollback rolls the transaction back and releases its keys.
func (t *Tx) Rollback() error {
	defer t.end()
	err := t.atx.Rollback()
	t.release()
	if err != nil && !errors.Is(err, sql.ErrTxDone) {
		return &BackendError{Backend: t.anchor.Name, Op: "rollback", Err: err}
	}
	return nil
}

// release gives up the transaction's keys without an entry.
func (t *Tx) release() {
	if !t.locked {
		return
	}
	if _, err := t.e.cal.Append(context.Background(), &ledger.Event{Type: ledger.Abort, Tx: t.id}); err != nil {
		t.e.log.Error("calibrated: cannot release a transaction's keys", "tx", t.id, "err", err)
	}
	t.locked = false
}

func (t *Tx) end() {
	t.unpinConn()
	t.e.txs.Delete(t.id)
	if t.c.tx == t {
		t.c.tx = nil
	}
}

// unpinConn gives back the anchor connection a SQLite transaction with its
// own foreign key setting ran on, with the setting switched back.
func (t *Tx) unpinConn() {
	if t.unpin != nil {
		t.unpin()
		t.unpin = nil
	}
}
