package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Decision is what the calibrator made of a request.
type Decision uint8

// Decisions. A request is Waiting until it is admitted, rejected or withdrawn.
const (
	Waiting Decision = iota
	Admitted
	Rejected  // conflict=reject met a held key, or a Commit's new keys conflicted
	Withdrawn // a Cancel reached it while it waited
	Deadlock  // waiting would have closed a cycle of transactions waiting on each other
	Lapsed    // the transaction's lease lapsed before it committed: its locks are gone
)

// Job is an admitted entry that every target backend applies: a Write, or a
// transaction's Commit.
type Job struct {
	Seq     Seq
	Stmts   []Stmt
	Keys    []Key
	Anchor  string   // the anchor at admission: its outcome is the client's
	Targets []string // backends that must apply it: active, catching up or down at admission
	Tx      string   // for a Commit: the transaction
	Origin  string   // the process that appended it

	// Hold is closed when the local transaction that already ran this
	// Commit on the anchor has committed or rolled back; nil otherwise.
	// The anchor's applier waits for it, then finds the entry applied or
	// applies it itself.
	Hold <-chan struct{}

	committedOn atomic.Pointer[string] // where the transaction's own commit applied it, mark and all

	h         *holder
	pendingOn map[string]bool // targets that have not applied it yet
	queued    map[string]bool // backends whose queue still holds it
	outcomes  map[string]Outcome
	results   map[string]Result // what this process's appliers saw
	done      chan struct{}     // closed when its keys are released
	anchored  chan struct{}     // closed when the anchor has applied it (or it is released)
}

// holder holds keys: one Write, or one transaction across its Locks and
// Commit. Once it has a job, it holds them until every backend in waitOn
// (those active when the job was admitted) has applied the job or gone
// down. A job's keys stay pending on each target until that target has
// applied it, released or not: a backend catching up serves no read of them.
type holder struct {
	id      string
	keys    []Key
	waitOn  map[string]bool
	job     *Job
	expires time.Time // for a transaction: when its lease lapses, in log time
}

// Ticket follows one request of this process through the calibrator.
type Ticket struct {
	Seq     Seq
	hold    chan struct{}
	decided chan struct{}
	d       Decision
	job     *Job
}

// Decided is closed when the request is admitted, rejected or withdrawn.
func (t *Ticket) Decided() <-chan struct{} { return t.decided }

// Decision returns the decision; valid once Decided is closed.
func (t *Ticket) Decision() Decision { return t.d }

// Job returns the admitted job of a Write or Commit; valid once Decided is closed.
func (t *Ticket) Job() *Job { return t.job }

// Committed records that the transaction committed the entry, with its
// applied mark, on backend, then releases the hold: that backend's applier
// then knows the entry is applied there without asking the database.
func (t *Ticket) Committed(backend string) {
	if t.job != nil {
		t.job.committedOn.Store(&backend)
	}
	t.Release()
}

// Release closes the hold of a Commit ticket (see [Job.Hold]).
func (t *Ticket) Release() {
	if t.hold != nil {
		select {
		case <-t.hold:
		default:
			close(t.hold)
		}
	}
}

type request struct {
	seq    Seq
	ev     *Event
	ticket *Ticket
}

// Calibrator is the deterministic state machine of DESIGN §4. Every
// participant runs one over the same log; its decisions are a function of
// the log prefix it has read.
type Calibrator struct {
	log      Log
	origin   string
	backends []string
	req      atomic.Uint64

	mu        sync.Mutex
	processed Seq
	quiet     Seq           // the latest position where the state was the empty log's
	progress  chan struct{} // closed and replaced after every event
	err       error         // why the loop stopped
	held      *keySet       // keys of every holder: open transactions and jobs not yet done
	open      *keySet       // keys of open transactions only (holders without a job)
	holders   map[string]*holder
	txs       map[string]*holder // the holders of open transactions (no job yet): what expire looks at
	waiting   []*request
	jobs      map[Seq]*Job
	queues    map[string][]*Job
	pending   map[string]*keySet
	tickets   map[uint64]*Ticket
	states    map[string]BackendState
	diverged  []Divergence
	now       time.Time            // log time: the latest stamp read
	lapsed    map[string]bool      // transactions whose lease lapsed, until they commit or abort
	leases    map[string]lease     // applier leases by backend (remote mode)
	seen      map[string]time.Time // each origin's latest stamp
	ri        readIndex            // shares tail reads among concurrent Syncs
	inPlace   InPlace              // the log, if its events can be read in place (set by Start)

	// OnAppend, if set before Start, hears how long each append took.
	OnAppend func(time.Duration)

	// OnLapse, if set before Start, is called (in its own goroutine) with
	// each transaction of this process whose lease lapsed, so the process
	// can roll it back on the anchor.
	OnLapse func(tx string)

	cancel  context.CancelFunc
	stopped chan struct{}
}

