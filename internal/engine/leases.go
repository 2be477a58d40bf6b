package engine

import (
	"context"
	"time"

	"github.com/calibrated/calibrated/ledger"
)

// ApplierLease is how long, in log time, an applier lease lasts; its
// holder renews it every third of that. A process that dies holding a
// lease is replaced within about this long.
const ApplierLease = 3 * time.Second

// keepLeases renews the applier leases this process holds and claims those
// that are free or have run out, at most every third of the lease unless
// now is set, then runs the appliers of the backends whose lease it holds
// and stops the others (DESIGN §5, remote mode). It runs only when the
// ledger is shared with other processes; otherwise every applier runs here.
func (e *Engine) keepLeases(ctx context.Context, now bool) {
	if !now && time.Since(e.lastLease) < ApplierLease/3 {
		return
	}
	e.lastLease = time.Now()
	claimed := false
	for _, b := range e.backends {
		holder, until := e.cal.LeaseHolder(b.Name)
		// Claim a lease that is ours, free, or run out by our clock: the
		// claim's stamp moves log time on, so a lease whose holder died
		// runs out for everyone even when nothing else is written.
		if holder == e.cal.Origin() || holder == "" || time.Now().After(until) {
			if _, err := e.cal.Append(ctx, &ledger.Event{Type: ledger.Lease, Backend: b.Name, Lease: ApplierLease}); err != nil {
				e.log.Warn("calibrated: cannot claim an applier lease", "backend", b.Name, "err", err)
				continue
			}
			claimed = true
		}
	}
	if claimed {
		if err := e.cal.Sync(ctx); err != nil {
			return
		}
	}
	for _, b := range e.backends {
		if e.cal.HoldsLease(b.Name) {
			e.startApplier(b)
		} else {
			e.stopApplier(b.Name)
		}
	}
}

// giveUpLeases hands this process's applier leases back, so that another
// process takes over at once rather than when they run out.
func (e *Engine) giveUpLeases() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for _, b := range e.backends {
		if e.cal.HoldsLease(b.Name) {
			_, _ = e.cal.Append(ctx, &ledger.Event{Type: ledger.Lease, Backend: b.Name})
		}
	}
}

// unclosed is a ledger the driver uses but does not own (see [WithLedger]).
type unclosed struct{ ledger.Log }

// Close implements [ledger.Log]: the owner closes the log.
func (unclosed) Close() error { return nil }

// reportOwnCommit records in the ledger that a transaction's own commit
// applied entry seq on backend, mark and all, so that the holder of that
// backend's lease, wherever it runs, does not wait for it.
func (e *Engine) reportOwnCommit(ctx context.Context, backend string, seq ledger.Seq) {
	ev := &ledger.Event{Type: ledger.Applied, Backend: backend, Seqs: []ledger.Seq{seq}, Outcomes: []ledger.Outcome{{Skipped: true}}}
	if _, err := e.cal.Append(ctx, ev); err != nil {
		e.log.Warn("calibrated: cannot report a transaction's own commit; the anchor's applier will find it applied", "seq", seq, "err", err)
	}
}
