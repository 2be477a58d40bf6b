package engine

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/internal/dsn"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/router"
)

type counter struct{ atomic.Int64 }

type readFromKey struct{}

// ReadFrom returns a context whose reads run on the named backend (or
// "anchor", or "nearest"), overriding the DSN's read setting: such a read
// waits while that backend has a pending write on its rows, or is down.
func ReadFrom(ctx context.Context, backend string) context.Context {
	return context.WithValue(ctx, readFromKey{}, backend)
}

// readBackend chooses where a read of keys runs and waits until that
// backend has no pending write on them (P3). keys nil means "nothing
// pending at all", for reads that could not be analysed. Backends in
// avoid (those that just failed) are not chosen under read=nearest.
func (e *Engine) readBackend(ctx context.Context, keys []ledger.Key, avoid ...string) (*backend.Backend, error) {
	if e.cfg.Consistency == ConsistencyStrong && e.sharedLedger {
		// The read index: everything appended before the read began,
		// by any process, must be known here first.
		if err := e.cal.Sync(ctx); err != nil {
			return nil, &LedgerError{Err: err}
		}
	}
	read := e.cfg.Read
	if name, ok := ctx.Value(readFromKey{}).(string); ok {
		read = name
	}
	switch read {
	case ReadNearest:
		cands := e.candidates()
		if len(avoid) > 0 && len(avoid) < len(cands) {
			cands = slices.DeleteFunc(slices.Clone(cands), func(b string) bool { return slices.Contains(avoid, b) })
		}
		if e.cfg.Consistency == ConsistencyNone {
			for _, b := range cands {
				if e.cal.State(b).Serves() {
					return e.pick(b), nil
				}
			}
			return e.pick(cands[0]), nil
		}
		start := time.Now()
		name, err := e.cal.WaitAnyClear(ctx, cands, keys)
		if err != nil {
			return nil, err
		}
		e.observeReadWait(name, start)
		return e.pick(name), nil
	case ReadAnchor:
		a, err := e.anchor()
		if err != nil {
			return nil, err
		}
		return e.waitOn(ctx, a.Name, keys, "")
	default:
		if _, ok := e.byName[read]; !ok {
			return nil, &dsn.ConfigError{Key: "read", Err: fmt.Errorf("no backend %q", read)}
		}
		return e.waitOn(ctx, read, keys, "")
	}
}

func (e *Engine) waitOn(ctx context.Context, name string, keys []ledger.Key, tx string) (*backend.Backend, error) {
	if e.cfg.Consistency != ConsistencyNone {
		start := time.Now()
		if err := e.cal.WaitClear(ctx, name, keys, tx); err != nil {
			return nil, err
		}
		e.observeReadWait(name, start)
	}
	return e.pick(name), nil
}

// observeReadWait records how long a read waited for its keys, if it did.
func (e *Engine) observeReadWait(backend string, start time.Time) {
	if e.observed() {
		e.metrics.ReadWait(backend, time.Since(start))
	}
}

// pick counts a read in flight on a backend; done undoes it.
func (e *Engine) pick(name string) *backend.Backend {
	e.inflight[name].Add(1)
	return e.byName[name]
}

func (e *Engine) done(b *backend.Backend) { e.inflight[b.Name].Add(-1) }

// candidates lists the backends, least busy first, DSN order breaking ties.
func (e *Engine) candidates() []string {
	names := e.cal.Backends()
	if len(names) == 1 {
		return names
	}
	names = slices.Clone(names)
	slices.SortStableFunc(names, func(a, b string) int {
		return int(e.inflight[a].Load() - e.inflight[b].Load())
	})
	return names
}

// read runs a read on the chosen backend. A backend that cannot be reached
// is reported and the read goes elsewhere (read=nearest) or waits for it
// (read=anchor, read=NAME): time stops for those who wait (P4).
func (e *Engine) read(ctx context.Context, a *router.Analysis, query string, args []router.Arg) (*Rows, error) {
	keys, err := e.readKeys(a, args)
	if err != nil {
		return nil, err
	}
	var avoid []string
	replanned := false
	for {
		b, err := e.readBackend(ctx, keys, avoid...)
		if err != nil {
			return nil, err
		}
		r, err := b.DB.QueryContext(ctx, query, namedArgs(args)...)
		if err == nil {
			return &Rows{Live: r, Done: func() { e.done(b) }}, nil
		}
		e.done(b)
		if backend.Replan(err) && !replanned && ctx.Err() == nil {
			replanned = true
			stale(b)
			continue
		}
		if !backend.ConnError(err) || ctx.Err() != nil {
			return nil, &BackendError{Backend: b.Name, Op: "query", Err: err}
		}
		e.failed(b.Name, err)
		if name, _ := ctx.Value(readFromKey{}).(string); (name == "" && e.cfg.Read == ReadNearest || name == ReadNearest) && len(avoid) < len(e.backends)-1 {
			avoid = append(avoid, b.Name)
			continue
		}
		avoid = nil
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return nil, &BackendError{Backend: b.Name, Op: "query", Err: err}
		}
	}
}

// stale is called when b said a statement it had prepared no longer fits
// its schema: DDL the driver did not order (on a private table, or from
// outside) changed it. Every connection of b forgets its prepared
// statements before its next use, and the statement, which the backend
// refused before running it, is retried once.
func stale(b *backend.Backend) { b.SchemaChanged() }

// readKeys binds a read's keys; an unanalysed read (a == nil) waits for
// nothing to be pending.
func (e *Engine) readKeys(a *router.Analysis, args []router.Arg) ([]ledger.Key, error) {
	if a == nil {
		return nil, nil
	}
	keys, err := a.Keys(e.schema, args)
	if err != nil {
		return nil, err
	}
	keys = e.pl.foldKeys(keys)
	if len(keys) == 0 {
		// A read of no table (SELECT 1) waits for nothing.
		keys = []ledger.Key{}
	}
	return keys, nil
}

// namedArgs turns driver arguments back into database/sql arguments for a backend.
func namedArgs(args []router.Arg) []any {
	out := make([]any, len(args))
	for i, nv := range args {
		if nv.Name != "" {
			out[i] = sql.Named(nv.Name, nv.Value)
			continue
		}
		out[i] = nv.Value
	}
	return out
}
