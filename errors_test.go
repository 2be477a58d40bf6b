package calibrated

import (
	"errors"
	"fmt"
	"testing"

	"github.com/calibrated/calibrated/internal/engine"
	"github.com/calibrated/calibrated/ledger"
)

// TestLedgerErrorsRetryable: a ledger that did not answer a request that
// applies nothing by itself is retryable; a write whose append was not
// confirmed, a broken history, and a driver-side ledger failure are not.
// Every one of them is ErrLedgerUnavailable.
func TestLedgerErrorsRetryable(t *testing.T) {
	down := fmt.Errorf("nats: %w: connection closed", ledger.ErrUnavailable)
	for _, tc := range []struct {
		err       error
		retryable bool
	}{
		{&LedgerError{Err: down}, true},
		{fmt.Errorf("read: %w", &LedgerError{Err: down}), true},
		{&LedgerError{Err: fmt.Errorf("%w: %w", engine.ErrMaybeAppended, down)}, false},
		{&LedgerError{Err: &ledger.HistoryError{Log: "L", Expected: 3, Got: 4, What: "gap"}}, false},
		{&LedgerError{Seq: 7, Err: errors.New("the driver was closed while waiting")}, false},
		{ErrConflict, true},
	} {
		if got := Retryable(tc.err); got != tc.retryable {
			t.Errorf("Retryable(%v) = %v, want %v", tc.err, got, tc.retryable)
		}
		if _, isLedger := errors.AsType[*LedgerError](tc.err); isLedger && !errors.Is(tc.err, ErrLedgerUnavailable) {
			t.Errorf("%v does not match ErrLedgerUnavailable", tc.err)
		}
	}
	if !errors.Is(down, ErrLedgerUnavailable) {
		t.Error("a ledger package's unavailability does not match ErrLedgerUnavailable")
	}
}
