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
// pending at all", for reads that could not be analysed. Under
// read=nearest, home (the reading session's own backend, or "") is
// chosen when it serves and has nothing pending on keys; backends in
// avoid (those that just failed) are not chosen.
func (e *Engine) readBackend(ctx context.Context, home string, keys []ledger.Key, avoid ...string) (*backend.Backend, error) {
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
		cands := e.candidates(home)
		if len(avoid) > 0 && len(avoid) < len(cands) {
			cands = slices.DeleteFunc(cands, func(b string) bool { return slices.Contains(avoid, b) })
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

// candidates lists the backends for a read=nearest read: home first (if
// not ""), then the others least busy first, DSN order breaking ties.
// The caller may change the list.
func (e *Engine) candidates(home string) []string {
	names := slices.Clone(e.cal.Backends())
	if len(names) == 1 {
		return names
	}
	slices.SortStableFunc(names, func(a, b string) int {
		switch home {
		case a:
			return -1
		case b:
			return 1
		}
		return int(e.inflight[a].Load() - e.inflight[b].Load())
	})
	return names
}

// home returns the backend c reads from under read=nearest whenever that
// backend serves and has nothing pending on the rows read, so that each
// session keeps to one backend: its connections there stay warm, and the
// backends together hold about as many connections as the application
// has sessions instead of that many each. A session is given its home at
// its first read, the serving backend fewest sessions call home (DSN
// order breaking ties), and a new one when its home stops serving. It
// returns "" under any other read setting.
func (c *Session) home(ctx context.Context) string {
	e := c.e
	read := e.cfg.Read
	if name, ok := ctx.Value(readFromKey{}).(string); ok {
		read = name
	}
	if read != ReadNearest {
		return ""
	}
	if c.homeName != "" && e.cal.State(c.homeName).Serves() {
		return c.homeName
	}
	c.leaveHome()
	var best string
	for _, b := range e.cal.Backends() {
		if e.cal.State(b).Serves() && (best == "" || e.homed[b].Load() < e.homed[best].Load()) {
			best = b
		}
	}
	if best != "" {
		e.homed[best].Add(1)
		c.homeName = best
	}
	return best
}

// leaveHome gives up c's home, if it has one.
func (c *Session) leaveHome() {
	if c.homeName != "" {
		c.e.homed[c.homeName].Add(-1)
		c.homeName = ""
	}
}

// read runs a read on the chosen backend. A backend that cannot be reached
// is reported and the read goes elsewhere (read=nearest) or waits for it
// (read=anchor, read=NAME): time stops for those who wait (P4).
func (e *Engine) read(ctx context.Context, home string, a *router.Analysis, query string, args []router.Arg) (*Rows, error) {
	keys, err := e.readKeys(a, args)
	if err != nil {
		return nil, err
	}
	var avoid []string
	replanned := false
	for {
		b, err := e.readBackend(ctx, home, keys, avoid...)
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
