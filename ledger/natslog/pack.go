package natslog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/calibrated/calibrated/ledger"
)

// A packed stream holds several events per message, so that one
// acknowledgement, and one fsync on a server that syncs every write,
// covers every Append that arrived while the previous message was on its
// way (group commit). Its messages carry their first position in a
// header, and each is published only if the stream's last sequence is the
// one the writer knows (Nats-Expected-Last-Sequence): a writer that lost a
// race to another process reads the new last message and tries again with
// the positions after it, so positions stay dense across processes.
const (
	packedDescription = "calibrated ledger, packed v1"
	hdrFirst          = "Calibrated-First" // the position of the message's first event
	hdrCount          = "Calibrated-Count" // how many events it holds
)

// packBatch is the appends that one message carries.
type packBatch struct {
	recs  [][]byte
	size  int
	first ledger.Seq // the position of recs[0], once done
	err   error
	done  chan struct{}
}

// packer is the writer of a packed stream.
type packer struct {
	l        *Log
	maxCount int
	maxBytes int

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []*packBatch // waiting, oldest first
	closing bool
	stopped chan struct{}

	// The writer's view of the stream, owned by run.
	known      bool // lastStream and lastLedger are known to be the stream's
	lastStream uint64
	lastLedger ledger.Seq
	batches    uint64
	conflicts  atomic.Int64 // publishes that lost a race to another writer
}

func newPacker(l *Log, maxCount int) *packer {
	p := &packer{l: l, maxCount: maxCount, maxBytes: int(l.nc.MaxPayload()) - 4096, stopped: make(chan struct{})}
	p.cond = sync.NewCond(&p.mu)
	go p.run()
	return p
}

// add queues rec and returns its batch and index in it.
func (p *packer) add(rec []byte) (*packBatch, int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		return nil, 0, ledger.ErrClosed
	}
	var b *packBatch
	if n := len(p.queue); n > 0 {
		b = p.queue[n-1]
		if len(b.recs) >= p.maxCount || b.size+len(rec)+binary.MaxVarintLen64 > p.maxBytes {
			b = nil
		}
	}
	if b == nil {
		b = &packBatch{done: make(chan struct{})}
		p.queue = append(p.queue, b)
		p.cond.Signal()
	}
	b.recs = append(b.recs, rec)
	b.size += len(rec) + binary.MaxVarintLen64
	return b, len(b.recs) - 1, nil
}

func (p *packer) close() {
	p.mu.Lock()
	p.closing = true
	p.cond.Broadcast()
	p.mu.Unlock()
	<-p.stopped
}

func (p *packer) run() {
	defer close(p.stopped)
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closing {
			p.cond.Wait()
		}
		if len(p.queue) == 0 {
			p.mu.Unlock()
			return
		}
		b := p.queue[0]
		p.queue = p.queue[1:]
		closing := p.closing
		p.mu.Unlock()
		if closing {
			b.err = ledger.ErrClosed
		} else {
			b.first, b.err = p.publish(b)
		}
		close(b.done)
	}
}

// publish sends b as one message at the positions after the stream's
// last, and returns the first.
func (p *packer) publish(b *packBatch) (ledger.Seq, error) {
	l := p.l
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.timeout)
	defer cancel()
	body := make([]byte, 0, b.size)
	for _, r := range b.recs {
		body = binary.AppendUvarint(body, uint64(len(r)))
		body = append(body, r...)
	}
	p.batches++
	id := l.msgID + "b" + strconv.FormatUint(p.batches, 36)
	for {
		if err := l.ready("append"); err != nil {
			p.known = false
			return 0, err
		}
		if !p.known {
			if err := p.refresh(ctx); err != nil {
				return 0, err
			}
		}
		first := p.lastLedger + 1
		msg := &nats.Msg{Subject: l.subject, Data: body, Header: nats.Header{}}
		msg.Header.Set(hdrFirst, strconv.FormatUint(uint64(first), 10))
		msg.Header.Set(hdrCount, strconv.Itoa(len(b.recs)))
		ack, resent, err := l.publish(ctx, msg, id, jetstream.WithExpectLastSequence(p.lastStream))
		if err == nil {
			p.lastStream, p.lastLedger = ack.Sequence, first+ledger.Seq(len(b.recs))-1
			return first, nil
		}
		after := p.lastStream
		p.known = false
		if errors.Is(err, ledger.ErrClosed) {
			return 0, err
		}
		if !wrongLastSeq(err) {
			return 0, l.fail("append", err)
		}
		if resent {
			// The server checks the expected last sequence before it looks
			// for duplicates, so a copy stored by an earlier try whose
			// acknowledgement was lost also looks like a lost race: look
			// for it among the messages after the one we knew.
			if seq, f, found, err := p.find(ctx, after, id); err != nil {
				return 0, err
			} else if found {
				p.lastStream, p.lastLedger, p.known = seq, f+ledger.Seq(len(b.recs))-1, true
				return f, nil
			}
		}
		// Another process appended first: read its message and go after it.
		p.conflicts.Add(1)
	}
}

func wrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// find looks for the message with id among those after stream sequence
// after, and returns its sequence and first position.
func (p *packer) find(ctx context.Context, after uint64, id string) (uint64, ledger.Seq, bool, error) {
	l := p.l
	info, err := l.info(ctx, 0)
	if err != nil {
		return 0, 0, false, err
	}
	for seq := after + 1; seq <= info.State.LastSeq; seq++ {
		m, err := l.stream.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, 0, false, l.fail("append", err)
		}
		if m.Header.Get(jetstream.MsgIDHeader) == id {
			f, _, err := packHeader(m.Header)
			return seq, f, err == nil, err
		}
	}
	return 0, 0, false, nil
}

// refresh reads the stream's last message, and so the last position.
func (p *packer) refresh(ctx context.Context) error {
	last, stream, err := p.l.lastPacked(ctx)
	if err != nil {
		return err
	}
	p.lastStream, p.lastLedger, p.known = stream, last, true
	return nil
}

// lastPacked returns the last position of a packed stream and the stream
// sequence of the message that holds it, in one round trip.
func (l *Log) lastPacked(ctx context.Context) (ledger.Seq, uint64, error) {
	rctx, cancel := l.bound(ctx)
	defer cancel()
	m, err := l.stream.GetLastMsgForSubject(rctx, l.subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, 0, nil // empty
	}
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return 0, 0, &ledger.HistoryError{Log: l.name, What: fmt.Sprintf("stream %s deleted", l.name)}
	}
	if err != nil {
		if l.closed() {
			return 0, 0, ledger.ErrClosed
		}
		return 0, 0, l.fail("last message", err)
	}
	first, count, err := packHeader(m.Header)
	if err != nil {
		return 0, 0, fmt.Errorf("calibrated: ledger %s: message %d: %w", l.name, m.Sequence, err)
	}
	return first + ledger.Seq(count) - 1, m.Sequence, nil
}

func packHeader(h nats.Header) (ledger.Seq, int, error) {
	f, err1 := strconv.ParseUint(h.Get(hdrFirst), 10, 64)
	n, err2 := strconv.Atoi(h.Get(hdrCount))
	if err1 != nil || err2 != nil || f == 0 || n < 1 {
		return 0, 0, fmt.Errorf("not a packed ledger message: %s %q, %s %q", hdrFirst, h.Get(hdrFirst), hdrCount, h.Get(hdrCount))
	}
	return ledger.Seq(f), n, nil
}

// unpack splits a packed message into its events' encodings.
func unpack(data []byte, count int) ([][]byte, error) {
	recs := make([][]byte, 0, count)
	for len(data) > 0 {
		n, k := binary.Uvarint(data)
		if k <= 0 || n > uint64(len(data)-k) {
			return nil, errors.New("malformed packed message")
		}
		recs = append(recs, data[k:k+int(n)])
		data = data[k+int(n):]
	}
	if len(recs) != count {
		return nil, fmt.Errorf("packed message holds %d events; its header says %d", len(recs), count)
	}
	return recs, nil
}

// findPacked returns the stream sequence of the message that holds
// position from, or the sequence after the last message if from is past
// the tail: a binary search over the messages' first positions, which
// grow with their stream sequences and are never smaller than them.
func (l *Log) findPacked(ctx context.Context, from ledger.Seq) (uint64, error) {
	info, err := l.info(ctx, from)
	if err != nil {
		return 0, err
	}
	lo, hi := info.State.FirstSeq, min(info.State.LastSeq, uint64(from))
	if info.State.Msgs == 0 || lo > hi {
		return info.State.LastSeq + 1, nil
	}
	firstOf := func(seq uint64) (ledger.Seq, int, error) {
		rctx, cancel := l.bound(ctx)
		defer cancel()
		m, err := l.stream.GetMsg(rctx, seq)
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				return 0, 0, nil // deleted: the cursor finds the gap
			}
			return 0, 0, l.fail("read", err)
		}
		return packHeader(m.Header)
	}
	// The last message whose first position is at most from.
	ans := lo
	for lo <= hi {
		mid := lo + (hi-lo)/2
		// A deleted message has no header: probe the nearest one below.
		at, f := mid, ledger.Seq(0)
		for ; at >= lo; at-- {
			if f, _, err = firstOf(at); err != nil {
				return 0, err
			}
			if f != 0 {
				break
			}
		}
		switch {
		case f == 0: // none left in lo..mid
			lo = mid + 1
		case f <= from:
			ans, lo = at, mid+1
		default:
			hi = at - 1
		}
	}
	f, n, err := firstOf(ans)
	if err != nil {
		return 0, err
	}
	if f != 0 && from > f+ledger.Seq(n)-1 && ans == info.State.LastSeq {
		return ans + 1, nil // past the tail
	}
	return ans, nil
}
