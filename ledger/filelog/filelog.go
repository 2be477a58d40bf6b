// Package filelog is the ledger on local disk (ledger=file:///path/dir): an
// append-only log of segment files in one directory, for one process.
//
// Append returns once its event is on disk (fsync). Appends that arrive
// while an fsync is under way are written and synced together by the next
// one (group commit), so throughput grows with the number of concurrent
// appenders while each still waits for no more than about two fsyncs.
//
// On Open, a record torn by a crash in the middle of a write is found by
// its length and CRC-32C and cut off; it was never acknowledged. A lock on
// the directory (flock) keeps a second process, or a second Open in the same
// process, out until Close. The directory and its files are created private
// to the user (0700, 0600): events hold statement arguments.
package filelog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/calibrated/calibrated/ledger"
)

var _ ledger.Log = (*Log)(nil)

// DefaultSegmentSize is the size at which a segment is sealed and the next
// one begins, unless [SegmentSize] says otherwise.
const DefaultSegmentSize = 64 << 20

// maxRecord bounds one encoded event.
const maxRecord = 256 << 20

var (
	// ErrTrimmed is wrapped by the error of a read from a position that
	// [Log.Trim] has dropped: [ledger.ErrTrimmed].
	ErrTrimmed = ledger.ErrTrimmed
	// ErrLocked is wrapped by the error of [Open] when another process, or
	// another Log in this one, has the directory open.
	ErrLocked = errors.New("calibrated: ledger directory in use")
	// ErrCorrupt is wrapped by errors about files that are damaged other
	// than by a torn tail, which Open repairs.
	ErrCorrupt = errors.New("calibrated: ledger file corrupt")
)

// Option configures [Open].
type Option func(*config) error

type config struct {
	segmentSize int64
}

// SegmentSize sets the size in bytes at which a segment is sealed and a new
// one begins (default [DefaultSegmentSize]). [Log.Trim] drops whole
// segments, so smaller segments trim finer.
func SegmentSize(bytes int64) Option {
	return func(c *config) error {
		if bytes <= 0 {
			return fmt.Errorf("calibrated: ledger segment size %d; want a positive number of bytes", bytes)
		}
		c.segmentSize = bytes
		return nil
	}
}

// Log is a [ledger.Log] stored in a directory. Its methods are safe for
// concurrent use.
type Log struct {
	dir  string
	id   string
	cfg  config
	lock *os.File

	// The writer's state, owned by the writer goroutine.
	active      *os.File // the last segment, open for appending
	activeSize  int64
	activeCount int        // records in the active segment
	next        ledger.Seq // the Seq the next record gets
	wbuf        []byte

	// The queue of appends, guarded by qmu.
	qmu        sync.Mutex
	qcond      *sync.Cond // signalled when the queue gains its first append, or on Close
	pending    *batch     // appends waiting for the next write
	closing    bool
	failed     error // a write or fsync failed: no more appends
	writerDone chan struct{}

	// What readers see, guarded by mu.
	mu        sync.Mutex
	segs      []segment  // in order; the last is the active one
	committed ledger.Seq // the last durable Seq
	grew      chan struct{}
	closed    bool

	syncs atomic.Int64 // batches written, for tests and benchmarks of group commit

	trimMu    sync.Mutex
	closeOnce sync.Once
	closeErr  error
}

// batch is the appends that one write and one fsync make durable.
type batch struct {
	recs  [][]byte   // encoded events
	first ledger.Seq // the Seq of recs[0], once done
	err   error
	done  chan struct{} // closed when first or err is set
}

func newBatch() *batch { return &batch{done: make(chan struct{})} }

