package filelog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/ledger/ledgertest"
)

func open(t *testing.T, dir string, opts ...Option) *Log {
	t.Helper()
	l, err := Open(dir, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestLog(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Log { return open(t, t.TempDir()) })
}

// TestLogSmallSegments runs the suite with a segment per few records, so
// that every read and the concurrent appends cross segment boundaries.
func TestLogSmallSegments(t *testing.T) {
	ledgertest.Run(t, func(t *testing.T) ledger.Log { return open(t, t.TempDir(), SegmentSize(300)) })
}

func TestDurable(t *testing.T) {
	ledgertest.RunDurable(t, func(t *testing.T, dir string) ledger.Log { return open(t, dir) })
}

func TestDurableSmallSegments(t *testing.T) {
	ledgertest.RunDurable(t, func(t *testing.T, dir string) ledger.Log { return open(t, dir, SegmentSize(1)) })
}

func bg() context.Context { return context.Background() }

func appendEvents(t *testing.T, l *Log, evs []*ledger.Event) {
	t.Helper()
	for _, ev := range evs {
		if _, err := l.Append(bg(), ev); err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
}

// checkEvents reads from..Tail and checks each event against want[seq-1].
func checkEvents(t *testing.T, l *Log, from ledger.Seq, want []*ledger.Event) {
	t.Helper()
	tail, err := l.Tail(bg())
	if err != nil {
		t.Fatal(err)
	}
	if tail != ledger.Seq(len(want)) {
		t.Fatalf("Tail = %d, want %d", tail, len(want))
	}
	cur, err := l.Read(bg(), from)
	if err != nil {
		t.Fatalf("Read(%d): %v", from, err)
	}
	defer cur.Close()
	for s := from; s <= tail; s++ {
		got, ev, err := cur.Next(bg())
		if err != nil {
			t.Fatalf("Next at %d: %v", s, err)
		}
		if got != s || !ledgertest.Equal(ev, want[s-1]) {
			t.Fatalf("seq %d: got seq %d %+v, want %+v", s, got, ev, want[s-1])
		}
	}
}

func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	segs, err := listSegments(dir)
	if err != nil || len(segs) == 0 {
		t.Fatalf("no segments in %s: %v", dir, err)
	}
	return segs[len(segs)-1].path
}

func size(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// TestTornTail damages the end of the last segment the ways a crash can,
// and checks that Open keeps every complete event, cuts the rest, and that
// appends continue where the complete events end.
func TestTornTail(t *testing.T) {
	extra := &ledger.Event{Type: ledger.Write, Origin: "torn", Req: 7,
		Stmts: []ledger.Stmt{{SQL: "INSERT INTO t VALUES ($1)", Args: []any{strings.Repeat("x", 100)}}}}
	cases := []struct {
		name   string
		damage func(rec []byte) []byte // what is left at the end, given the full record of extra
	}{
		{"half a record", func(rec []byte) []byte { return rec[:len(rec)/2] }},
		{"header only", func(rec []byte) []byte { return rec[:recHeader] }},
		{"part of the header", func(rec []byte) []byte { return rec[:3] }},
		{"all but the last byte", func(rec []byte) []byte { return rec[:len(rec)-1] }},
		{"bad checksum", func(rec []byte) []byte {
			rec[len(rec)-1] ^= 1
			return rec
		}},
		{"zeros", func([]byte) []byte { return make([]byte, 4096) }},
		{"garbage", func([]byte) []byte { return []byte("\xde\xad\xbe\xef garbage after a crash") }},
		{"huge length", func([]byte) []byte { return []byte{0xf0, 0xff, 0xff, 0x0f, 1, 2, 3, 4, 5} }},
		{"complete record then garbage", func(rec []byte) []byte { return append(rec, 0xff, 0xff) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := open(t, dir)
			want := ledgertest.Events()
			appendEvents(t, l, want)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			path := lastSegment(t, dir)
			good := size(t, path)
			p, err := ledger.EncodeEvent(extra)
			if err != nil {
				t.Fatal(err)
			}
			tail := tc.damage(appendRecord(nil, p))
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.Write(tail); err != nil {
				t.Fatal(err)
			}
			_ = f.Close()

			l = open(t, dir)
			complete := tc.name == "complete record then garbage"
			if complete {
				want = append(want, extra)
				good += int64(recHeader + len(p))
			}
			if got := size(t, path); got != good {
				t.Errorf("segment is %d bytes after recovery, want %d", got, good)
			}
			checkEvents(t, l, 1, want)
			next := &ledger.Event{Type: ledger.Tick, Req: 99}
			if s, err := l.Append(bg(), next); err != nil || s != ledger.Seq(len(want)+1) {
				t.Fatalf("Append after recovery = %d, %v; want %d", s, err, len(want)+1)
			}
			want = append(want, next)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			checkEvents(t, open(t, dir), 1, want)
		})
	}
}

// TestTornSegmentHeader: a crash while a new segment is being created
// leaves a short file; it holds no events and is reused.
func TestTornSegmentHeader(t *testing.T) {
	for _, junk := range [][]byte{nil, []byte("cal"), make([]byte, headerSize)} {
		t.Run(fmt.Sprintf("%d bytes", len(junk)), func(t *testing.T) {
			dir := t.TempDir()
			l := open(t, dir)
			want := ledgertest.Events()
			appendEvents(t, l, want)
			_ = l.Close()
			next := ledger.Seq(len(want) + 1)
			if err := os.WriteFile(filepath.Join(dir, segName(next)), junk, 0o600); err != nil {
				t.Fatal(err)
			}
			l = open(t, dir)
			checkEvents(t, l, 1, want)
			if s, err := l.Append(bg(), &ledger.Event{Type: ledger.Tick}); err != nil || s != next {
				t.Fatalf("Append = %d, %v; want %d", s, err, next)
			}
			if got := lastSegment(t, dir); got != filepath.Join(dir, segName(next)) {
				t.Fatalf("last segment %s", got)
			}
		})
	}
}

// TestCorruptSealedSegment: damage before the tail is not a crash's doing
// and is not repaired; reading it fails with ErrCorrupt.
func TestCorruptSealedSegment(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, SegmentSize(1))
	appendEvents(t, l, ledgertest.Events())
	_ = l.Close()
	segs, err := listSegments(dir)
	if err != nil || len(segs) < 3 {
		t.Fatalf("%d segments, %v", len(segs), err)
	}
	f, err := os.OpenFile(segs[1].path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte{0xff}, size(t, segs[1].path)-1); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	l = open(t, dir)
	cur, err := l.Read(bg(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	if _, _, err := cur.Next(bg()); err != nil {
		t.Fatalf("first event: %v", err)
	}
	if _, _, err := cur.Next(bg()); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("reading the damaged record: %v; want ErrCorrupt", err)
	}
	// And a garbled header of a sealed segment stops Open.
	_ = l.Close()
	if err := os.WriteFile(segs[0].path, []byte("not a segment at all, but long enough"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open with a garbled segment: %v; want ErrCorrupt", err)
	}
}

func TestMissingID(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir)
	appendEvents(t, l, ledgertest.Events()[:1])
	_ = l.Close()
	if err := os.Remove(filepath.Join(dir, idFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open without ID but with events: %v; want ErrCorrupt", err)
	}
}

func TestTrim(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, SegmentSize(200))
	var want []*ledger.Event
	for i := range 100 {
		want = append(want, &ledger.Event{Type: ledger.Write, Origin: "o", Req: uint64(i + 1),
			Stmts: []ledger.Stmt{{SQL: "UPDATE t SET a = $1", Args: []any{int64(i)}}}})
	}
	appendEvents(t, l, want)
	if l.First() != 1 {
		t.Fatalf("First before Trim = %d", l.First())
	}
	early, err := l.Read(bg(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()
	if s, _, err := early.Next(bg()); err != nil || s != 1 {
		t.Fatalf("Next = %d, %v", s, err)
	}
	before, _ := listSegments(dir)

	if err := l.Trim(0); err != nil || l.First() != 1 {
		t.Fatalf("Trim(0) = %v, First %d", err, l.First())
	}
	if err := l.Trim(50); err != nil {
		t.Fatal(err)
	}
	first := l.First()
	if first <= 1 || first > 50 {
		t.Fatalf("First after Trim(50) = %d; want in 2..50", first)
	}
	after, _ := listSegments(dir)
	if after[0].base != first || len(after) >= len(before) {
		t.Fatalf("segments after Trim(50) start at %d (%d of %d left); First is %d", after[0].base, len(after), len(before), first)
	}
	for _, s := range before {
		if _, err := os.Stat(s.path); (err == nil) != (s.base >= first) {
			t.Errorf("segment %d: stat %v, First %d", s.base, err, first)
		}
	}
	checkEvents(t, l, first, want)
	for _, from := range []ledger.Seq{0, 1, first - 1} {
		if _, err := l.Read(bg(), from); !errors.Is(err, ErrTrimmed) {
			t.Errorf("Read(%d) after Trim: %v; want ErrTrimmed", from, err)
		}
	}
	if _, _, err := early.Next(bg()); !errors.Is(err, ErrTrimmed) {
		t.Errorf("Next of a cursor in a trimmed segment: %v; want ErrTrimmed", err)
	}

	// The segment being written stays, whatever before says.
	if err := l.Trim(1 << 40); err != nil {
		t.Fatal(err)
	}
	first = l.First()
	if first > 100 || len(mustList(t, dir)) != 1 {
		t.Fatalf("after Trim(all): First %d, %d segments", first, len(mustList(t, dir)))
	}
	checkEvents(t, l, first, want)
	id := l.ID()
	if s, err := l.Append(bg(), &ledger.Event{Type: ledger.Tick}); err != nil || s != 101 {
		t.Fatalf("Append after Trim = %d, %v", s, err)
	}
	_ = l.Close()
	if err := l.Trim(1); !errors.Is(err, ledger.ErrClosed) {
		t.Errorf("Trim after Close: %v", err)
	}

	l = open(t, dir, SegmentSize(200))
	if l.First() != first || l.ID() != id {
		t.Fatalf("after reopen: First %d ID %s; want %d %s", l.First(), l.ID(), first, id)
	}
	if tail, _ := l.Tail(bg()); tail != 101 {
		t.Fatalf("Tail after reopen = %d", tail)
	}
	if _, err := l.Read(bg(), first-1); !errors.Is(err, ErrTrimmed) {
		t.Errorf("Read(%d) after reopen: %v; want ErrTrimmed", first-1, err)
	}
}

func mustList(t *testing.T, dir string) []segment {
	t.Helper()
	segs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	return segs
}

func TestTrimEverythingThenReopen(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, SegmentSize(1))
	appendEvents(t, l, ledgertest.Events())
	n := ledger.Seq(len(ledgertest.Events()))
	// Segment size 1: each append starts a segment, so the last segment
	// holds only the last event, and Trim keeps it.
	if err := l.Trim(n + 1); err != nil {
		t.Fatal(err)
	}
	if f := l.First(); f != n {
		t.Fatalf("First = %d, want %d", f, n)
	}
	_ = l.Close()
	l = open(t, dir, SegmentSize(1))
	if s, err := l.Append(bg(), &ledger.Event{Type: ledger.Tick}); err != nil || s != n+1 {
		t.Fatalf("Append = %d, %v; want %d", s, err, n+1)
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir)
	_, err := Open(dir)
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open in one process: %v; want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "this process") {
		t.Errorf("error %q does not say who holds the lock", err)
	}
	if code := lockHelper(t, dir); code != 3 {
		t.Fatalf("Open in another process while locked: exit %d, want 3 (ErrLocked)", code)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if code := lockHelper(t, dir); code != 0 {
		t.Fatalf("Open in another process after Close: exit %d, want 0", code)
	}
	l2 := open(t, dir)
	if l2.ID() != l.ID() {
		t.Fatalf("ID changed: %s, %s", l.ID(), l2.ID())
	}
}

// lockHelper runs TestLockHelper in a child process, which opens dir.
func lockHelper(t *testing.T, dir string) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), "FILELOG_LOCK_DIR="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	return 0
}

func TestLockHelper(t *testing.T) {
	dir := os.Getenv("FILELOG_LOCK_DIR")
	if dir == "" {
		t.Skip("run by TestLock in a child process")
	}
	l, err := Open(dir)
	switch {
	case errors.Is(err, ErrLocked):
		os.Exit(3)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	_ = l.Close()
	os.Exit(0)
}

func TestAppendBadArg(t *testing.T) {
	l := open(t, t.TempDir())
	_, err := l.Append(bg(), &ledger.Event{Stmts: []ledger.Stmt{{SQL: "x", Args: []any{42}}}})
	var ae *ledger.ArgError
	if !errors.As(err, &ae) {
		t.Fatalf("Append with an int argument: %v; want *ledger.ArgError", err)
	}
	if tail, _ := l.Tail(bg()); tail != 0 {
		t.Fatalf("Tail = %d after a refused append", tail)
	}
}

func TestGroupCommit(t *testing.T) {
	l := open(t, t.TempDir())
	const writers, each = 64, 10
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			<-start
			for range each {
				if _, err := l.Append(bg(), &ledger.Event{Type: ledger.Tick}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	n, syncs := int64(writers*each), l.syncs.Load()
	t.Logf("%d appends, %d fsyncs", n, syncs)
	if syncs > n/2 {
		t.Errorf("%d fsyncs for %d concurrent appends; want them shared", syncs, n)
	}
}

// TestWriteFailure: after a failed write the log refuses appends with the
// cause, instead of writing after what may be a partial record.
func TestWriteFailure(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir)
	want := ledgertest.Events()
	appendEvents(t, l, want)
	_ = l.active.Close() // the writer is idle: every Append has returned
	_, err := l.Append(bg(), &ledger.Event{Type: ledger.Tick})
	if err == nil || !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Append on a broken file: %v; want the write error", err)
	}
	if _, err2 := l.Append(bg(), &ledger.Event{Type: ledger.Tick}); !errors.Is(err2, os.ErrClosed) {
		t.Fatalf("Append after a failed write: %v; want the same error", err2)
	}
	checkEvents(t, l, 1, want)
	_ = l.Close()
	l = open(t, dir)
	checkEvents(t, l, 1, want)
}

func TestBadOptions(t *testing.T) {
	if _, err := Open(t.TempDir(), SegmentSize(0)); err == nil || !strings.Contains(err.Error(), "segment size") {
		t.Fatalf("SegmentSize(0): %v", err)
	}
}

func benchEvent() *ledger.Event {
	return &ledger.Event{Type: ledger.Write, Origin: "bench/1", Req: 1,
		Keys:  []ledger.Key{ledger.RowKey("accounts", "42")},
		Stmts: []ledger.Stmt{{SQL: "UPDATE accounts SET balance = balance + $1 WHERE id = $2", Args: []any{int64(10), int64(42)}}}}
}

func BenchmarkAppend(b *testing.B) {
	l, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ev := benchEvent()
	for b.Loop() {
		if _, err := l.Append(bg(), ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/float64(l.syncs.Load()), "appends/fsync")
}

// BenchmarkAppendParallel appends from 32 goroutines per CPU: group commit
// turns them into a few large fsyncs.
func BenchmarkAppendParallel(b *testing.B) {
	l, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ev := benchEvent()
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(bg(), ev); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/float64(l.syncs.Load()), "appends/fsync")
}
