// Package ledgertest is the conformance suite that every [ledger.Log]
// passes (DESIGN §4): the memory log, the file log and the remote logs.
//
//	func TestLog(t *testing.T) {
//		ledgertest.Run(t, func(t *testing.T) ledger.Log { return memlog.New() })
//	}
//
// Logs that outlive a process also run [RunDurable].
package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/calibrated/calibrated/ledger"
)

// wait bounds every blocking step, so a broken log fails instead of hanging.
const wait = 10 * time.Second

// quiet is how long a cursor must stay blocked to count as blocked.
const quiet = 50 * time.Millisecond

// Events returns fresh events that together set every field of
// [ledger.Event] and use every argument type, including nil, []byte(nil)
// next to []byte{}, and times in and out of UTC.
func Events() []*ledger.Event {
	stamp := time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)
	east := time.FixedZone("CET", 3600)
	return []*ledger.Event{
		{
			Type: ledger.Write, Stamp: stamp, Origin: "host-1/4242", Req: 1,
			Keys: []ledger.Key{ledger.RowKey("accounts", "7"), ledger.RowKey("accounts", "a,b", `c\d`)},
			Stmts: []ledger.Stmt{{
				SQL: "UPDATE accounts SET balance = balance + $1, note = $2, blob = $3, at = $4, ok = $5, rate = $6 WHERE id = $7",
				Args: []any{int64(-12), "naïve ☃", []byte{0, 1, 0xff}, stamp.Add(time.Nanosecond).In(east),
					true, 3.25, int64(math.MaxInt64)},
			}},
		},
		{
			Type: ledger.Write, Stamp: stamp.Add(time.Second), Origin: "host-1/4242", Req: 2, Reject: true,
			Keys: []ledger.Key{ledger.TableKey("t")},
			Stmts: []ledger.Stmt{
				{SQL: "INSERT INTO t VALUES ($1, $2, $3, $4) RETURNING id", Query: true,
					Args: []any{nil, []byte(nil), []byte{}, ""}},
				{SQL: "DELETE FROM t WHERE f = $1 OR f = $2 OR b = $3", Args: []any{false, math.Inf(-1), int64(math.MinInt64)}},
				{SQL: "SELECT 1"},
			},
		},
		{Type: ledger.Lock, Stamp: stamp.Add(2 * time.Second), Origin: "host-2/1", Req: 1, Tx: "tx-1", Lease: 30 * time.Second,
			Keys: []ledger.Key{ledger.All}},
		{Type: ledger.Commit, Stamp: stamp.Add(3 * time.Second), Origin: "host-2/1", Req: 2, Tx: "tx-1",
			Keys:  []ledger.Key{ledger.All},
			Stmts: []ledger.Stmt{{SQL: "CREATE TABLE u (id int)"}, {SQL: "INSERT INTO u VALUES ($1)", Args: []any{int64(0)}}}},
		{Type: ledger.Abort, Stamp: stamp.Add(4 * time.Second), Origin: "host-2/1", Req: 3, Tx: "tx-2"},
		{Type: ledger.Cancel, Stamp: stamp.Add(5 * time.Second), Origin: "host-1/4242", Req: 3, Target: 2},
		{
			Type: ledger.Applied, Stamp: stamp.Add(6 * time.Second), Origin: "host-1/4242", Backend: "b",
			Seqs: []ledger.Seq{1, 2, 4, 3, 1 << 40},
			Outcomes: []ledger.Outcome{{Rows: 1}, {Rows: -1, SQLState: "23505", Msg: "duplicate key"},
				{Skipped: true}, {}, {Rows: math.MaxInt64}},
		},
		{Type: ledger.State, Stamp: stamp.Add(7 * time.Second), Origin: "host-1/4242", Backend: "b", State: "down"},
		{Type: ledger.Tick, Stamp: time.Date(1969, 12, 31, 23, 59, 59, 1, time.FixedZone("", -7*3600))},
		{Type: ledger.Tick},
	}
}

