package filelog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/calibrated/calibrated/ledger"
)

var _ ledger.Cursor = (*cursor)(nil)

// cursor reads the segment files directly, and only up to the last durable
// Seq, so it never sees an event that a crash could take back. It is not
// safe for concurrent use.
type cursor struct {
	l    *Log
	next ledger.Seq // the Seq Next returns

	f    *os.File   // the segment holding next, once opened
	r    *segReader // positioned at the record of Seq at
	seg  segment
	at   ledger.Seq
	done bool
}

// Next implements [ledger.Cursor].
func (c *cursor) Next(ctx context.Context) (ledger.Seq, *ledger.Event, error) {
	if c.done {
		return 0, nil, ledger.ErrClosed
	}
	for {
		c.l.mu.Lock()
		closed, committed, grew := c.l.closed, c.l.committed, c.l.grew
		var seg segment
		var first ledger.Seq
		if !closed && c.next <= committed {
			first = c.l.segs[0].base
			i := sort.Search(len(c.l.segs), func(i int) bool { return c.l.segs[i].base > c.next })
			if i > 0 {
				seg = c.l.segs[i-1]
			}
		}
		c.l.mu.Unlock()
		if closed {
			c.release()
			return 0, nil, ledger.ErrClosed
		}
		if c.next <= committed {
			if c.next < first {
				c.release()
				return 0, nil, trimmed(c.next, first)
			}
			if c.f == nil || seg.base != c.seg.base {
				if err := c.open(seg); err != nil {
					return 0, nil, err
				}
			}
			ev, err := c.read()
			if err != nil {
				return 0, nil, err
			}
			s := c.next
			c.next++
			return s, ev, nil
		}
		select {
		case <-grew:
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		}
	}
}

// open moves the cursor to seg and to the record of c.next in it.
func (c *cursor) open(seg segment) error {
	c.release()
	f, err := os.Open(seg.path)
	if errors.Is(err, os.ErrNotExist) {
		if first := c.l.First(); c.next < first {
			return trimmed(c.next, first)
		}
	}
	if err != nil {
		return fmt.Errorf("calibrated: reading the ledger: %w", err)
	}
	c.f, c.r, c.seg, c.at = f, newSegReader(f), seg, seg.base
	h, err := c.r.peek(headerSize)
	if err == nil {
		err = checkHeader(h, seg.base)
	}
	if err != nil {
		return c.fail(err)
	}
	c.r.skip(headerSize)
	for c.at < c.next {
		if err := c.r.skipRecord(); err != nil {
			return c.fail(err)
		}
		c.at++
	}
	return nil
}

func (c *cursor) read() (*ledger.Event, error) {
	p, err := c.r.record(0)
	if err != nil {
		return nil, c.fail(err)
	}
	ev, err := ledger.DecodeEvent(p)
	if err != nil {
		return nil, c.fail(err)
	}
	c.at++
	return ev, nil
}

// fail reports an error met reading the record of Seq c.at, which is
// durable and so must be there: the file is damaged.
func (c *cursor) fail(err error) error {
	path, at := c.seg.path, c.at
	c.release()
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w: the segment ends early", ErrCorrupt)
	}
	return fmt.Errorf("calibrated: reading ledger entry %d from %s: %w", at, path, err)
}

func (c *cursor) release() {
	if c.f != nil {
		_ = c.f.Close()
		c.f, c.r = nil, nil
	}
}

// Close implements [ledger.Cursor].
func (c *cursor) Close() error {
	c.done = true
	c.release()
	return nil
}
