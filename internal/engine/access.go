package engine

import (
	"context"
	"time"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/ledger"
)

// What the driver's status, history and tests read of a running engine.

// Calibrator returns the engine's calibrator.
func (e *Engine) Calibrator() *ledger.Calibrator { return e.cal }

// Ledger returns the ledger the engine reads and appends to.
func (e *Engine) Ledger() ledger.Log { return e.ledger }

// SharedLedger reports whether other processes may append to the ledger.
func (e *Engine) SharedLedger() bool { return e.sharedLedger }

// Backends returns the backends in DSN order.
func (e *Engine) Backends() []*backend.Backend { return e.backends }

// Backend returns the named backend, or nil.
func (e *Engine) Backend(name string) *backend.Backend { return e.byName[name] }

// Reading returns how many reads are in flight on the named backend.
func (e *Engine) Reading(name string) int {
	if c := e.inflight[name]; c != nil {
		return int(c.Load())
	}
	return 0
}

// StartApplier starts the applier of the named backend, unless it runs.
func (e *Engine) StartApplier(name string) { e.startApplier(e.byName[name]) }

// StopApplier stops the applier of the named backend and waits for it.
func (e *Engine) StopApplier(name string) { e.stopApplier(name) }

// SetAfterCommit sets a hook that appliers started from now on run between
// each batch commit and its report; an error stops the applier there.
// Tests use it to crash an applier at the worst moment.
func (e *Engine) SetAfterCommit(hook func(backend string) error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.afterCommit = hook
}

// SetState appends a State event for the named backend, as the monitor
// does when it finds a backend down or back.
func (e *Engine) SetState(ctx context.Context, name string, s ledger.BackendState) {
	e.setState(ctx, name, s)
}

// ApplierDone returns a channel closed when the named backend's applier
// stops, or nil if none was started.
func (e *Engine) ApplierDone(name string) <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.appliers[name]; r != nil {
		return r.done
	}
	return nil
}

// OpenLedger opens the ledger cfg names, as Start does, and reports
// whether other processes may share it.
func OpenLedger(ctx context.Context, cfg *Config) (ledger.Log, bool, error) {
	return openLedger(ctx, cfg)
}

// SetTrimEvery sets how often the monitor may trim the ledger (0: at every
// check).
func (e *Engine) SetTrimEvery(d time.Duration) {
	e.trimEvery.Store(int64(d))
}

// Crash stops the engine the way a killed process stops: its appliers and
// calibrator end mid-flight, and it gives nothing back, its leases included.
func (e *Engine) Crash() {
	e.sharedLedger = false // so that Close gives no lease up
	e.Close()
}