// Normalize returns a deep copy of ev in a canonical form for comparison
// with [reflect.DeepEqual]: times (the stamp and time arguments) in UTC
// without a monotonic reading, so that equal instants compare equal, and
// empty slices as nil. []byte arguments are left alone: nil and empty
// differ there (NULL and an empty value).
func Normalize(ev *ledger.Event) *ledger.Event {
	if ev == nil {
		return nil
	}
	c := *ev
	c.Stamp = ev.Stamp.UTC()
	c.Keys = nil
	if len(ev.Keys) > 0 {
		c.Keys = append([]ledger.Key(nil), ev.Keys...)
	}
	c.Stmts = nil
	for _, s := range ev.Stmts {
		n := ledger.Stmt{SQL: s.SQL, Query: s.Query}
		for _, a := range s.Args {
			switch v := a.(type) {
			case time.Time:
				a = v.UTC()
			case []byte:
				if v != nil {
					a = append([]byte{}, v...)
				}
			}
			n.Args = append(n.Args, a)
		}
		c.Stmts = append(c.Stmts, n)
	}
	c.Seqs = nil
	if len(ev.Seqs) > 0 {
		c.Seqs = append([]ledger.Seq(nil), ev.Seqs...)
	}
	c.Outcomes = nil
	if len(ev.Outcomes) > 0 {
		c.Outcomes = append([]ledger.Outcome(nil), ev.Outcomes...)
	}
	return &c
}

// Equal reports whether a and b are the same event once normalised.
func Equal(a, b *ledger.Event) bool { return reflect.DeepEqual(Normalize(a), Normalize(b)) }

// Run runs the conformance suite against logs from open, which returns a
// new, empty log for each subtest. The suite closes the logs it opens.
func Run(t *testing.T, open func(t *testing.T) ledger.Log) {
	t.Helper()
	mk := func(t *testing.T) ledger.Log {
		t.Helper()
		l := open(t)
		t.Cleanup(func() { _ = l.Close() })
		return l
	}
	t.Run("Empty", func(t *testing.T) { testEmpty(t, mk(t)) })
	t.Run("DenseSeq", func(t *testing.T) { testDenseSeq(t, mk(t)) })
	t.Run("ReadFromAnyPosition", func(t *testing.T) { testReadFrom(t, mk(t)) })
	t.Run("BlocksAtTail", func(t *testing.T) { testBlocks(t, mk(t)) })
	t.Run("ContextCancel", func(t *testing.T) { testCancel(t, mk(t)) })
	t.Run("AppendDoneContext", func(t *testing.T) { testAppendDone(t, mk(t)) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, mk(t)) })
	t.Run("ID", func(t *testing.T) { testID(t, mk(t), mk(t)) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, mk(t)) })
	t.Run("Close", func(t *testing.T) { testClose(t, mk(t)) })
}

// RunDurable checks that a log survives Close and a reopen of the same
// directory: open(t, dir) opens (creating if need be) the log stored in dir.
// The suite closes the logs it opens.
func RunDurable(t *testing.T, open func(t *testing.T, dir string) ledger.Log) {
	t.Helper()
	mk := func(t *testing.T, dir string) ledger.Log {
		t.Helper()
		l := open(t, dir)
		t.Cleanup(func() { _ = l.Close() })
		return l
	}
	t.Run("Reopen", func(t *testing.T) { testReopen(t, mk) })
	t.Run("ReopenEmpty", func(t *testing.T) { testReopenEmpty(t, mk) })
	t.Run("DistinctIDs", func(t *testing.T) {
		a, b := mk(t, t.TempDir()), mk(t, t.TempDir())
		if a.ID() == "" || a.ID() == b.ID() {
			t.Fatalf("IDs of two new logs: %q and %q; want distinct and non-empty", a.ID(), b.ID())
		}
	})
}

// ctx returns a context that ends with the test, bounded by wait; each
// blocking step in the suite takes a fresh one from bounded instead.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return c
}

func bounded() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), wait)
}