// Open opens the log in dir, creating dir and an empty log with a new
// identity if there is none. It repairs a torn tail left by a crash. The
// log stays locked until [Log.Close].
func Open(dir string, opts ...Option) (*Log, error) {
	cfg := config{segmentSize: DefaultSegmentSize}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("calibrated: ledger directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	l := &Log{dir: dir, cfg: cfg, lock: lock, pending: newBatch(), writerDone: make(chan struct{}), grew: make(chan struct{})}
	l.qcond = sync.NewCond(&l.qmu)
	if err := l.load(); err != nil {
		if l.active != nil {
			_ = l.active.Close()
		}
		_ = unlockDir(lock)
		return nil, fmt.Errorf("calibrated: opening ledger %s: %w", dir, err)
	}
	go l.run()
	return l, nil
}

// load reads the identity and the segments, repairs the tail and opens the
// active segment.
func (l *Log) load() error {
	segs, err := listSegments(l.dir)
	if err != nil {
		return err
	}
	if l.id, err = loadID(l.dir, len(segs) > 0); err != nil {
		return err
	}
	if len(segs) == 0 {
		seg, f, err := createSegment(l.dir, 1)
		if err != nil {
			return err
		}
		l.segs, l.active, l.activeSize, l.next = []segment{seg}, f, headerSize, 1
		return nil
	}
	for _, s := range segs[:len(segs)-1] {
		if err := checkSealed(s); err != nil {
			return err
		}
	}
	last := segs[len(segs)-1]
	count, size, err := recoverTail(last)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(last.path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	l.segs, l.active, l.activeSize, l.activeCount = segs, f, size, count
	l.next = last.base + ledger.Seq(count)
	l.committed = l.next - 1
	return nil
}

func checkSealed(s segment) error {
	f, err := os.Open(s.path)
	if err != nil {
		return err
	}
	defer f.Close()
	h, err := newSegReader(f).peek(headerSize)
	if err == nil {
		err = checkHeader(h, s.base)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", s.path, err)
	}
	return nil
}

// loadID reads the log's identity, or creates it for a new log.
func loadID(dir string, haveSegments bool) (string, error) {
	path := filepath.Join(dir, idFile)
	b, err := os.ReadFile(path)
	if err == nil {
		id := strings.TrimSpace(string(b))
		if id == "" {
			return "", fmt.Errorf("%w: %s is empty", ErrCorrupt, path)
		}
		return id, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if haveSegments {
		return "", fmt.Errorf("%w: segments but no %s", ErrCorrupt, path)
	}
	var r [16]byte
	_, _ = rand.Read(r[:])
	id := "file-" + hex.EncodeToString(r[:])
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(id + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return "", err
	}
	return id, nil
}

// createSegment creates the segment that starts at base, durably, before
// any record goes into it.
func createSegment(dir string, base ledger.Seq) (segment, *os.File, error) {
	seg := segment{base: base, path: filepath.Join(dir, segName(base))}
	f, err := os.OpenFile(seg.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return seg, nil, err
	}
	_, err = f.Write(segHeader(base))
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		_ = f.Close()
		return seg, nil, err
	}
	return seg, f, nil
}

// ID implements [ledger.Log]. It is created with the log and kept in the
// directory's ID file.
func (l *Log) ID() string { return l.id }

// Append implements [ledger.Log]. ctx is checked before the event is queued;
// once queued, Append waits for the fsync whatever ctx does, so that an
// error always means the event was not acknowledged. After a write or fsync
// error the log refuses appends until it is reopened, and whether the
// failed events are in the log is then unknown.
func (l *Log) Append(ctx context.Context, ev *ledger.Event) (ledger.Seq, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	p, err := ledger.EncodeEvent(ev)
	if err != nil {
		return 0, err
	}
	if len(p) > maxRecord {
		return 0, fmt.Errorf("calibrated: ledger event of %d bytes; the limit is %d", len(p), maxRecord)
	}
	l.qmu.Lock()
	if l.closing {
		l.qmu.Unlock()
		return 0, ledger.ErrClosed
	}
	if l.failed != nil {
		err := l.failed
		l.qmu.Unlock()
		return 0, err
	}
	b := l.pending
	i := len(b.recs)
	b.recs = append(b.recs, p)
	if i == 0 {
		l.qcond.Signal()
	}
	l.qmu.Unlock()
	<-b.done
	if b.err != nil {
		return 0, b.err
	}
	return b.first + ledger.Seq(i), nil
}

// run is the writer: it takes everything queued, writes it with one write
// and one fsync, and meanwhile the next batch queues up.
func (l *Log) run() {
	defer close(l.writerDone)
	for {
		l.qmu.Lock()
		for len(l.pending.recs) == 0 && !l.closing {
			l.qcond.Wait()
		}
		b := l.pending
		if len(b.recs) == 0 { // closing, and nothing left to write
			l.qmu.Unlock()
			return
		}
		l.pending = newBatch()
		failed := l.failed
		l.qmu.Unlock()

		if failed != nil {
			b.err = failed
		} else if err := l.write(b.recs); err != nil {
			b.err = fmt.Errorf("calibrated: ledger write failed; reopen the ledger: %w", err)
			l.qmu.Lock()
			l.failed = b.err
			l.qmu.Unlock()
		} else {
			b.first = l.next
			l.next += ledger.Seq(len(b.recs))
			l.mu.Lock()
			l.committed = l.next - 1
			close(l.grew)
			l.grew = make(chan struct{})
			l.mu.Unlock()
		}
		close(b.done)
	}
}

// write appends recs to the active segment, after sealing it if full, and
// syncs them.
func (l *Log) write(recs [][]byte) error {
	if l.activeCount > 0 && l.activeSize >= l.cfg.segmentSize {
		if err := l.roll(); err != nil {
			return err
		}
	}
	buf := l.wbuf[:0]
	for _, p := range recs {
		buf = appendRecord(buf, p)
	}
	if cap(buf) <= 4<<20 { // keep a buffer for the usual batch, not for a huge one
		l.wbuf = buf
	}
	if _, err := l.active.Write(buf); err != nil {
		// Leave no partial record for readers or the next write to trip
		// on; the log is failed anyway, and Open would cut it off too.
		_ = l.active.Truncate(l.activeSize)
		return err
	}
	if err := l.active.Sync(); err != nil {
		return err
	}
	l.syncs.Add(1)
	l.activeSize += int64(len(buf))
	l.activeCount += len(recs)
	return nil
}

// roll seals the active segment and starts the next one.
func (l *Log) roll() error {
	seg, f, err := createSegment(l.dir, l.next)
	if err != nil {
		return err
	}
	old := l.active
	l.active, l.activeSize, l.activeCount = f, headerSize, 0
	l.mu.Lock()
	l.segs = append(l.segs, seg)
	l.mu.Unlock()
	return old.Close()
}

// Tail implements [ledger.Log].
func (l *Log) Tail(ctx context.Context) (ledger.Seq, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ledger.ErrClosed
	}
	return l.committed, nil
}

// First returns the first Seq the log still holds: 1 until [Log.Trim]
// drops a segment. It is Tail+1 when nothing is retained.
func (l *Log) First() ledger.Seq {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.segs[0].base
}

// Trim drops the segments whose events all come before before, oldest
// first, so that a crash leaves the log contiguous. The segment being
// written to stays. Reads from a dropped position fail with [ErrTrimmed],
// also from cursors that were reading it.
func (l *Log) Trim(before ledger.Seq) error {
	l.trimMu.Lock()
	defer l.trimMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ledger.ErrClosed
	}
	k := sort.Search(len(l.segs)-1, func(i int) bool { return l.segs[i+1].base > before })
	drop := l.segs[:k]
	l.segs = append([]segment(nil), l.segs[k:]...)
	l.mu.Unlock()
	if len(drop) == 0 {
		return nil
	}
	for _, s := range drop {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("calibrated: trimming the ledger: %w", err)
		}
	}
	if err := syncDir(l.dir); err != nil {
		return fmt.Errorf("calibrated: trimming the ledger: %w", err)
	}
	return nil
}

// Read implements [ledger.Log]. from 0 reads from the start, as 1 does.
// Reading from before [Log.First] fails with [ErrTrimmed]. A cursor holds
// an open file: Close it when done.
func (l *Log) Read(ctx context.Context, from ledger.Seq) (ledger.Cursor, error) {
	from = max(from, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ledger.ErrClosed
	}
	if first := l.segs[0].base; from < first {
		return nil, trimmed(from, first)
	}
	return &cursor{l: l, next: from}, nil
}

func trimmed(s, first ledger.Seq) error {
	return fmt.Errorf("calibrated: ledger position %d is no longer held; the first is %d: %w", s, first, ErrTrimmed)
}

// Close implements [ledger.Log]. It waits for the appends already queued,
// then wakes waiting cursors with [ledger.ErrClosed] and unlocks the
// directory.
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		l.qmu.Lock()
		l.closing = true
		l.qcond.Broadcast()
		l.qmu.Unlock()
		<-l.writerDone

		l.mu.Lock()
		l.closed = true
		close(l.grew)
		l.mu.Unlock()
		l.closeErr = errors.Join(l.active.Close(), unlockDir(l.lock))
	})
	return l.closeErr
}
