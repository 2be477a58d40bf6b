package ledger

import (
	"context"
	"sync"
	"time"
)

// readIndex shares the log's tail among concurrent Syncs (DESIGN §4, the
// read index). A Sync must learn a tail read after it began: one read
// before might miss an append acknowledged in between. So a Sync that
// arrives while a tail read is on its way waits for the next one, which
// starts as soon as that read returns and serves everyone who arrived
// meanwhile: under load, one round trip to a remote log serves many reads.
type readIndex struct {
	mu       sync.Mutex
	inflight bool
	next     *tailRead // for those who arrived while a read was on its way
}

type tailRead struct {
	done chan struct{}
	seq  Seq
	err  error
}

// tailTimeout bounds one tail read, which serves several callers and so
// runs under none of their contexts.
const tailTimeout = 10 * time.Second

// tail returns a position of the log's tail read after the call began.
func (c *Calibrator) tail(ctx context.Context) (Seq, error) {
	ri := &c.ri
	ri.mu.Lock()
	r := ri.next
	if r == nil {
		r = &tailRead{done: make(chan struct{})}
		ri.next = r
	}
	if !ri.inflight {
		ri.inflight, ri.next = true, nil
		go c.readTails(r)
	}
	ri.mu.Unlock()
	select {
	case <-r.done:
		return r.seq, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// readTails reads the tail for r, then for whoever queued meanwhile, until
// nobody waits.
func (c *Calibrator) readTails(r *tailRead) {
	ri := &c.ri
	for {
		ctx, cancel := context.WithTimeout(context.Background(), tailTimeout)
		r.seq, r.err = c.log.Tail(ctx)
		cancel()
		close(r.done)
		ri.mu.Lock()
		if r = ri.next; r == nil {
			ri.inflight = false
			ri.mu.Unlock()
			return
		}
		ri.next = nil
		ri.mu.Unlock()
	}
}