// NewCalibrator returns a calibrator over log for the named backends, in
// anchor order. Start runs it.
func NewCalibrator(log Log, origin string, backends []string) *Calibrator {
	c := &Calibrator{
		log: log, origin: origin, backends: append([]string(nil), backends...),
		progress: make(chan struct{}), held: newKeySet(), open: newKeySet(),
		holders: map[string]*holder{}, txs: map[string]*holder{}, jobs: map[Seq]*Job{},
		queues: map[string][]*Job{}, pending: map[string]*keySet{},
		tickets: map[uint64]*Ticket{}, stopped: make(chan struct{}), lapsed: map[string]bool{},
		states: map[string]BackendState{}, leases: map[string]lease{}, seen: map[string]time.Time{},
	}
	for _, b := range backends {
		c.pending[b] = newKeySet()
		c.states[b] = Active
	}
	return c
}

// Start reads the log from its first retained event in a goroutine until
// Stop. A log trimmed at a quiescent point (see [Calibrator.Quiescent])
// loses nothing the state needs.
func (c *Calibrator) Start() error {
	ctx, cancel := context.WithCancel(context.Background())
	from := Seq(1)
	if t, ok := c.log.(interface{ First() Seq }); ok {
		from = t.First()
	}
	cur, err := c.log.Read(ctx, from)
	if err != nil {
		cancel()
		return err
	}
	c.cancel = cancel
	c.inPlace, _ = c.log.(InPlace)
	go c.run(ctx, cur)
	return nil
}

// Stop ends the loop and waits for it.
func (c *Calibrator) Stop() {
	if c.cancel == nil {
		return
	}
	c.cancel()
	<-c.stopped
}

func (c *Calibrator) run(ctx context.Context, cur Cursor) {
	defer close(c.stopped)
	defer func() {
		if cur != nil {
			cur.Close()
		}
	}()
	for {
		seq, ev, err := cur.Next(ctx)
		if err != nil && errors.Is(err, ErrUnavailable) && !errors.Is(err, ErrHistory) && ctx.Err() == nil {
			// A remote log that does not answer: read on from where we
			// are once it does. Appends fail meanwhile, and so do reads
			// that need the log's tail; nothing is decided without it.
			cur.Close()
			if cur, err = c.reopen(ctx); err == nil {
				continue
			}
		}
		if err != nil {
			c.mu.Lock()
			c.err = err
			if errors.Is(err, context.Canceled) {
				c.err = ErrClosed
			}
			close(c.progress)
			c.mu.Unlock()
			return
		}
		c.mu.Lock()
		if seq > c.processed { // else an appender applied it (catchUp)
			c.step(seq, ev)
			close(c.progress)
			c.progress = make(chan struct{})
		}
		c.mu.Unlock()
	}
}

// step applies the event at seq, the next one, and notes whether the
// state is then the empty log's (see [Calibrator.Quiescent]).
func (c *Calibrator) step(seq Seq, ev *Event) {
	c.apply(seq, ev)
	c.processed = seq
	if c.quiescent() {
		c.quiet = seq
	}
}

// catchUp applies, in the calling goroutine, the events of an in-place
// log up to seq that the loop has not yet read: an appender's own event
// and those before it, in log order as the loop would. What it applies
// the loop then skips.
func (c *Calibrator) catchUp(seq Seq) {
	c.mu.Lock()
	defer c.mu.Unlock()
	moved := false
	for c.err == nil && c.processed < seq {
		ev, ok := c.inPlace.Event(c.processed + 1)
		if !ok {
			break
		}
		c.step(c.processed+1, ev)
		moved = true
	}
	if moved {
		close(c.progress)
		c.progress = make(chan struct{})
	}
}

