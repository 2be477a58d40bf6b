package memlog_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/ledger/ledgertest"
	"github.com/calibrated/calibrated/ledger/memlog"
)

func TestLog(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Log { return memlog.New() })
}

// TestTrim: trimmed events are gone, reads from them fail, and the log
// goes on from where it was.
func TestTrim(t *testing.T) {
	ctx := context.Background()
	l := memlog.New()
	defer l.Close()
	for i := range 10 {
		if _, err := l.Append(ctx, &ledger.Event{Type: ledger.Tick, Tx: fmt.Sprint(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	follower, err := l.Read(ctx, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Trim(6); err != nil {
		t.Fatal(err)
	}
	if l.First() != 6 {
		t.Fatalf("First() = %d after Trim(6)", l.First())
	}
	if tail, _ := l.Tail(ctx); tail != 10 {
		t.Fatalf("Tail() = %d after a trim; want 10", tail)
	}
	if _, ok := l.Event(5); ok {
		t.Fatal("a trimmed event is still held")
	}
	if ev, ok := l.Event(6); !ok || ev.Tx != "6" {
		t.Fatalf("Event(6) = %v, %v", ev, ok)
	}
	if _, err := l.Read(ctx, 3); !errors.Is(err, ledger.ErrTrimmed) {
		t.Fatalf("Read from a trimmed position: %v; want ErrTrimmed", err)
	}
	if _, _, err := follower.Next(ctx); !errors.Is(err, ledger.ErrTrimmed) {
		t.Fatalf("a cursor behind the trim: %v; want ErrTrimmed", err)
	}
	seq, err := l.Append(ctx, &ledger.Event{Type: ledger.Tick, Tx: "11"})
	if err != nil || seq != 11 {
		t.Fatalf("Append after a trim: %d, %v; want 11", seq, err)
	}
	cur, err := l.Read(ctx, 0)
	if !errors.Is(err, ledger.ErrTrimmed) {
		t.Fatalf("Read(0) after a trim: %v; want ErrTrimmed", err)
	}
	if cur, err = l.Read(ctx, 6); err != nil {
		t.Fatal(err)
	}
	for want := ledger.Seq(6); want <= 11; want++ {
		seq, ev, err := cur.Next(ctx)
		if err != nil || seq != want || ev.Tx != fmt.Sprint(want) {
			t.Fatalf("Next = %d, %v, %v; want %d", seq, ev, err, want)
		}
	}
	if err := l.Trim(100); err != nil || l.First() != 12 {
		t.Fatalf("Trim past the tail: %v, First %d; want 12", err, l.First())
	}
	if seq, _ := l.Append(ctx, &ledger.Event{Type: ledger.Tick}); seq != 12 {
		t.Fatalf("Append after trimming everything: %d; want 12", seq)
	}
}