func appendAll(t *testing.T, l ledger.Log, evs []*ledger.Event) []ledger.Seq {
	t.Helper()
	seqs := make([]ledger.Seq, len(evs))
	c := ctx(t)
	for i, ev := range evs {
		s, err := l.Append(c, ev)
		if err != nil {
			t.Fatalf("Append event %d: %v", i, err)
		}
		seqs[i] = s
	}
	return seqs
}

func read(t *testing.T, l ledger.Log, from ledger.Seq) ledger.Cursor {
	t.Helper()
	cur, err := l.Read(ctx(t), from)
	if err != nil {
		t.Fatalf("Read(%d): %v", from, err)
	}
	t.Cleanup(func() { _ = cur.Close() })
	return cur
}

// next reads one event, which must arrive within the suite's bound.
func next(t *testing.T, cur ledger.Cursor) (ledger.Seq, *ledger.Event) {
	t.Helper()
	c, cancel := bounded()
	defer cancel()
	s, ev, err := cur.Next(c)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	if ev == nil {
		t.Fatalf("Next returned seq %d with a nil event", s)
	}
	return s, ev
}

// blocked checks that Next waits at the tail: it gives up after a moment
// with the context's error.
func blocked(t *testing.T, cur ledger.Cursor) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), quiet)
	defer cancel()
	s, _, err := cur.Next(c)
	if err == nil {
		t.Fatalf("Next at the tail returned seq %d; want it to block", s)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next at the tail with an expiring context: %v; want context.DeadlineExceeded", err)
	}
}

func tail(t *testing.T, l ledger.Log) ledger.Seq {
	t.Helper()
	c, cancel := bounded()
	defer cancel()
	s, err := l.Tail(c)
	if err != nil {
		t.Fatalf("Tail: %v", err)
	}
	return s
}

func same(t *testing.T, what string, got, want *ledger.Event) {
	t.Helper()
	if !Equal(got, want) {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, Normalize(got), Normalize(want))
	}
}

func testEmpty(t *testing.T, l ledger.Log) {
	if l.ID() == "" {
		t.Error("ID of a new log is empty")
	}
	if s := tail(t, l); s != 0 {
		t.Fatalf("Tail of an empty log = %d, want 0", s)
	}
	blocked(t, read(t, l, 1))
}

func testDenseSeq(t *testing.T, l ledger.Log) {
	const n = 20
	for i := 1; i <= n; i++ {
		s, err := l.Append(ctx(t), &ledger.Event{Type: ledger.Tick, Req: uint64(i)})
		if err != nil {
			t.Fatal(err)
		}
		if s != ledger.Seq(i) {
			t.Fatalf("append %d returned seq %d; want %d (dense, from 1)", i, s, i)
		}
		if got := tail(t, l); got != s {
			t.Fatalf("Tail after appending seq %d = %d", s, got)
		}
	}
}

func testReadFrom(t *testing.T, l ledger.Log) {
	evs := Events()
	appendAll(t, l, evs)
	n := ledger.Seq(len(evs))
	for from := ledger.Seq(0); from <= n+1; from++ {
		cur := read(t, l, from)
		first := max(from, 1) // 0 reads from the start, like 1
		for want := first; want <= n; want++ {
			s, ev := next(t, cur)
			if s != want {
				t.Fatalf("Read(%d): got seq %d, want %d", from, s, want)
			}
			same(t, fmt.Sprintf("Read(%d) seq %d", from, s), ev, evs[s-1])
		}
		blocked(t, cur)
		_ = cur.Close()
	}
	// A cursor past the tail waits for its position to be written.
	cur := read(t, l, n+2)
	blocked(t, cur)
	appendAll(t, l, []*ledger.Event{{Type: ledger.Tick, Req: 1}, {Type: ledger.Tick, Req: 2}})
	if s, ev := next(t, cur); s != n+2 || ev.Req != 2 {
		t.Fatalf("Read(%d) after two appends: seq %d req %d; want seq %d req 2", n+2, s, ev.Req, n+2)
	}
}

