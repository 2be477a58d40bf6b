package ledger_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/ledger/memlog"
)

func start(t *testing.T, backends ...string) *ledger.Calibrator {
	t.Helper()
	log := memlog.New()
	c := ledger.NewCalibrator(log, "p1", backends)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop(); log.Close() })
	return c
}

func submit(t *testing.T, c *ledger.Calibrator, ev *ledger.Event) *ledger.Ticket {
	t.Helper()
	tk, err := c.Submit(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func decided(t *testing.T, tk *ledger.Ticket) ledger.Decision {
	t.Helper()
	select {
	case <-tk.Decided():
		return tk.Decision()
	case <-time.After(5 * time.Second):
		t.Fatalf("request %d undecided", tk.Seq)
		return 0
	}
}

func undecided(t *testing.T, c *ledger.Calibrator, tk *ledger.Ticket) {
	t.Helper()
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-tk.Decided():
		t.Fatalf("request %d decided %v, want it waiting", tk.Seq, tk.Decision())
	default:
	}
}

// applyAll reports every queued job of backend as applied.
func applyAll(t *testing.T, c *ledger.Calibrator, backend string) []*ledger.Job {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	jobs, err := c.NextJobs(ctx, backend, 100)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Report(ctx, backend, jobs, make([]ledger.Result, len(jobs))); err != nil {
		t.Fatal(err)
	}
	return jobs
}

func write(keys ...ledger.Key) *ledger.Event {
	return &ledger.Event{Type: ledger.Write, Keys: keys, Stmts: []ledger.Stmt{{SQL: "x"}}}
}

var (
	row1  = ledger.RowKey("t", "1")
	row2  = ledger.RowKey("t", "2")
	table = ledger.TableKey("t")
)

func lock(tx string, keys ...ledger.Key) *ledger.Event {
	return &ledger.Event{Type: ledger.Lock, Tx: tx, Keys: keys, Backend: "a"}
}

// seqs lists the entries backend's applier is handed, in order.
func seqs(t *testing.T, c *ledger.Calibrator, backend string) []ledger.Seq {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	jobs, err := c.NextJobs(ctx, backend, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []ledger.Seq
	for _, j := range jobs {
		out = append(out, j.Seq)
	}
	return out
}

func TestFirstComeFirstServed(t *testing.T) {
	c := start(t, "a", "b")
	l1 := submit(t, c, lock("1", row1))
	if d := decided(t, l1); d != ledger.Admitted {
		t.Fatalf("l1 %v", d)
	}
	w2 := submit(t, c, write(row1))                    // waits on transaction 1
	w3 := submit(t, c, write(row2))                    // disjoint: admitted at once
	w4 := submit(t, c, write(table))                   // waits on transaction 1, and behind w2
	w5 := submit(t, c, write(ledger.RowKey("t", "3"))) // behind waiting w4 (table key)
	if d := decided(t, w3); d != ledger.Admitted {
		t.Fatalf("w3 %v", d)
	}
	undecided(t, c, w2)
	undecided(t, c, w4)
	undecided(t, c, w5)

	// The commit ends the transaction's hold: the waiting writes are
	// admitted in arrival order, queued behind the commit on every backend.
	cm := submit(t, c, &ledger.Event{Type: ledger.Commit, Tx: "1", Stmts: []ledger.Stmt{{SQL: "x"}}, Backend: "a"})
	if d := decided(t, cm); d != ledger.Admitted {
		t.Fatalf("commit %v", d)
	}
	cm.Release()
	for _, w := range []*ledger.Ticket{w2, w4, w5} {
		if d := decided(t, w); d != ledger.Admitted {
			t.Fatalf("request %d %v", w.Seq, d)
		}
	}
	want := []ledger.Seq{w3.Seq, cm.Seq, w2.Seq, w4.Seq, w5.Seq}
	for _, b := range []string{"a", "b"} {
		if got := seqs(t, c, b); !slices.Equal(got, want) {
			t.Fatalf("%s applies %v, want %v (admission order)", b, got, want)
		}
	}
}

// TestWaitQueuesBehindPendingWrites: under conflict=wait a write on a row
// with a pending write is admitted behind it: every backend applies the
// two in that order, reads of the row wait for both, and each is done
// only when every backend applied it.
func TestWaitQueuesBehindPendingWrites(t *testing.T) {
	c := start(t, "a", "b")
	w1 := submit(t, c, write(row1))
	w2 := submit(t, c, write(row1))
	for _, w := range []*ledger.Ticket{w1, w2} {
		if d := decided(t, w); d != ledger.Admitted {
			t.Fatalf("request %d %v", w.Seq, d)
		}
	}
	for _, b := range []string{"a", "b"} {
		if got := seqs(t, c, b); !slices.Equal(got, []ledger.Seq{w1.Seq, w2.Seq}) {
			t.Fatalf("%s applies %v, want [%d %d]", b, got, w1.Seq, w2.Seq)
		}
	}
	applyAll(t, c, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.WaitClear(ctx, "b", []ledger.Key{row1}, ""); err == nil {
		t.Fatal("a read of row 1 on b did not wait for its two pending writes")
	}
	select {
	case <-w2.Job().Done():
		t.Fatal("w2 done before b applied it")
	default:
	}
	applyAll(t, c, "b")
	for _, w := range []*ledger.Ticket{w1, w2} {
		select {
		case <-w.Job().Done():
		case <-time.After(5 * time.Second):
			t.Fatalf("request %d not done", w.Seq)
		}
	}
	if st := c.Stats(); st.Holders != 0 || st.Waiting != 0 {
		t.Fatalf("left behind: %+v", st)
	}
}

// TestLockWaitsForItsBackend: a transaction executes on its backend before
// its Commit is in the log, so its Lock waits until that backend has
// applied every earlier entry on the keys, and no longer.
func TestLockWaitsForItsBackend(t *testing.T) {
	c := start(t, "a", "b")
	w := submit(t, c, write(row1))
	decided(t, w)
	l := submit(t, c, lock("1", row1))
	lb := submit(t, c, &ledger.Event{Type: ledger.Lock, Tx: "2", Keys: []ledger.Key{table}, Backend: "b"})
	other := submit(t, c, lock("3", ledger.RowKey("u", "1")))
	if d := decided(t, other); d != ledger.Admitted {
		t.Fatalf("lock of another table %v", d)
	}
	undecided(t, c, l)
	undecided(t, c, lb)
	applyAll(t, c, "a")
	if d := decided(t, l); d != ledger.Admitted {
		t.Fatalf("lock after a applied the write: %v", d)
	}
	undecided(t, c, lb) // b has not applied it; and transaction 1 holds row 1
	applyAll(t, c, "b")
	undecided(t, c, lb)
	if _, err := c.Append(context.Background(), &ledger.Event{Type: ledger.Abort, Tx: "1"}); err != nil {
		t.Fatal(err)
	}
	if d := decided(t, lb); d != ledger.Admitted {
		t.Fatalf("lock on b after b applied and 1 aborted: %v", d)
	}
}

func TestRejectAndWithdraw(t *testing.T) {
	c := start(t, "a")
	w1 := submit(t, c, write(row1))
	decided(t, w1)
	ev := write(row1)
	ev.Reject = true
	if d := decided(t, submit(t, c, ev)); d != ledger.Rejected {
		t.Fatalf("reject policy gave %v", d)
	}
	l := submit(t, c, lock("1", row2))
	decided(t, l)
	w3 := submit(t, c, write(row2))
	undecided(t, c, w3)
	if d := c.Withdraw(w3); d != ledger.Withdrawn {
		t.Fatalf("withdraw gave %v", d)
	}
	if _, err := c.Append(context.Background(), &ledger.Event{Type: ledger.Abort, Tx: "1"}); err != nil {
		t.Fatal(err)
	}
	applyAll(t, c, "a")
	select {
	case <-w1.Job().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("w1 not done")
	}
	if st := c.Stats(); st.Holders != 0 || st.Waiting != 0 {
		t.Fatalf("left behind: %+v", st)
	}
}

func TestPendingPerBackend(t *testing.T) {
	c := start(t, "a", "b")
	w := submit(t, c, write(row1))
	decided(t, w)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.WaitClear(ctx, "a", []ledger.Key{row1}, ""); err == nil {
		t.Fatal("read of a pending row did not wait")
	}
	if err := c.WaitClear(context.Background(), "a", []ledger.Key{row2}, ""); err != nil {
		t.Fatal("read of another row waited:", err)
	}
	applyAll(t, c, "a")
	if err := c.WaitClear(context.Background(), "a", []ledger.Key{row1}, ""); err != nil {
		t.Fatal(err)
	}
	got, err := c.WaitAnyClear(context.Background(), []string{"b", "a"}, []ledger.Key{table})
	if err != nil || got != "a" {
		t.Fatalf("nearest clear backend = %q, %v; want a", got, err)
	}
}

func TestTransactionLocks(t *testing.T) {
	c := start(t, "a", "b")
	l1 := submit(t, c, &ledger.Event{Type: ledger.Lock, Tx: "1", Keys: []ledger.Key{row1}})
	if decided(t, l1) != ledger.Admitted {
		t.Fatal("lock not admitted")
	}
	// The transaction may take more keys, including a table key over its own row.
	l2 := submit(t, c, &ledger.Event{Type: ledger.Lock, Tx: "1", Keys: []ledger.Key{table}})
	if decided(t, l2) != ledger.Admitted {
		t.Fatal("own table lock not admitted")
	}
	w := submit(t, c, write(row2))
	undecided(t, c, w)
	// Its own reads do not wait on its keys; others' do.
	if err := c.WaitClear(context.Background(), "a", []ledger.Key{row1}, "1"); err != nil {
		t.Fatal(err)
	}
	cm := submit(t, c, &ledger.Event{Type: ledger.Commit, Tx: "1", Stmts: []ledger.Stmt{{SQL: "x"}}})
	if decided(t, cm) != ledger.Admitted {
		t.Fatal("commit not admitted")
	}
	cm.Release()
	if decided(t, w) != ledger.Admitted {
		t.Fatal("write after commit not admitted")
	}
	if got := seqs(t, c, "b"); !slices.Equal(got, []ledger.Seq{cm.Seq, w.Seq}) {
		t.Fatalf("b applies %v, want the commit %d before the write %d", got, cm.Seq, w.Seq)
	}

	// Abort releases without a job.
	l3 := submit(t, c, &ledger.Event{Type: ledger.Lock, Tx: "2", Keys: []ledger.Key{ledger.RowKey("u", "1")}})
	decided(t, l3)
	w2 := submit(t, c, write(ledger.TableKey("u")))
	undecided(t, c, w2)
	if _, err := c.Append(context.Background(), &ledger.Event{Type: ledger.Abort, Tx: "2"}); err != nil {
		t.Fatal(err)
	}
	if decided(t, w2) != ledger.Admitted {
		t.Fatal("write after abort not admitted")
	}
}

func TestConflicts(t *testing.T) {
	cases := []struct {
		a, b ledger.Key
		want bool
	}{
		{row1, row1, true}, {row1, row2, false}, {row1, table, true}, {table, table, true},
		{ledger.All, row1, true}, {row1, ledger.RowKey("u", "1"), false},
		{ledger.RowKey("t", "a,b"), ledger.RowKey("t", "a", "b"), false},
	}
	for _, tc := range cases {
		if got := ledger.Conflicts(tc.a, tc.b); got != tc.want {
			t.Errorf("Conflicts(%v, %v) = %v", tc.a, tc.b, got)
		}
	}
}

func TestDeadlock(t *testing.T) {
	c := start(t, "a")
	lock := func(tx string, k ledger.Key) *ledger.Ticket {
		return submit(t, c, &ledger.Event{Type: ledger.Lock, Tx: tx, Keys: []ledger.Key{k}})
	}
	if decided(t, lock("1", row1)) != ledger.Admitted || decided(t, lock("2", row2)) != ledger.Admitted {
		t.Fatal("first locks not admitted")
	}
	w := lock("1", row2) // 1 waits for 2
	undecided(t, c, w)
	if d := decided(t, lock("2", row1)); d != ledger.Deadlock { // 2 would wait for 1
		t.Fatalf("closing the cycle gave %v, want deadlock", d)
	}
	// The victim gives up; the survivor goes on.
	if _, err := c.Append(context.Background(), &ledger.Event{Type: ledger.Abort, Tx: "2"}); err != nil {
		t.Fatal(err)
	}
	if d := decided(t, w); d != ledger.Admitted {
		t.Fatalf("survivor %v", d)
	}

	// Through a waiting autocommit write: 3 holds row 3, a write on row 3
	// waits for 3, and 3 then asks for the table, behind that write.
	row3 := ledger.RowKey("u", "3")
	if decided(t, lock("3", row3)) != ledger.Admitted {
		t.Fatal("lock 3")
	}
	wr := submit(t, c, write(row3))
	undecided(t, c, wr)
	if d := decided(t, lock("3", ledger.TableKey("u"))); d != ledger.Deadlock {
		t.Fatalf("cycle through a waiting write gave %v, want deadlock", d)
	}
	// No false alarm: a transaction waiting on another that waits on nobody.
	if decided(t, lock("4", ledger.RowKey("v", "1"))) != ledger.Admitted {
		t.Fatal("lock 4")
	}
	l5 := lock("5", ledger.RowKey("v", "1"))
	undecided(t, c, l5)
}

func setState(t *testing.T, c *ledger.Calibrator, b string, s ledger.BackendState) {
	t.Helper()
	if _, err := c.Append(context.Background(), &ledger.Event{Type: ledger.State, Backend: b, State: s.String()}); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestDownBackend: a down backend holds up nobody, keeps its queue, serves
// no reads, and after catching up serves reads of keys no longer pending.
func TestDownBackend(t *testing.T) {
	c := start(t, "a", "b")
	setState(t, c, "a", ledger.Down)
	if got := c.Anchor(); got != "b" {
		t.Fatalf("anchor %q with a down, want b", got)
	}
	w := submit(t, c, write(row1))
	decided(t, w)
	applyAll(t, c, "b")
	select {
	case <-w.Job().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a down backend held up the write")
	}
	// The key is still pending on a: no read there, even when it is back.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	setState(t, c, "a", ledger.CatchingUp)
	if err := c.WaitClear(ctx, "a", []ledger.Key{row1}, ""); err == nil {
		t.Fatal("catching-up backend served a read of a key it has not applied")
	}
	if err := c.WaitClear(context.Background(), "a", []ledger.Key{row2}, ""); err != nil {
		t.Fatal("catching-up backend did not serve a read of another key")
	}
	if c.CaughtUp("a") {
		t.Fatal("caught up with a queue")
	}
	applyAll(t, c, "a")
	if !c.CaughtUp("a") {
		t.Fatal("not caught up with an empty queue")
	}
	if err := c.WaitClear(context.Background(), "a", []ledger.Key{row1}, ""); err != nil {
		t.Fatal(err)
	}
	setState(t, c, "a", ledger.Active)
	if got := c.Anchor(); got != "a" {
		t.Fatalf("anchor %q, want a back", got)
	}
}

// TestCalibrationOfOwnCommits: a transaction's commit that the anchor's
// own transaction applied (its outcome Skipped) must succeed everywhere: a
// backend failing it is diverged, one replaying it after a crash is not.
func TestCalibrationOfOwnCommits(t *testing.T) {
	c := start(t, "a", "b", "c", "d")
	ctx := context.Background()
	l := submit(t, c, &ledger.Event{Type: ledger.Lock, Tx: "1", Backend: "a", Keys: []ledger.Key{row1}})
	decided(t, l)
	cm := submit(t, c, &ledger.Event{Type: ledger.Commit, Tx: "1", Backend: "a", Stmts: []ledger.Stmt{{SQL: "x"}}})
	if decided(t, cm) != ledger.Admitted {
		t.Fatal("commit not admitted")
	}
	cm.Release()
	for b, o := range map[string]ledger.Outcome{
		"a": {Skipped: true},
		"b": {SQLState: "23505", Msg: "duplicate key"},
		"c": {Rows: 1},
		"d": {Skipped: true},
	} {
		jobs, err := c.NextJobs(ctx, b, 10)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Report(ctx, b, jobs, []ledger.Result{{Outcome: o}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for b, want := range map[string]ledger.BackendState{"a": ledger.Active, "b": ledger.Diverged, "c": ledger.Active, "d": ledger.Active} {
		if s := c.State(b); s != want {
			t.Errorf("%s is %v, want %v", b, s, want)
		}
	}
}

// TestCalibration: an outcome that differs from the anchor's marks the
// backend diverged (P7); it then serves no reads and applies nothing.
func TestCalibration(t *testing.T) {
	c := start(t, "a", "b", "c")
	w := submit(t, c, write(row1))
	decided(t, w)
	report := func(b string, o ledger.Outcome) {
		ctx := context.Background()
		jobs, err := c.NextJobs(ctx, b, 10)
		if err != nil {
			t.Fatal(err)
		}
		res := make([]ledger.Result, len(jobs))
		for i := range res {
			res[i].Outcome = o
		}
		if err := c.Report(ctx, b, jobs, res); err != nil {
			t.Fatal(err)
		}
	}
	report("b", ledger.Outcome{Rows: 0}) // before the anchor reports
	report("a", ledger.Outcome{Rows: 1})
	report("c", ledger.Outcome{Rows: 1})
	if err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := c.State("b"); s != ledger.Diverged {
		t.Fatalf("b is %v, want diverged", s)
	}
	if s := c.State("c"); s != ledger.Active {
		t.Fatalf("c is %v, want active", s)
	}
	if d := c.Divergences(); len(d) != 1 || d[0].Backend != "b" || d[0].Seq != w.Seq {
		t.Fatalf("divergences %+v", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.WaitClear(ctx, "b", []ledger.Key{row2}, ""); err == nil {
		t.Fatal("a diverged backend served a read")
	}
	w2 := submit(t, c, write(row2))
	decided(t, w2)
	for _, j := range w2.Job().Targets {
		if j == "b" {
			t.Fatal("a diverged backend was given a job")
		}
	}
}
