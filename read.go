package calibrated

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"slices"
	"sync/atomic"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/router"
)

type counter struct{ atomic.Int64 }

// readBackend chooses where a read of keys runs and waits until that
// backend has no pending write on them (P3). keys nil means "nothing
// pending at all", for reads that could not be analysed.
func (e *engine) readBackend(ctx context.Context, keys []ledger.Key) (*backend.Backend, error) {
	if e.cfg.Consistency == ConsistencyStrong && e.sharedLedger {
		// The read index: everything appended before the read began,
		// by any process, must be known here first.
		if err := e.cal.Sync(ctx); err != nil {
			return nil, &LedgerError{Err: err}
		}
	}
	switch e.cfg.Read {
	case ReadNearest:
		if e.cfg.Consistency == ConsistencyNone {
			return e.pick(e.candidates()[0]), nil
		}
		name, err := e.cal.WaitAnyClear(ctx, e.candidates(), keys)
		if err != nil {
			return nil, err
		}
		return e.pick(name), nil
	case ReadAnchor:
		return e.waitOn(ctx, e.cal.Anchor(), keys, "")
	default:
		return e.waitOn(ctx, e.cfg.Read, keys, "")
	}
}

func (e *engine) waitOn(ctx context.Context, name string, keys []ledger.Key, tx string) (*backend.Backend, error) {
	if e.cfg.Consistency != ConsistencyNone {
		if err := e.cal.WaitClear(ctx, name, keys, tx); err != nil {
			return nil, err
		}
	}
	return e.pick(name), nil
}

// pick counts a read in flight on a backend; done undoes it.
func (e *engine) pick(name string) *backend.Backend {
	e.inflight[name].Add(1)
	return e.byName[name]
}

func (e *engine) done(b *backend.Backend) { e.inflight[b.Name].Add(-1) }

// candidates lists the backends, least busy first, DSN order breaking ties.
func (e *engine) candidates() []string {
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

// read runs a read on the chosen backend.
func (e *engine) read(ctx context.Context, a *router.Analysis, query string, args []driver.NamedValue) (driver.Rows, error) {
	keys, err := e.readKeys(a, args)
	if err != nil {
		return nil, err
	}
	b, err := e.readBackend(ctx, keys)
	if err != nil {
		return nil, err
	}
	r, err := b.DB.QueryContext(ctx, query, namedArgs(args)...)
	if err != nil {
		e.done(b)
		return nil, &BackendError{Backend: b.Name, Op: "query", Err: err}
	}
	return newRows(r, func() { e.done(b) }), nil
}

// readKeys binds a read's keys; an unanalysed read (a == nil) waits for
// nothing to be pending.
func (e *engine) readKeys(a *router.Analysis, args []driver.NamedValue) ([]ledger.Key, error) {
	if a == nil {
		return nil, nil
	}
	keys, err := a.Keys(e.schema, args)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		// A read of no table (SELECT 1) waits for nothing.
		keys = []ledger.Key{}
	}
	return keys, nil
}

// namedArgs turns driver arguments back into database/sql arguments for a backend.
func namedArgs(args []driver.NamedValue) []any {
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
