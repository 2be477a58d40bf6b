// Package memlog is the in-process ledger (ledger=local): a slice guarded by
// a mutex. It lasts as long as the process.
package memlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"

	"github.com/calibrated/calibrated/ledger"
)

// Log is an in-memory [ledger.Log].
type Log struct {
	id     string
	mu     sync.Mutex
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
	return &Log{id: "mem-" + hex.EncodeToString(b[:]), grew: make(chan struct{})}
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
	return ledger.Seq(len(l.events)), nil
}

// Event implements [ledger.InPlace].
func (l *Log) Event(seq ledger.Seq) (*ledger.Event, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || seq < 1 || int(seq) > len(l.events) {
		return nil, false
	}
	return l.events[seq-1], true
}

// Tail implements [ledger.Log].
func (l *Log) Tail(ctx context.Context) (ledger.Seq, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ledger.ErrClosed
	}
	return ledger.Seq(len(l.events)), nil
}

// Read implements [ledger.Log].
func (l *Log) Read(ctx context.Context, from ledger.Seq) (ledger.Cursor, error) {
	if from == 0 {
		from = 1
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
		if int(c.next) <= len(c.l.events) {
			ev := c.l.events[c.next-1]
			c.l.mu.Unlock()
			s := c.next
			c.next++
			return s, ev, nil
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