func testBlocks(t *testing.T, l ledger.Log) {
	appendAll(t, l, []*ledger.Event{{Type: ledger.Tick, Req: 1}})
	cur := read(t, l, 1)
	if s, _ := next(t, cur); s != 1 {
		t.Fatalf("first seq %d, want 1", s)
	}
	type result struct {
		s   ledger.Seq
		ev  *ledger.Event
		err error
	}
	got := make(chan result, 1)
	go func() {
		s, ev, err := cur.Next(context.Background())
		got <- result{s, ev, err}
	}()
	select {
	case r := <-got:
		t.Fatalf("Next at the tail returned (%d, %v); want it to block", r.s, r.err)
	case <-time.After(quiet):
	}
	appendAll(t, l, []*ledger.Event{{Type: ledger.Tick, Req: 2}})
	select {
	case r := <-got:
		if r.err != nil || r.s != 2 || r.ev == nil || r.ev.Req != 2 {
			t.Fatalf("Next after an append: seq %d, err %v; want seq 2 req 2", r.s, r.err)
		}
	case <-time.After(wait):
		t.Fatal("Next still blocked after an append")
	}
}

func testCancel(t *testing.T, l ledger.Log) {
	cur := read(t, l, 1)
	c, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, _, err := cur.Next(c)
		errc <- err
	}()
	time.Sleep(quiet)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Next after cancel: %v; want context.Canceled", err)
		}
	case <-time.After(wait):
		t.Fatal("Next ignores the cancellation of its context")
	}
	// Already done: no wait at all.
	if _, _, err := cur.Next(c); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a cancelled context: %v; want context.Canceled", err)
	}
	// The cursor is still usable and has not moved.
	appendAll(t, l, []*ledger.Event{{Type: ledger.Tick, Req: 1}})
	if s, ev := next(t, cur); s != 1 || ev.Req != 1 {
		t.Fatalf("Next after a cancelled Next: seq %d req %d; want seq 1 req 1", s, ev.Req)
	}
}

func testAppendDone(t *testing.T, l ledger.Log) {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	if s, err := l.Append(c, &ledger.Event{Type: ledger.Tick}); err == nil {
		t.Fatalf("Append with a cancelled context returned seq %d; want an error", s)
	}
	if s := tail(t, l); s != 0 {
		t.Fatalf("Tail after a refused append = %d, want 0", s)
	}
}

func testRoundTrip(t *testing.T, l ledger.Log) {
	evs := Events()
	seqs := appendAll(t, l, evs)
	want := Events() // fresh copies: the log may keep what it was given
	cur := read(t, l, 1)
	for i := range want {
		s, ev := next(t, cur)
		if s != seqs[i] {
			t.Fatalf("event %d: read at seq %d, appended at %d", i, s, seqs[i])
		}
		same(t, fmt.Sprintf("event %d (%v)", i, want[i].Type), ev, want[i])
		// Exact argument types, not just equal printouts.
		for j, st := range ev.Stmts {
			for k, a := range st.Args {
				if wt, gt := reflect.TypeOf(want[i].Stmts[j].Args[k]), reflect.TypeOf(a); wt != gt {
					t.Errorf("event %d stmt %d arg %d: type %v, want %v", i, j, k, gt, wt)
				}
			}
		}
	}
}

func testID(t *testing.T, l, other ledger.Log) {
	id := l.ID()
	if id == "" {
		t.Fatal("ID is empty")
	}
	appendAll(t, l, Events())
	if got := l.ID(); got != id {
		t.Fatalf("ID changed from %q to %q after appends", id, got)
	}
	if other.ID() == id {
		t.Fatalf("two logs share the ID %q", id)
	}
}

