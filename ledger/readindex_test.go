package ledger_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/ledger/memlog"
)

// slowTail is a log whose Tail takes a while, like a remote one, and counts
// its calls.
type slowTail struct {
	*memlog.Log
	calls atomic.Int64
}

func (l *slowTail) Tail(ctx context.Context) (ledger.Seq, error) {
	l.calls.Add(1)
	seq, err := l.Log.Tail(ctx)
	time.Sleep(30 * time.Millisecond)
	return seq, err
}

// TestSyncSharesTails: concurrent Syncs share tail reads, yet each sees
// every append acknowledged before it began, even one acknowledged while
// an earlier tail read was on its way.
func TestSyncSharesTails(t *testing.T) {
	log := &slowTail{Log: memlog.New()}
	t.Cleanup(func() { log.Close() })
	c := ledger.NewCalibrator(log, "p1", []string{"a"})
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	ctx := context.Background()

	first := make(chan error, 1)
	go func() { first <- c.Sync(ctx) }()
	time.Sleep(5 * time.Millisecond) // its tail read is on its way
	seq, err := log.Log.Append(ctx, &ledger.Event{Type: ledger.Tick, Origin: "p2", Stamp: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := c.Stats().Processed; got < seq {
		t.Fatalf("Sync returned having read to %d; an append acknowledged before it began is at %d", got, seq)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}

	before := log.calls.Load()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if err := c.Sync(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := log.calls.Load() - before; n > 3 {
		t.Errorf("20 concurrent Syncs read the tail %d times; want them to share", n)
	}
}
