package natslog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/calibrated/calibrated/ledger"
)

var _ ledger.Cursor = (*cursor)(nil)

const (
	// fetchBatch is how many messages one pull request asks for.
	fetchBatch = 512
	// fetchWait is how long a pull request waits at the tail; fetchBeat is
	// the server's heartbeat meanwhile, whose absence (twice) shows a lost
	// server or consumer.
	fetchWait = 5 * time.Second
	fetchBeat = time.Second
	// idleConsumer is how long the server keeps a consumer nobody pulls
	// from; a cursor whose consumer lapsed makes a new one where it was.
	idleConsumer = time.Minute
)

// cursor follows the stream with a pull consumer of its own, made again
// after every error from where it stopped. Next is not safe for concurrent
// use; Close may be called while Next waits.
type cursor struct {
	l          *Log
	mu         sync.Mutex    // held by Next
	stop       chan struct{} // closed by Close
	once       sync.Once
	next       ledger.Seq // the Seq Next returns
	seen       ledger.Seq // the last Seq delivered, 0 before the first
	streamNext uint64     // the stream sequence the next consumer starts at
	seenStream uint64     // the last stream sequence taken
	pend       []pending  // taken from a message, not yet delivered
	cons       jetstream.Consumer
	batch      jetstream.MessageBatch
	fails      int   // pull requests in a row that ended in an error
	err        error // a broken history: returned for ever
}

// pending is an event taken from a message.
type pending struct {
	seq ledger.Seq
	rec []byte
}

// open makes a consumer from c.next, then checks that the stream is still
// the one Open found: a consumer made on a recreated stream shows up here,
// before any of its messages is read.
func (c *cursor) open(ctx context.Context) error {
	c.drop()
	if err := c.l.ready("read"); err != nil {
		return err
	}
	rctx, cancel := c.l.bound(ctx)
	defer cancel()
	cons, err := c.l.stream.CreateConsumer(rctx, jetstream.ConsumerConfig{
		Description:       "calibrated ledger cursor",
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       c.streamNext,
		AckPolicy:         jetstream.AckNonePolicy,
		ReplayPolicy:      jetstream.ReplayInstantPolicy,
		InactiveThreshold: idleConsumer,
		MemoryStorage:     true,
		Replicas:          1,
	})
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = c.l.info(ctx, c.next) // a HistoryError, or why not
		return c.broken(err)
	}
	if err != nil {
		if c.l.closed() {
			return ledger.ErrClosed
		}
		return c.l.fail("read", err)
	}
	c.cons = cons
	info, err := c.l.info(ctx, c.next)
	if err != nil {
		c.drop()
		return c.broken(err)
	}
	if last := info.State.LastSeq; last < c.seenStream {
		return c.broken(&ledger.HistoryError{Log: c.l.name, Expected: c.next,
			What: fmt.Sprintf("stream %s rewound: its last sequence is %d, and %d was read from it", c.l.name, last, c.seenStream)})
	}
	return nil
}

// broken makes a history error stick.
func (c *cursor) broken(err error) error {
	if errors.Is(err, ledger.ErrHistory) {
		c.err = err
		c.drop()
	}
	return err
}

