package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/calibrated/calibrated/ledger"
)

// TestInPlaceDecidesInSubmit: over an in-process log, Submit returns with
// a request that nothing blocks already decided (the submitter applied
// it), and a request that waits still waits.
func TestInPlaceDecidesInSubmit(t *testing.T) {
	c := start(t, "a")
	tk := submit(t, c, write(row1))
	select {
	case <-tk.Decided():
	default:
		t.Fatal("Submit returned before the request was decided")
	}
	if d := tk.Decision(); d != ledger.Admitted {
		t.Fatalf("decision %v, want admitted", d)
	}
	held := submit(t, c, lock("tx", row2))
	if decided(t, held) != ledger.Admitted {
		t.Fatal("lock not admitted")
	}
	blocked := submit(t, c, write(row2))
	select {
	case <-blocked.Decided():
		t.Fatalf("a write on a row an open transaction holds was decided %v", blocked.Decision())
	default:
	}
}

// TestInPlaceAppliesOnce: appenders and the calibrator's loop apply the
// same events side by side; each is applied once, in log order.
func TestInPlaceAppliesOnce(t *testing.T) {
	const writers, each = 8, 200
	c := start(t, "a")
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				tk, err := c.Submit(context.Background(), write(ledger.RowKey("t", fmt.Sprint(w, "/", i))))
				if err != nil {
					t.Error(err)
					return
				}
				if d := decided(t, tk); d != ledger.Admitted {
					t.Errorf("decision %v, want admitted", d)
				}
			}
		})
	}
	wg.Wait()
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if st.Processed != writers*each || st.Queued["a"] != writers*each {
		t.Fatalf("processed %d, queued %d; want %d of each", st.Processed, st.Queued["a"], writers*each)
	}
	var last ledger.Seq
	for _, s := range seqs(t, c, "a") {
		if s <= last {
			t.Fatalf("entry %d handed out after %d", s, last)
		}
		last = s
	}
}

// TestQuiescentRemembered: the calibrator remembers the latest position
// where its state was the empty log's, so a log can be trimmed there while
// later writes are still pending.
func TestQuiescentRemembered(t *testing.T) {
	c := start(t, "a", "b")
	if _, ok := c.Quiescent(); ok {
		t.Fatal("quiescent before any event")
	}
	w := submit(t, c, write(row1))
	decided(t, w)
	if _, ok := c.Quiescent(); ok {
		t.Fatal("quiescent with a write pending everywhere")
	}
	applyAll(t, c, "a")
	applyAll(t, c, "b")
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	quiet, ok := c.Quiescent()
	if !ok || quiet <= w.Seq {
		t.Fatalf("Quiescent() = %d, %v once the write was applied everywhere; want a position after %d", quiet, ok, w.Seq)
	}
	pending := submit(t, c, write(row2))
	decided(t, pending)
	if got, ok := c.Quiescent(); !ok || got != quiet {
		t.Fatalf("Quiescent() = %d, %v with a new write pending; want %d, the last quiet point", got, ok, quiet)
	}
}
