package engine

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/ledger"
)

// health follows each backend's connection failures and turns them into
// State events (DESIGN §7): a backend failing for down_after is marked
// down; a down backend that answers again is catching up; a backend that
// has caught up is active. The events go through the ledger, so every
// participant sees the same states at the same positions.
type health struct {
	mu      sync.Mutex
	failing map[string]time.Time // since when each backend fails; absent when healthy
}

// failed records a connection failure of backend b. Other errors say
// nothing about the backend's reachability and are ignored.
func (e *Engine) failed(b string, err error) {
	if !backend.ConnError(err) {
		return
	}
	e.health.mu.Lock()
	if _, ok := e.health.failing[b]; !ok {
		e.health.failing[b] = time.Now()
		e.log.Warn("calibrated: backend failing", "backend", b, "err", err)
	}
	e.health.mu.Unlock()
}

// succeeded records that backend b answered.
func (e *Engine) succeeded(b string) {
	e.health.mu.Lock()
	delete(e.health.failing, b)
	e.health.mu.Unlock()
}

func (e *Engine) failingFor(b string) time.Duration {
	e.health.mu.Lock()
	defer e.health.mu.Unlock()
	since, ok := e.health.failing[b]
	if !ok {
		return 0
	}
	return time.Since(since)
}

// monitor runs until ctx is done, checking every backend's health.
func (e *Engine) monitor(ctx context.Context) {
	period := min(100*time.Millisecond, e.cfg.DownAfter/4)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, b := range e.backends {
			e.check(ctx, b)
		}
		e.trim(ctx)
		if e.sharedLedger {
			e.keepLeases(ctx, false)
		}
		if e.observed() {
			st := e.cal.Stats()
			for _, b := range e.backends {
				e.metrics.SetLag(b.Name, st.Queued[b.Name])
				e.metrics.SetState(b.Name, st.States[b.Name].String())
			}
		}
	}
}

func (e *Engine) check(ctx context.Context, b *backend.Backend) {
	switch e.cal.State(b.Name) {
	case ledger.Active, ledger.CatchingUp:
		if e.failingFor(b.Name) >= e.cfg.DownAfter {
			e.setState(ctx, b.Name, ledger.Down)
			return
		}
		if e.cal.CaughtUp(b.Name) {
			e.setState(ctx, b.Name, ledger.Active)
		}
	case ledger.Down:
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		err := b.DB.PingContext(pctx)
		cancel()
		if err == nil {
			e.succeeded(b.Name)
			e.setState(ctx, b.Name, ledger.CatchingUp)
		}
	}
}

func (e *Engine) setState(ctx context.Context, b string, s ledger.BackendState) {
	if _, err := e.cal.Append(ctx, &ledger.Event{Type: ledger.State, Backend: b, State: s.String()}); err != nil {
		if !errors.Is(err, context.Canceled) {
			e.log.Error("calibrated: cannot record a backend state", "backend", b, "state", s, "err", err)
		}
		return
	}
	e.log.Info("calibrated: backend state", "backend", b, "state", s)
}

// trimmer is a ledger that can drop its oldest events (the file ledger).
type trimmer interface {
	First() ledger.Seq
	Trim(before ledger.Seq) error
}

// trim drops the ledger's history up to a quiescent point (DESIGN §4:
// entries applied everywhere are trimmed by policy), at most every
// trimEvery. Only there does the empty state the calibrator starts from on
// a restart equal the state the dropped events built.
func (e *Engine) trim(ctx context.Context) {
	t, ok := e.ledger.(trimmer)
	if !ok || time.Since(e.lastTrim) < time.Duration(e.trimEvery.Load()) {
		return
	}
	e.lastTrim = time.Now()
	pos, ok := e.cal.Quiescent()
	if !ok || pos < t.First() {
		return
	}
	if err := t.Trim(pos + 1); err != nil {
		e.log.Warn("calibrated: cannot trim the ledger", "err", err)
		return
	}
	// The backends' marks of the trimmed entries are not needed either.
	// Folding them can take a while on a slow backend: not in the
	// monitor's own loop, which must go on noticing failures.
	if !e.compacting.CompareAndSwap(false, true) {
		return // the last fold is still running; the next trim folds these too
	}
	e.bg.Go(func() {
		defer e.compacting.Store(false)
		for _, b := range e.backends {
			if e.cal.State(b.Name) != ledger.Active {
				continue // a backend being resynced gets its marks from its source
			}
			if err := backend.CompactMarks(ctx, b.DB, b.Dialect, e.ledger.ID(), int64(pos+1)); err != nil && ctx.Err() == nil {
				e.log.Warn("calibrated: cannot fold the applied marks of trimmed entries", "backend", b.Name, "err", err)
			}
		}
	})
}