// drop forgets the consumer, and deletes it from the server if that can be
// done at once.
func (c *cursor) drop() {
	c.batch = nil
	if c.cons == nil {
		return
	}
	name := c.cons.CachedInfo().Name
	c.cons = nil
	if c.l.closed() || !c.l.nc.IsConnected() {
		return // it lapses after idleConsumer
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_ = c.l.stream.DeleteConsumer(ctx, name)
}

// Next implements [ledger.Cursor].
func (c *cursor) Next(ctx context.Context) (ledger.Seq, *ledger.Event, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isClosed() {
		c.drop()
		return 0, nil, ledger.ErrClosed
	}
	if c.err != nil {
		return 0, nil, c.err
	}
	for {
		if len(c.pend) > 0 {
			e := c.pend[0]
			c.pend = c.pend[1:]
			ev, err := ledger.DecodeEvent(e.rec)
			if err != nil {
				c.err = fmt.Errorf("calibrated: ledger %s: entry %d: %w", c.l.name, e.seq, err)
				c.drop()
				return 0, nil, c.err
			}
			c.seen, c.next = e.seq, e.seq+1
			return e.seq, ev, nil
		}
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		if c.l.closed() || c.isClosed() {
			c.drop()
			return 0, nil, ledger.ErrClosed
		}
		if c.cons == nil {
			if err := c.open(ctx); err != nil {
				return 0, nil, err
			}
		}
		if c.batch == nil {
			if c.fails > 0 { // don't spin on a server that fails every pull
				select {
				case <-time.After(min(time.Duration(c.fails)*50*time.Millisecond, time.Second)):
				case <-ctx.Done():
					return 0, nil, ctx.Err()
				case <-c.l.done:
					return 0, nil, ledger.ErrClosed
				case <-c.stop:
					return 0, nil, ledger.ErrClosed
				}
			}
			b, err := c.cons.Fetch(fetchBatch, jetstream.FetchMaxWait(fetchWait), jetstream.FetchHeartbeat(fetchBeat))
			if err != nil {
				c.fails++
				c.drop()
				if c.l.closed() {
					return 0, nil, ledger.ErrClosed
				}
				return 0, nil, c.l.fail("read", err)
			}
			c.batch = b
		}
		select {
		case m, ok := <-c.batch.Messages():
			if !ok {
				err := c.batch.Error()
				c.batch = nil
				if err != nil {
					// The consumer is gone (deleted with its stream, lapsed,
					// or lost in a server restart) or the server is: make
					// a new one, which checks the stream's identity.
					c.fails++
					c.cons = nil
				}
				continue
			}
			c.fails = 0
			if err := c.take(m); err != nil {
				return 0, nil, err
			}
		case <-ctx.Done():
			return 0, nil, ctx.Err()
		case <-c.l.done:
			c.drop()
			return 0, nil, ledger.ErrClosed
		case <-c.stop:
			c.drop()
			return 0, nil, ledger.ErrClosed
		}
	}
}

func (c *cursor) isClosed() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// take checks that m holds the events from c.next on, and queues them.
// It skips a message wholly before c.next that comes before anything was
// delivered: a cursor reading from past the tail gets a consumer that
// starts at the tail, and a packed message can hold positions before the
// first one asked for.
func (c *cursor) take(m jetstream.Msg) error {
	md, err := m.Metadata()
	if err != nil {
		return c.l.fail("read", err)
	}
	var first ledger.Seq
	var recs [][]byte
	if c.l.pack != nil {
		var n int
		first, n, err = packHeader(m.Headers())
		if err == nil {
			recs, err = unpack(m.Data(), n)
		}
		if err != nil {
			c.err = fmt.Errorf("calibrated: ledger %s: message %d: %w", c.l.name, md.Sequence.Stream, err)
			c.drop()
			return c.err
		}
	} else {
		first, recs = ledger.Seq(md.Sequence.Stream), [][]byte{m.Data()}
	}
	c.streamNext, c.seenStream = md.Sequence.Stream+1, md.Sequence.Stream
	last := first + ledger.Seq(len(recs)) - 1
	var what string
	switch {
	case first > c.next:
		what = fmt.Sprintf("stream %s skips from %d to %d: messages deleted", c.l.name, c.next-1, first)
	case c.seen >= first:
		what = fmt.Sprintf("stream %s went back from %d to %d: rewound or recreated", c.l.name, c.seen, first)
	case last < c.next:
		return nil
	default:
		for i, r := range recs[c.next-first:] {
			c.pend = append(c.pend, pending{c.next + ledger.Seq(i), r})
		}
		return nil
	}
	if _, ierr := c.l.info(context.Background(), c.next); errors.Is(ierr, ledger.ErrHistory) {
		var h *ledger.HistoryError
		if errors.As(ierr, &h) {
			what += "; " + h.What
		}
	}
	c.err = &ledger.HistoryError{Log: c.l.name, Expected: c.next, Got: first, What: what}
	c.drop()
	return c.err
}

// Close implements [ledger.Cursor]. It deletes the cursor's consumer.
// A Next that is waiting returns [ledger.ErrClosed].
func (c *cursor) Close() error {
	c.once.Do(func() {
		close(c.stop)
		if c.mu.TryLock() { // else the waiting Next deletes it
			c.drop()
			c.mu.Unlock()
		}
	})
	return nil
}
