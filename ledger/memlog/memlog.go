// Package memlog is the in-process ledger (ledger=local): a slice guarded by
// a mutex. It lasts as long as the process, and holds the events from the
// last [Log.Trim] on.
package memlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/calibrated/calibrated/ledger"
)

// Log is an in-memory [ledger.Log].
type Log struct {
	id     string
	mu     sync.Mutex
	first  ledger.Seq // the position of events[0]
	events []*ledger.Event
	grew   chan struct{} // closed and replaced on every append
	closed bool
}

var (
	_ ledger.Log     = (*Log)(nil)
	_ ledger.InPlace = (*Log)(nil)
)

// New returns an empty log with a fresh random identity.
func New() *Log {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Log{id: "mem-" + hex.EncodeToString(b[:]), first: 1, grew: make(chan struct{})}
}

// ID implements [ledger.Log].
func (l *Log) ID() string { return l.id }

// Append implements [ledger.Log].
func (l *Log) Append(ctx context.Context, ev *ledger.Event) (ledger.Seq, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ledger.ErrClosed
	}
	l.events = append(l.events, ev)
	close(l.grew)
	l.grew = make(chan struct{})
	return l.tail(), nil
}

func (l *Log) tail() ledger.Seq { return l.first + ledger.Seq(len(l.events)) - 1 }

// at returns the event at seq, if the log holds it.
func (l *Log) at(seq ledger.Seq) (*ledger.Event, bool) {
	if seq < l.first || seq > l.tail() {
		return nil, false
	}
	return l.events[seq-l.first], true
}

// First returns the position of the first event the log holds.
func (l *Log) First() ledger.Seq {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.first
}

// Trim drops the events before position before. Reading from a dropped
// position fails with [ledger.ErrTrimmed]. The calibrated engine trims at a
// point where the calibrator's state is the empty log's (see
// [ledger.Calibrator.Quiescent]), so that a long-running process does not
// keep every write it ever made.
func (l *Log) Trim(before ledger.Seq) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ledger.ErrClosed
	}
	n := int(min(before, l.tail()+1) - l.first)
	if n <= 0 {
		return nil
	}
	clear(l.events[:n]) // let the dropped events go even while the array stays
	l.events = l.events[n:]
	l.first += ledger.Seq(n)
	if cap(l.events) > 2*len(l.events)+1024 {
		l.events = append([]*ledger.Event(nil), l.events...)
	}
	return nil
}

func (l *Log) trimmed(seq ledger.Seq) error {
	return fmt.Errorf("calibrated: in-process ledger position %d is no longer held; the first is %d: %w", seq, l.first, ledger.ErrTrimmed)
}

// Event implements [ledger.InPlace].
func (l *Log) Event(seq ledger.Seq) (*ledger.Event, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, false
	}
	return l.at(seq)
}

// Tail implements [ledger.Log].
func (l *Log) Tail(ctx context.Context) (ledger.Seq, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ledger.ErrClosed
	}
	return l.tail(), nil
}

// Read implements [ledger.Log]. from 0 reads from the start, as 1 does;
// reading from before [Log.First] fails with [ledger.ErrTrimmed].
func (l *Log) Read(ctx context.Context, from ledger.Seq) (ledger.Cursor, error) {
	from = max(from, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if from < l.first {
		return nil, l.trimmed(from)
	}
	return &cursor{l: l, next: from}, nil
}

// Close implements [ledger.Log]. Blocked readers return [ledger.ErrClosed].
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		close(l.grew)
	}
	return nil
}

type cursor struct {
	l    *Log
	next ledger.Seq
}

func (c *cursor) Next(ctx context.Context) (ledger.Seq, *ledger.Event, error) {
	for {
		c.l.mu.Lock()
		if ev, ok := c.l.at(c.next); ok {
			c.l.mu.Unlock()
			s := c.next
			c.next++
			return s, ev, nil
		}
		if c.next < c.l.first {
			err := c.l.trimmed(c.next)
			c.l.mu.Unlock()
			return 0, nil, err
		}
		closed, grew := c.l.closed, c.l.grew
		c.l.mu.Unlock()
		if closed {
			return 0, nil, ledger.ErrClosed
		}
		select {
		case <-grew:
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
}

func (c *cursor) Close() error { return nil }
