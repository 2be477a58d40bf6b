package redislog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/calibrated/calibrated/ledger"
)

var _ ledger.Cursor = (*cursor)(nil)

const (
	// readBatch is how many entries one XREAD asks for.
	readBatch = 512
	// blockChunk bounds one XREAD BLOCK, so that a cursor notices a
	// cancelled context, a closed log, or a deleted ledger that soon.
	blockChunk = 500 * time.Millisecond
)

// cursor reads with XREAD from its position. Next is not safe for
// concurrent use; Close may be called while Next waits.
type cursor struct {
	l    *Log
	mu   sync.Mutex
	next ledger.Seq // the Seq Next returns
	buf  []redis.XMessage
	err  error         // a broken history: returned for ever
	stop chan struct{} // closed by Close
	once sync.Once
}

// Next implements [ledger.Cursor].
func (c *cursor) Next(ctx context.Context) (ledger.Seq, *ledger.Event, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.isClosed() || c.l.closed() {
			return 0, nil, ledger.ErrClosed
		}
		if c.err != nil {
			return 0, nil, c.err
		}
		if len(c.buf) > 0 {
			m := c.buf[0]
			c.buf = c.buf[1:]
			return c.deliver(m)
		}
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		block := blockChunk
		if dl, ok := ctx.Deadline(); ok {
			block = min(block, time.Until(dl))
		}
		block = max(block, time.Millisecond) // BLOCK 0 would wait for ever
		// Not ctx itself: a read cut by ctx's deadline would cost the
		// connection. A cancelled ctx is seen after the chunk; a server
		// that stops answering, within the timeout after it.
		xctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), block+c.l.cfg.timeout)
		res, err := c.l.rdb.XRead(xctx, &redis.XReadArgs{
			Streams: []string{c.l.stream, "0-" + strconv.FormatUint(uint64(c.next-1), 10)},
			Count:   readBatch,
			Block:   block,
		}).Result()
		cancel()
		switch {
		case errors.Is(err, redis.Nil):
			if ended(ctx) == nil { // waited for nothing: is the ledger still there?
				if _, err := c.l.tail(ctx, c.next); err != nil {
					if errors.Is(err, ledger.ErrHistory) {
						c.err = err
					}
					return 0, nil, err
				}
			}
		case err != nil:
			if c.l.closed() {
				return 0, nil, ledger.ErrClosed
			}
			return 0, nil, c.l.unavailable("read", err)
		default:
			for _, s := range res {
				c.buf = append(c.buf, s.Messages...)
			}
		}
	}
}

// deliver checks that m is the entry at c.next, of this ledger, and
// decodes it.
func (c *cursor) deliver(m redis.XMessage) (ledger.Seq, *ledger.Event, error) {
	ms, sq, _ := strings.Cut(m.ID, "-")
	n, err := strconv.ParseUint(sq, 10, 64)
	if ms != "0" || err != nil {
		return 0, nil, c.broken(0, fmt.Sprintf("stream %s holds entry %s, which no ledger appended", c.l.stream, m.ID))
	}
	got := ledger.Seq(n)
	if id, _ := m.Values["i"].(string); id != c.l.ident {
		return 0, nil, c.broken(got, fmt.Sprintf("ledger %s was deleted and created anew: entry %s has identity %q, the ledger opened has %q", c.l.name, m.ID, id, c.l.ident))
	}
	if got != c.next {
		what := fmt.Sprintf("stream %s skips from %d to %d: entries deleted", c.l.stream, c.next-1, got)
		if got < c.next {
			what = fmt.Sprintf("stream %s went back from %d to %d", c.l.stream, c.next-1, got)
		}
		return 0, nil, c.broken(got, what)
	}
	p, _ := m.Values["e"].(string)
	ev, err := ledger.DecodeEvent([]byte(p))
	if err != nil {
		c.err = fmt.Errorf("calibrated: ledger %s: entry %d: %w", c.l.name, got, err)
		c.buf = nil
		return 0, nil, c.err
	}
	c.next++
	return got, ev, nil
}

func (c *cursor) broken(got ledger.Seq, what string) error {
	c.err = &ledger.HistoryError{Log: c.l.name, Expected: c.next, Got: got, What: what}
	c.buf = nil
	return c.err
}

func (c *cursor) isClosed() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// Close implements [ledger.Cursor]. A Next that waits returns
// [ledger.ErrClosed] within half a second.
func (c *cursor) Close() error {
	c.once.Do(func() { close(c.stop) })
	return nil
}