// reopen opens a cursor after the last event processed, retrying with
// backoff while the log is unavailable; it fails only when ctx ends or the
// log fails otherwise.
func (c *Calibrator) reopen(ctx context.Context) (Cursor, error) {
	wait := 50 * time.Millisecond
	for {
		c.mu.Lock()
		from := c.processed + 1
		c.mu.Unlock()
		cur, err := c.log.Read(ctx, from)
		if err == nil || !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrHistory) {
			return cur, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// Done is closed when the calibrator has stopped: closed, or its log
// failed for good ([Calibrator.Err] says why).
func (c *Calibrator) Done() <-chan struct{} { return c.stopped }

// Err returns why the calibrator stopped, or nil while it runs.
func (c *Calibrator) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Origin returns the name this calibrator appends under.
func (c *Calibrator) Origin() string { return c.origin }

// Backends returns the backends in anchor order.
func (c *Calibrator) Backends() []string { return c.backends }

// Anchor returns the first active backend, or "" if none is.
func (c *Calibrator) Anchor() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.anchor()
}

func (c *Calibrator) anchor() string {
	for _, b := range c.backends {
		if c.states[b] == Active {
			return b
		}
	}
	return ""
}

// Submit appends ev on behalf of this process and returns a ticket that
// follows it. For a Commit, the ticket's Release must be called once the
// anchor transaction has ended.
func (c *Calibrator) Submit(ctx context.Context, ev *Event) (*Ticket, error) {
	t := &Ticket{decided: make(chan struct{})}
	if ev.Type == Commit {
		t.hold = make(chan struct{})
	}
	ev.Origin = c.origin
	ev.Req = c.req.Add(1)
	if ev.Stamp.IsZero() {
		ev.Stamp = time.Now().Round(0) // wall clock only, as every log decodes it
	}
	c.mu.Lock()
	c.tickets[ev.Req] = t
	c.mu.Unlock()
	seq, err := c.append(ctx, ev)
	if err != nil {
		c.mu.Lock()
		delete(c.tickets, ev.Req)
		c.mu.Unlock()
		return nil, err
	}
	t.Seq = seq
	if c.inPlace != nil {
		c.catchUp(seq)
	}
	return t, nil
}

// Append appends an event that needs no ticket (Applied, Cancel, Abort, Tick).
func (c *Calibrator) Append(ctx context.Context, ev *Event) (Seq, error) {
	ev.Origin = c.origin
	if ev.Stamp.IsZero() {
		ev.Stamp = time.Now().Round(0)
	}
	return c.append(ctx, ev)
}

func (c *Calibrator) append(ctx context.Context, ev *Event) (Seq, error) {
	if c.OnAppend == nil {
		return c.log.Append(ctx, ev)
	}
	start := time.Now()
	seq, err := c.log.Append(ctx, ev)
	c.OnAppend(time.Since(start))
	return seq, err
}

// apply folds one event into the state. It must be deterministic: the same
// log gives the same decisions in every process.
func (c *Calibrator) apply(seq Seq, ev *Event) {
	if ev.Stamp.After(c.seen[ev.Origin]) {
		c.seen[ev.Origin] = ev.Stamp
	}
	if ev.Stamp.After(c.now) {
		c.now = ev.Stamp
		c.expire()
	}
	if ev.Type == Lock && ev.Lease > 0 {
		// Any request of a transaction renews its lease, admitted or not.
		if h := c.holders[txID(ev.Origin, ev.Tx)]; h != nil {
			h.expires = ev.Stamp.Add(ev.Lease)
		}
	}
	var t *Ticket
	if ev.Origin == c.origin && ev.Req != 0 {
		t = c.tickets[ev.Req]
		delete(c.tickets, ev.Req)
	}
	switch ev.Type {
	case Write, Lock:
		r := &request{seq: seq, ev: ev, ticket: t}
		var earlier *keySet
		if len(c.waiting) > 0 {
			earlier = newKeySet()
			for _, w := range c.waiting {
				earlier.add(w.ev.Keys)
			}
		}
		switch {
		case !c.blocked(r, earlier):
			c.admit(r)
		case ev.Reject:
			c.decide(t, Rejected, nil)
		case c.closesCycle(r):
			c.decide(t, Deadlock, nil)
		default:
			c.waiting = append(c.waiting, r)
		}
	case Commit:
		c.commit(seq, ev, t)
	case Abort:
		c.abort(txID(ev.Origin, ev.Tx))
	case Cancel:
		for i, r := range c.waiting {
			if r.seq == ev.Target {
				c.waiting = append(c.waiting[:i], c.waiting[i+1:]...)
				c.decide(r.ticket, Withdrawn, nil)
				break
			}
		}
	case State:
		c.setState(ev.Backend, ParseState(ev.State))
	case Lease:
		c.claim(ev)
	case Applied:
		for i, s := range ev.Seqs {
			var o Outcome
			if i < len(ev.Outcomes) {
				o = ev.Outcomes[i]
			}
			c.applied(ev.Backend, s, o)
		}
		c.admitWaiting()
	}
}

func txID(origin, tx string) string { return "t/" + origin + "/" + tx }

// expire releases the locks of transactions whose lease lapsed by log time
// (DESIGN §4): a client that vanished mid-transaction holds nothing for long.
// Log time only moves with stamps in the log, so every process expires the
// same transactions at the same point.
func (c *Calibrator) expire() {
	for id, h := range c.txs {
		if h.expires.IsZero() || !c.now.After(h.expires) {
			continue
		}
		c.lapsed[id] = true
		c.abort(id)
		c.lapsed[id] = true // abort forgets it; the Commit must still be refused
		if origin, tx, ok := strings.Cut(strings.TrimPrefix(id, "t/"), "/"); ok && origin == c.origin && c.OnLapse != nil {
			go c.OnLapse(tx)
		}
	}
}

// holderOf names the holder a request adds its keys to: its transaction
// for a Lock; "" for a Write, which holds nothing while it waits.
func holderOf(r *request) string {
	if r.ev.Type == Lock {
		return txID(r.ev.Origin, r.ev.Tx)
	}
	return ""
}

// closesCycle reports whether r, about to wait, would wait (through other
// waiters and holders) for its own transaction: a deadlock (DESIGN §4). A
// waiter waits for every other holder of a conflicting key and for every
// earlier waiter with a conflicting key (first come, first served); a
// holder waits for its transaction's waiting request. The newest waiter,
// r, is the one refused, in every process alike.
func (c *Calibrator) closesCycle(r *request) bool {
	own := holderOf(r)
	if own == "" || c.holders[own] == nil {
		return false // it holds nothing, so nothing waits for it
	}
	seenH := map[string]bool{}
	seenR := map[*request]bool{}
	var waitsForOwn func(keys []Key, tx string, pos int) bool
	waitsForOwn = func(keys []Key, tx string, pos int) bool {
		for id, h := range c.holders {
			if id == tx || seenH[id] || !overlaps(h.keys, keys) {
				continue
			}
			if id == own {
				return true
			}
			seenH[id] = true
			for i, w := range c.waiting {
				if holderOf(w) == id && !seenR[w] {
					seenR[w] = true
					if waitsForOwn(w.ev.Keys, id, i) {
						return true
					}
				}
			}
		}
		for i, p := range c.waiting[:pos] {
			ptx := holderOf(p)
			if (tx != "" && ptx == tx) || seenR[p] || !overlaps(p.ev.Keys, keys) {
				continue
			}
			if ptx == own {
				return true
			}
			seenR[p] = true
			if waitsForOwn(p.ev.Keys, ptx, i) {
				return true
			}
		}
		return false
	}
	return waitsForOwn(without(r.ev.Keys, c.holders[own].keys), own, len(c.waiting))
}

// blocked reports whether r must wait (DESIGN §4, first come, first
// served): a key requested by an earlier request that still waits, or a key
// another holder has.
//
// Which holders count depends on the policy. Under conflict=reject a
// request meets every holder, jobs included, until they are applied
// everywhere: "overlaps a pending write" is what reject refuses. Under
// conflict=wait only open transactions hold a key against a request: the
// backends apply admitted jobs in admission order, so a write admitted
// behind a pending job on its keys is applied after it everywhere (P1),
// and reads wait for the keys pending on their backend (P3). A
// transaction's Lock also waits while its keys are pending on the backend
// the transaction runs on, since it executes there before its Commit is
// in the log: it must see every earlier entry on those keys applied.
func (c *Calibrator) blocked(r *request, earlier *keySet) bool {
	keys := r.ev.Keys
	var own *holder
	if r.ev.Type == Lock {
		if own = c.holders[txID(r.ev.Origin, r.ev.Tx)]; own != nil {
			keys = without(keys, own.keys)
		}
	}
	if earlier != nil && earlier.conflicts(keys) {
		return true
	}
	if r.ev.Reject {
		return c.heldByOther(c.held, keys, own, false)
	}
	if r.ev.Type == Lock {
		if p := c.pending[c.runsOn(r.ev)]; p != nil && p.conflicts(keys) {
			return true
		}
	}
	return c.heldByOther(c.open, keys, own, true)
}

// heldByOther reports whether a holder other than own has a key in set
// that conflicts with keys; openOnly counts only holders without a job.
func (c *Calibrator) heldByOther(set *keySet, keys []Key, own *holder, openOnly bool) bool {
	if !set.conflicts(keys) {
		return false
	}
	if own == nil {
		return true
	}
	for _, h := range c.holders {
		if h != own && (!openOnly || h.job == nil) && overlaps(h.keys, keys) {
			return true
		}
	}
	return false
}

// runsOn names the backend a transaction's event executes on: the one the
// event names, else the anchor.
func (c *Calibrator) runsOn(ev *Event) string {
	if ev.Backend != "" {
		return ev.Backend
	}
	return c.anchor()
}

func (c *Calibrator) admitWaiting() {
	if len(c.waiting) == 0 {
		return
	}
	earlier := newKeySet()
	rest := c.waiting[:0]
	for _, r := range c.waiting {
		if c.blocked(r, earlier) {
			earlier.add(r.ev.Keys)
			rest = append(rest, r)
			continue
		}
		c.admit(r)
	}
	clear(c.waiting[len(rest):])
	c.waiting = rest
}

func (c *Calibrator) admit(r *request) {
	ev := r.ev
	if ev.Type == Lock {
		id := txID(ev.Origin, ev.Tx)
		h := c.holders[id]
		if h == nil {
			h = c.newHolder(id)
			c.txs[id] = h
		}
		if exp := ev.Stamp.Add(ev.Lease); ev.Lease > 0 && exp.After(h.expires) {
			h.expires = exp
		}
		c.hold(h, ev.Keys)
		c.decide(r.ticket, Admitted, nil)
		return
	}
	h := c.newHolder("w/" + strconv.FormatUint(uint64(r.seq), 10))
	c.hold(h, ev.Keys)
	c.decide(r.ticket, Admitted, c.newJob(r.seq, ev, h, r.ticket))
}

func (c *Calibrator) newHolder(id string) *holder {
	h := &holder{id: id, waitOn: map[string]bool{}}
	c.holders[id] = h
	return h
}

// hold adds keys to a holder. They become pending on backends only with
// the holder's job: until a transaction commits, its writes exist only in
// the anchor's open transaction, invisible to every read.
func (c *Calibrator) hold(h *holder, keys []Key) {
	h.keys = append(h.keys, keys...)
	c.held.add(keys)
	if h.job == nil {
		c.open.add(keys)
	}
}

func (c *Calibrator) newJob(seq Seq, ev *Event, h *holder, t *Ticket) *Job {
	anchor := c.anchor()
	if ev.Type == Commit && ev.Backend != "" {
		// A transaction ran on the anchor it began on, which may not be
		// the anchor now: its outcome, and its own commit, are there.
		anchor = ev.Backend
	}
	j := &Job{
		Seq: seq, Stmts: ev.Stmts, Keys: h.keys, Anchor: anchor, Tx: ev.Tx, Origin: ev.Origin, h: h,
		pendingOn: map[string]bool{}, queued: map[string]bool{}, outcomes: map[string]Outcome{}, results: map[string]Result{},
		done: make(chan struct{}), anchored: make(chan struct{}),
	}
	for _, b := range c.backends {
		switch c.states[b] {
		case Active:
			h.waitOn[b] = true
		case Down, CatchingUp, Resyncing:
		default:
			continue // diverged or stale: applies nothing until resynced
		}
		j.Targets = append(j.Targets, b)
		j.pendingOn[b] = true
		j.queued[b] = true
		c.queues[b] = append(c.queues[b], j)
		c.pending[b].add(j.Keys)
	}
	if t != nil && t.hold != nil {
		j.Hold = t.hold
	}
	c.open.remove(h.keys) // no longer an open transaction's
	h.job = j
	delete(c.txs, h.id)
	if len(j.pendingOn) > 0 {
		c.jobs[seq] = j
	}
	if len(h.waitOn) == 0 {
		c.release(h)
	}
	return j
}

func (c *Calibrator) commit(seq Seq, ev *Event, t *Ticket) {
	id := txID(ev.Origin, ev.Tx)
	if c.lapsed[id] {
		delete(c.lapsed, id)
		c.decide(t, Lapsed, nil)
		return
	}
	h := c.holders[id]
	if h == nil {
		h = c.newHolder(id)
	}
	// Keys learned while executing: admitted only if nobody else holds them
	// and no earlier entry on them was pending where the transaction ran.
	extra := without(ev.Keys, h.keys)
	conflict := c.pending[c.runsOn(ev)] != nil && c.pending[c.runsOn(ev)].conflicts(extra)
	if len(extra) > 0 && c.held.conflicts(extra) {
		// Someone holds a key that meets them: find out whether it is
		// only the transaction itself (its table key over a new row).
		for _, o := range c.holders {
			if o != h && overlaps(o.keys, extra) {
				conflict = true
			}
		}
	}
	if conflict {
		c.abort(id)
		c.decide(t, Rejected, nil)
		return
	}
	c.hold(h, extra)
	c.decide(t, Admitted, c.newJob(seq, ev, h, t))
	c.admitWaiting() // the transaction no longer holds its keys open
}

// without returns the keys that have does not cover: a key is covered by
// itself, by its table's key, and by "*".
func without(keys, have []Key) []Key {
	var out []Key
	for _, k := range keys {
		if !covered(have, k) {
			out = append(out, k)
		}
	}
	return out
}

func covered(have []Key, k Key) bool {
	for _, h := range have {
		if h == k || h.IsAll() || (h.IsTable() && h.Table == k.Table && !k.IsAll()) {
			return true
		}
	}
	return false
}

func containsKey(keys []Key, k Key) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

func (c *Calibrator) abort(id string) {
	delete(c.lapsed, id)
	h := c.holders[id]
	// Withdraw the transaction's waiting requests too.
	rest := c.waiting[:0]
	for _, r := range c.waiting {
		if r.ev.Type == Lock && txID(r.ev.Origin, r.ev.Tx) == id {
			c.decide(r.ticket, Withdrawn, nil)
			continue
		}
		rest = append(rest, r)
	}
	clear(c.waiting[len(rest):])
	c.waiting = rest
	if h != nil && h.job == nil {
		c.release(h)
	}
	c.admitWaiting()
}

func (c *Calibrator) applied(backend string, seq Seq, o Outcome) {
	j := c.jobs[seq]
	if j == nil || !j.pendingOn[backend] {
		return
	}
	j.outcomes[backend] = o
	delete(j.pendingOn, backend)
	c.pending[backend].remove(j.Keys)
	c.dequeue(backend, j)
	if len(j.pendingOn) == 0 {
		delete(c.jobs, seq)
	}
	if backend == j.Anchor {
		closeOnce(j.anchored)
	}
	if h := j.h; h.waitOn[backend] {
		delete(h.waitOn, backend)
		if len(h.waitOn) == 0 {
			c.release(h)
		}
	}
	c.calibrate(j, backend)
}

// dequeue drops j from backend's queue: its report may come from the log
// (a replay, another process) rather than from this process's applier,
// which pops what it reports itself.
func (c *Calibrator) dequeue(backend string, j *Job) {
	if !j.queued[backend] {
		return
	}
	delete(j.queued, backend)
	q := c.queues[backend]
	for i, x := range q {
		if x == j {
			c.queues[backend] = append(q[:i:i], q[i+1:]...)
			return
		}
	}
}

func closeOnce(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// release drops a holder's keys and, if it has a job, tells its client.
// The job itself stays pending on targets that have not applied it.
func (c *Calibrator) release(h *holder) {
	if _, ok := c.holders[h.id]; !ok {
		return
	}
	clear(h.waitOn)
	c.held.remove(h.keys)
	if h.job == nil {
		c.open.remove(h.keys)
	}
	delete(c.holders, h.id)
	delete(c.txs, h.id)
	if j := h.job; j != nil {
		close(j.done)
		closeOnce(j.anchored)
	}
}

func (c *Calibrator) decide(t *Ticket, d Decision, j *Job) {
	if t == nil {
		return
	}
	t.d, t.job = d, j
	close(t.decided)
}

// Withdraw appends a Cancel for a waiting request and waits for the
// calibrator's verdict: the request may have been admitted meanwhile.
func (c *Calibrator) Withdraw(t *Ticket) Decision {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := c.Append(ctx, &Event{Type: Cancel, Target: t.Seq}); err != nil {
		return Waiting
	}
	select {
	case <-t.decided:
		return t.d
	case <-ctx.Done():
		return Waiting
	}
}

// CommittedOn reports whether the transaction's own commit applied j,
// with its applied mark, on backend (see [Ticket.Committed]); valid once
// Hold is closed.
func (j *Job) CommittedOn(backend string) bool {
	b := j.committedOn.Load()
	return b != nil && *b == backend
}

// Done is closed when every target backend has applied j.
func (j *Job) Done() <-chan struct{} { return j.done }

// Anchored is closed when the anchor has applied j (or j is done).
func (j *Job) Anchored() <-chan struct{} { return j.anchored }

// Result is what an applier in this process saw of one job on one backend.
type Result struct {
	Outcome
	Err  error // the backend's own error value, unwrappable
	Rows any   // rows the statement returned, when the caller asked for them
}

// Result returns what backend made of j: the applier's own result when it
// ran in this process, else the outcome from the log. Call it after
// Anchored or Done is closed; ok is false if backend has not applied j.
func (c *Calibrator) Result(j *Job, backend string) (r Result, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok = j.results[backend]; ok {
		return r, true
	}
	o, ok := j.outcomes[backend]
	return Result{Outcome: o}, ok
}

// NextJobs returns up to max admitted jobs for backend in admission order,
// blocking until there is one. The jobs stay queued until Report, so an
// applier that stops before reporting hands them to its successor.
func (c *Calibrator) NextJobs(ctx context.Context, backend string, max int) ([]*Job, error) {
	for {
		c.mu.Lock()
		if q := c.queues[backend]; len(q) > 0 && c.states[backend] != Resyncing {
			out := append([]*Job(nil), q[:min(max, len(q))]...)
			c.mu.Unlock()
			return out, nil
		}
		p, err := c.progress, c.err
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-p:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// QueuedJobs returns up to max admitted jobs for backend in admission
// order, as NextJobs does, without waiting (none while there are none or
// the backend is resyncing), and a channel closed once the calibrator has
// read another event: when to ask again.
func (c *Calibrator) QueuedJobs(backend string, max int) ([]*Job, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if q := c.queues[backend]; len(q) > 0 && c.states[backend] != Resyncing {
		return append([]*Job(nil), q[:min(max, len(q))]...), c.progress
	}
	return nil, c.progress
}

// Report records what backend made of jobs: in this process directly (the
// errors themselves), and in the log as one Applied event.
func (c *Calibrator) Report(ctx context.Context, backend string, jobs []*Job, res []Result) error {
	ev := &Event{Type: Applied, Backend: backend, Seqs: make([]Seq, len(jobs)), Outcomes: make([]Outcome, len(jobs))}
	c.mu.Lock()
	q := c.queues[backend]
	for i, j := range jobs {
		ev.Seqs[i], ev.Outcomes[i] = j.Seq, res[i].Outcome
		j.results[backend] = res[i]
		if len(q) > 0 && q[0] == j {
			q[0] = nil
			q = q[1:]
			delete(j.queued, backend)
		}
	}
	c.queues[backend] = q
	c.mu.Unlock()
	_, err := c.Append(ctx, ev)
	return err
}

// WaitApplied waits until backend has applied j, as the log reports it,
// or ctx is done.
func (c *Calibrator) WaitApplied(ctx context.Context, j *Job, backend string) error {
	return c.await(ctx, func() bool { return !j.pendingOn[backend] })
}

// Sync waits until the calibrator has processed everything appended before
// the call: the read index of a linearizable read.
func (c *Calibrator) Sync(ctx context.Context) error {
	tail, err := c.tail(ctx)
	if err != nil {
		return err
	}
	return c.await(ctx, func() bool { return c.processed >= tail })
}

// await waits until cond, evaluated under the lock, holds.
func (c *Calibrator) await(ctx context.Context, cond func() bool) error {
	for {
		c.mu.Lock()
		ok, p, err := cond(), c.progress, c.err
		c.mu.Unlock()
		if ok {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-p:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// clear reports whether backend can serve a read of keys: it is active or
// catching up, and has no pending write on them other than the transaction
// tx's own ("" for none). Keys nil means any pending write.
func (c *Calibrator) clear(backend string, keys []Key, tx string) bool {
	ps := c.pending[backend]
	if ps == nil || !c.states[backend].Serves() {
		return false
	}
	if keys == nil {
		keys = []Key{All}
	}
	if !ps.conflicts(keys) {
		return true
	}
	if tx == "" {
		return false
	}
	for _, j := range c.jobs {
		if j.pendingOn[backend] && j.h.id != tx && overlaps(j.Keys, keys) {
			return false
		}
	}
	return true
}

// WaitClear waits until backend has no pending write on keys (nil: none at
// all), ignoring the keys of the local transaction tx.
func (c *Calibrator) WaitClear(ctx context.Context, backend string, keys []Key, tx string) error {
	if tx != "" {
		tx = txID(c.origin, tx)
	}
	return c.await(ctx, func() bool { return c.clear(backend, keys, tx) })
}

// WaitAnyClear waits until one of candidates has no pending write on keys
// and returns the first such, preferring by the order of candidates.
func (c *Calibrator) WaitAnyClear(ctx context.Context, candidates []string, keys []Key) (string, error) {
	var got string
	err := c.await(ctx, func() bool {
		for _, b := range candidates {
			if c.clear(b, keys, "") {
				got = b
				return true
			}
		}
		return false
	})
	return got, err
}

// Quiescent returns the latest position read at which nothing was held,
// nothing waited, nothing was pending anywhere and every backend was
// active: where the state was the one the empty log gives. A log may be
// trimmed up to that position, whatever has happened since; ok is false
// if there was no such position.
func (c *Calibrator) Quiescent() (Seq, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.quiet, c.quiet > 0
}

// quiescent reports whether the state now is the empty log's.
func (c *Calibrator) quiescent() bool {
	if len(c.holders) > 0 || len(c.waiting) > 0 || len(c.jobs) > 0 || len(c.lapsed) > 0 {
		return false
	}
	for _, s := range c.states {
		if s != Active {
			return false
		}
	}
	return true
}

// Stats is a snapshot of the calibrator for status displays and tests.
type Stats struct {
	Processed Seq
	Holders   int
	Waiting   int
	Queued    map[string]int // jobs each backend has still to apply
	States    map[string]BackendState
	Anchor    string
	LogTime   time.Time
}

// Stats returns a snapshot.
func (c *Calibrator) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Stats{Processed: c.processed, Holders: len(c.holders), Waiting: len(c.waiting), Queued: map[string]int{},
		States: map[string]BackendState{}, Anchor: c.anchor(), LogTime: c.now}
	for b, q := range c.queues {
		s.Queued[b] = len(q)
	}
	for b, st := range c.states {
		s.States[b] = st
	}
	return s
}

func (d Decision) String() string {
	switch d {
	case Waiting:
		return "waiting"
	case Admitted:
		return "admitted"
	case Rejected:
		return "rejected"
	case Withdrawn:
		return "withdrawn"
	case Deadlock:
		return "deadlock"
	case Lapsed:
		return "lapsed"
	}
	return fmt.Sprintf("decision(%d)", d)
}