// testConcurrent appends from many goroutines while cursors follow, and
// checks one total order that every reader sees, with each event once.
func testConcurrent(t *testing.T, l ledger.Log) {
	const writers, each, readers = 16, 25, 3
	const total = writers * each

	type rec struct {
		origin string
		req    uint64
	}
	c := ctx(t)
	readAll := func(cur ledger.Cursor) ([]rec, error) {
		var got []rec
		for len(got) < total {
			s, ev, err := cur.Next(c)
			if err != nil {
				return got, err
			}
			if s != ledger.Seq(len(got)+1) {
				return got, fmt.Errorf("seq %d after %d events", s, len(got))
			}
			got = append(got, rec{ev.Origin, ev.Req})
		}
		return got, nil
	}

	var wg sync.WaitGroup
	views := make([][]rec, readers)
	rerrs := make([]error, readers)
	for r := range readers {
		cur := read(t, l, 1)
		wg.Go(func() { views[r], rerrs[r] = readAll(cur) })
	}
	seqs := make([][]ledger.Seq, writers)
	werrs := make([]error, writers)
	var ww sync.WaitGroup
	for w := range writers {
		ww.Go(func() {
			for i := range each {
				ev := &ledger.Event{Type: ledger.Write, Origin: fmt.Sprintf("w%d", w), Req: uint64(i + 1),
					Keys:  []ledger.Key{ledger.RowKey("t", fmt.Sprint(w))},
					Stmts: []ledger.Stmt{{SQL: "UPDATE t SET n = $1", Args: []any{int64(i)}}}}
				s, err := l.Append(c, ev)
				if err != nil {
					werrs[w] = err
					return
				}
				seqs[w] = append(seqs[w], s)
			}
		})
	}
	ww.Wait()
	if err := errors.Join(werrs...); err != nil {
		t.Fatalf("Append: %v", err)
	}
	wg.Wait()
	if err := errors.Join(rerrs...); err != nil {
		t.Fatalf("cursor: %v", err)
	}

	at := make(map[ledger.Seq]rec, total)
	for w, ss := range seqs {
		for i, s := range ss {
			if i > 0 && s <= ss[i-1] {
				t.Fatalf("writer %d: append %d got seq %d after seq %d", w, i, s, ss[i-1])
			}
			if r, dup := at[s]; dup {
				t.Fatalf("seq %d returned twice: %v and w%d/%d", s, r, w, i+1)
			}
			if s < 1 || s > total {
				t.Fatalf("seq %d out of 1..%d", s, total)
			}
			at[s] = rec{fmt.Sprintf("w%d", w), uint64(i + 1)}
		}
	}
	views = append(views, nil)
	views[readers], _ = readAll(read(t, l, 1)) // a late reader too
	for r, v := range views {
		if len(v) != total {
			t.Fatalf("reader %d saw %d events, want %d", r, len(v), total)
		}
		for i, got := range v {
			if want := at[ledger.Seq(i+1)]; got != want {
				t.Fatalf("reader %d: seq %d holds %v; Append returned that seq for %v", r, i+1, got, want)
			}
		}
	}
	if s := tail(t, l); s != total {
		t.Fatalf("Tail = %d, want %d", s, total)
	}
}

