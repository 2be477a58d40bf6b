package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/router"
)

// write is the ordered path of DESIGN §5 for an autocommit statement:
// append a Write, wait for admission, wait for the appliers, and return the
// anchor's outcome. wantRows asks the anchor for the rows RETURNING gives.
func (e *Engine) write(ctx context.Context, a *router.Analysis, args []router.Arg, wantRows bool) (ledger.Result, error) {
	p, err := e.pl.plan(ctx, a, args)
	if err != nil {
		return ledger.Result{}, err
	}
	return e.writePlan(ctx, p, a.Kind, wantRows)
}

// writePlan is write for a statement already planned.
func (e *Engine) writePlan(ctx context.Context, p *plan, kind router.Kind, wantRows bool) (ledger.Result, error) {
	stmts, err := p.stmts(wantRows)
	if err != nil {
		return ledger.Result{}, err
	}
	t, err := e.cal.Submit(ctx, &ledger.Event{
		Type:   ledger.Write,
		Keys:   p.keys,
		Stmts:  stmts,
		Reject: e.cfg.Conflict == ConflictReject,
	})
	if err != nil {
		return ledger.Result{}, &LedgerError{Err: fmt.Errorf("%w: %w", ErrMaybeAppended, err)}
	}
	if err := e.admit(ctx, t, "write", ""); err != nil {
		return ledger.Result{}, err
	}
	return e.await(ctx, t.Job(), kind == router.DDL)
}

// await waits for the job as ack asks and returns the anchor's result.
func (e *Engine) await(ctx context.Context, j *ledger.Job, ddl bool) (ledger.Result, error) {
	wait := j.Done()
	if e.cfg.Ack == AckAnchor {
		wait = j.Anchored()
	}
	select {
	case <-wait:
	case <-ctx.Done():
		return ledger.Result{}, fmt.Errorf("calibrated: admitted as entry %d, which will be applied, but stopped waiting: %w", j.Seq, ctx.Err())
	case <-e.runCtx.Done():
		return ledger.Result{}, &LedgerError{Seq: uint64(j.Seq), Err: errors.New("the driver was closed while waiting for the entry to be applied; it is in the ledger and will be applied")}
	case <-e.cal.Done():
		return ledger.Result{}, &LedgerError{Seq: uint64(j.Seq), Err: fmt.Errorf("admitted as entry %d, but the ledger stopped before it was applied: %w", j.Seq, e.cal.Err())}
	}
	if ddl {
		e.schemaChanged()
	}
	// The anchor's outcome is the client's; if the anchor went down before
	// applying the entry, the first backend that did speaks for it.
	from := j.Anchor
	r, ok := e.cal.Result(j, from)
	for _, b := range j.Targets {
		if ok {
			break
		}
		from = b
		r, ok = e.cal.Result(j, b)
	}
	if !ok {
		return r, &LedgerError{Seq: uint64(j.Seq), Err: fmt.Errorf("no backend has an outcome for entry %d", j.Seq)}
	}
	if r.SQLState != "" {
		err := r.Err
		if err == nil {
			err = &remoteError{state: r.SQLState, msg: r.Msg}
		}
		return r, &BackendError{Backend: from, Op: "apply", Err: err}
	}
	return r, nil
}

// admit waits for the calibrator's decision on t, at most lock_timeout.
// While it waits it moves log time on with Ticks, so that the lease of a
// transaction whose client vanished can lapse (DESIGN §4). A request of
// transaction tx ("" for none) renews tx's own lease instead, with a Lock
// of no keys: a transaction that waits is not idle.
func (e *Engine) admit(ctx context.Context, t *ledger.Ticket, kind, tx string) error {
	start := time.Now()
	timer := time.NewTimer(e.cfg.LockTimeout)
	defer timer.Stop()
	tick := time.NewTicker(min(time.Second, e.cfg.TxLease/2))
	defer tick.Stop()
	var why error
wait:
	for {
		select {
		case <-t.Decided():
			break wait
		case <-tick.C:
			ev := &ledger.Event{Type: ledger.Tick}
			if tx != "" {
				ev = &ledger.Event{Type: ledger.Lock, Tx: tx, Lease: e.cfg.TxLease}
			}
			if _, err := e.cal.Append(ctx, ev); err != nil {
				e.log.Warn("calibrated: cannot append a tick", "err", err)
			}
		case <-timer.C:
			why = ErrLockTimeout
			break wait
		case <-ctx.Done():
			why = ctx.Err()
			break wait
		case <-e.cal.Done():
			return &LedgerError{Seq: uint64(t.Seq), Err: e.cal.Err()}
		}
	}
	d := t.Decision()
	if why != nil {
		d = e.cal.Withdraw(t)
	}
	e.metrics.LockWait(time.Since(start))
	switch d {
	case ledger.Admitted:
		e.metrics.Admitted(kind)
		return nil
	case ledger.Rejected:
		e.metrics.Conflict("reject")
		return ErrConflict
	case ledger.Deadlock:
		e.metrics.Conflict("deadlock")
		return ErrDeadlock
	case ledger.Lapsed:
		return ErrTxExpired
	case ledger.Withdrawn:
		if why == nil {
			why = ErrLockTimeout
		}
		if errors.Is(why, ErrLockTimeout) {
			e.metrics.Conflict("lock_timeout")
		}
		return why
	}
	return &LedgerError{Seq: uint64(t.Seq), Err: errors.New("no decision from the calibrator")}
}

// ledgerArgs takes the values of a statement's arguments for the ledger.
func ledgerArgs(args []router.Arg) ([]any, error) {
	if len(args) == 0 {
		return nil, nil
	}
	vals := make([]any, len(args))
	for i, nv := range args {
		if nv.Name != "" {
			return nil, &UnsupportedError{What: "named argument " + nv.Name + " in a write", Fix: "use positional $n placeholders"}
		}
		vals[i] = nv.Value
	}
	return vals, nil
}

// remoteError stands for a backend error reported through the ledger by
// another process, where the driver's own error value is not at hand.
type remoteError struct{ state, msg string }

func (e *remoteError) Error() string    { return e.msg }
func (e *remoteError) SQLState() string { return e.state }

// result is the sql.Result of a write: the anchor's row count and, for
// MySQL and SQLite, the id the anchor gave the first (MySQL) or last
// (SQLite) row it inserted, 0 when the driver does not know it.
type result struct {
	rows int64
	id   int64
	ids  bool // the dialect has LastInsertId
}

var _ sql.Result = result{}

// LastInsertId implements [sql.Result]. PostgreSQL has no such thing:
// use RETURNING.
func (r result) LastInsertId() (int64, error) {
	if r.ids {
		return r.id, nil
	}
	return 0, errors.New("calibrated: LastInsertId is not supported by PostgreSQL; use RETURNING")
}

// RowsAffected implements [sql.Result].
func (r result) RowsAffected() (int64, error) { return r.rows, nil }

func bufferedRows(r ledger.Result) *Rows {
	b, ok := r.Rows.(*backend.Buffered)
	if !ok {
		b = &backend.Buffered{}
	}
	return &Rows{Buf: b}
}
