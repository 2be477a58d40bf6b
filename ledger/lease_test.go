package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/ledger/memlog"
)

// TestLeases: two processes on one log agree at every position on who
// holds an applier lease; a claim on a lease held by another is ignored
// until that lease runs out in log time.
func TestLeases(t *testing.T) {
	log := memlog.New()
	t.Cleanup(func() { log.Close() })
	var cals []*ledger.Calibrator
	for _, origin := range []string{"p1", "p2"} {
		c := ledger.NewCalibrator(log, origin, []string{"a", "b"})
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Stop)
		cals = append(cals, c)
	}
	p1, p2 := cals[0], cals[1]
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	claim := func(c *ledger.Calibrator, backend string, at time.Duration, d time.Duration) {
		t.Helper()
		if _, err := c.Append(context.Background(), &ledger.Event{Type: ledger.Lease, Backend: backend, Lease: d, Stamp: t0.Add(at)}); err != nil {
			t.Fatal(err)
		}
	}
	holder := func(backend, want string) {
		t.Helper()
		for _, c := range cals {
			if err := c.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got, _ := c.LeaseHolder(backend); got != want {
				t.Fatalf("%s sees %q holding %s, want %q", c.Origin(), got, backend, want)
			}
		}
	}
	holder("a", "")
	claim(p1, "a", 0, time.Second)
	holder("a", "p1")
	if !p1.HoldsLease("a") || p2.HoldsLease("a") {
		t.Fatal("HoldsLease disagrees with LeaseHolder")
	}
	claim(p2, "a", 500*time.Millisecond, time.Second) // held by p1: ignored
	holder("a", "p1")
	claim(p1, "a", 900*time.Millisecond, time.Second) // renewal: until 1.9s
	claim(p2, "a", 1500*time.Millisecond, time.Second)
	holder("a", "p1")
	claim(p2, "b", 1600*time.Millisecond, time.Second) // another backend: free
	holder("b", "p2")
	claim(p2, "a", 2*time.Second, time.Second) // p1's ran out at 1.9s
	holder("a", "p2")
	claim(p1, "a", 2100*time.Millisecond, time.Second) // the old holder is too late
	holder("a", "p2")
	claim(p1, "a", 2200*time.Millisecond, 0) // giving up what one does not hold: nothing
	holder("a", "p2")
	claim(p2, "a", 2300*time.Millisecond, 0)
	holder("a", "")
	claim(p1, "x", 2400*time.Millisecond, time.Second) // no such backend
	holder("x", "")
	// A lease runs out for everyone once log time passes it, even with
	// nothing else written: any later stamp will do.
	if _, err := p1.Append(context.Background(), &ledger.Event{Type: ledger.Tick, Stamp: t0.Add(5 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	holder("b", "")
}