func testClose(t *testing.T, l ledger.Log) {
	appendAll(t, l, []*ledger.Event{{Type: ledger.Tick}})
	const waiters = 3
	errc := make(chan error, waiters)
	for range waiters {
		cur := read(t, l, 1)
		next(t, cur)
		go func() {
			_, _, err := cur.Next(context.Background())
			errc <- err
		}()
	}
	time.Sleep(quiet)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range waiters {
		select {
		case err := <-errc:
			if !errors.Is(err, ledger.ErrClosed) {
				t.Fatalf("waiting Next after Close: %v; want ledger.ErrClosed", err)
			}
		case <-time.After(wait):
			t.Fatal("Close left a cursor blocked")
		}
	}
	if s, err := l.Append(ctx(t), &ledger.Event{Type: ledger.Tick}); !errors.Is(err, ledger.ErrClosed) {
		t.Fatalf("Append after Close: seq %d, %v; want ledger.ErrClosed", s, err)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func testReopen(t *testing.T, open func(*testing.T, string) ledger.Log) {
	dir := t.TempDir()
	l := open(t, dir)
	id := l.ID()
	evs := Events()
	seqs := appendAll(t, l, evs)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	l = open(t, dir)
	if l.ID() != id {
		t.Fatalf("ID after reopen = %q, want %q", l.ID(), id)
	}
	n := ledger.Seq(len(evs))
	if s := tail(t, l); s != n {
		t.Fatalf("Tail after reopen = %d, want %d", s, n)
	}
	want := Events()
	cur := read(t, l, 1)
	for i := range want {
		s, ev := next(t, cur)
		if s != seqs[i] {
			t.Fatalf("after reopen, event %d at seq %d; appended at %d", i, s, seqs[i])
		}
		same(t, fmt.Sprintf("after reopen, seq %d", s), ev, want[i])
	}
	blocked(t, cur)
	s, err := l.Append(ctx(t), &ledger.Event{Type: ledger.Tick, Req: 99})
	if err != nil || s != n+1 {
		t.Fatalf("Append after reopen = %d, %v; want seq %d", s, err, n+1)
	}
	if s, ev := next(t, cur); s != n+1 || ev.Req != 99 {
		t.Fatalf("cursor after reopen and append: seq %d req %d; want %d req 99", s, ev.Req, n+1)
	}
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	l = open(t, dir)
	if l.ID() != id {
		t.Fatalf("ID after second reopen = %q, want %q", l.ID(), id)
	}
	if s := tail(t, l); s != n+1 {
		t.Fatalf("Tail after second reopen = %d, want %d", s, n+1)
	}
	if s, ev := next(t, read(t, l, n+1)); s != n+1 || ev.Req != 99 {
		t.Fatalf("second reopen: seq %d req %d; want %d req 99", s, ev.Req, n+1)
	}
}

func testReopenEmpty(t *testing.T, open func(*testing.T, string) ledger.Log) {
	dir := t.TempDir()
	l := open(t, dir)
	id := l.ID()
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	l = open(t, dir)
	if l.ID() != id {
		t.Fatalf("ID of an empty log after reopen = %q, want %q", l.ID(), id)
	}
	if s := tail(t, l); s != 0 {
		t.Fatalf("Tail of an empty log after reopen = %d", s)
	}
	if s, err := l.Append(ctx(t), &ledger.Event{Type: ledger.Tick}); err != nil || s != 1 {
		t.Fatalf("first Append after reopen = %d, %v; want 1", s, err)
	}
}

// RunShared checks a log that several processes share: open returns two
// handles on one new, empty log, as two processes would open it. Writers on
// both append at once; positions stay dense, each holds the event whose
// Append returned it, both handles agree on the ID and the tail, and a Read
// from any position, on either handle, starts there. The suite closes the
// logs it opens.
func RunShared(t *testing.T, open func(t *testing.T) (a, b ledger.Log)) {
	t.Helper()
	a, b := open(t)
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	if a.ID() != b.ID() {
		t.Fatalf("two handles on one ledger: IDs %q and %q", a.ID(), b.ID())
	}
	logs := []ledger.Log{a, b}
	const writers, each = 8, 40
	type rec struct {
		origin string
		req    uint64
	}
	var mu sync.Mutex
	at := map[ledger.Seq]rec{}
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for li, l := range logs {
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					r := rec{fmt.Sprintf("l%d/w%d", li, w), uint64(i + 1)}
					ctx, cancel := bounded()
					s, err := l.Append(ctx, &ledger.Event{Type: ledger.Tick, Origin: r.origin, Req: r.req})
					cancel()
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					if prev, dup := at[s]; dup {
						errs <- fmt.Errorf("seq %d returned for %v and %v", s, prev, r)
					}
					at[s] = r
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const total = 2 * writers * each
	for _, l := range logs {
		if s := tail(t, l); s != total {
			t.Fatalf("Tail = %d; want %d", s, total)
		}
	}
	for _, from := range []ledger.Seq{1, 2, 7, 100, 333, total - 1, total} {
		cur := read(t, logs[int(from)%2], from)
		for s := from; s <= min(from+20, total); s++ {
			got, ev := next(t, cur)
			if got != s {
				t.Fatalf("Read(%d): got seq %d; want %d", from, got, s)
			}
			if r := (rec{ev.Origin, ev.Req}); r != at[s] {
				t.Fatalf("seq %d holds %v; Append returned it for %v", s, r, at[s])
			}
		}
	}
}
