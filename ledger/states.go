package ledger

import "strings"

// BackendState is a backend's standing in the calibrator (DESIGN §7). It
// changes only through State events in the log and through calibration of
// outcomes, so every process agrees on it.
type BackendState uint8

// The backend states.
const (
	Active     BackendState = iota // applies entries; serves reads of keys not pending on it; may be anchor
	Down                           // unreachable: entries queue for it; no reads; holds up nobody
	CatchingUp                     // back: replays its queue; serves reads of keys not pending on it; holds up nobody
	Diverged                       // its outcome differed from the anchor's: no reads, no applies until resync
	Stale                          // missed history the ledger no longer has: no reads, no applies until resync
	Resyncing                      // being rebuilt from another backend: entries queue for it; no reads, no applies yet
)

var stateNames = [...]string{"active", "down", "catching-up", "diverged", "stale", "resyncing"}

func (s BackendState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// ParseState returns the state named s; unknown names are Stale, the
// state that serves nothing.
func ParseState(s string) BackendState {
	for i, n := range stateNames {
		if strings.EqualFold(n, s) {
			return BackendState(i)
		}
	}
	return Stale
}

// Serves reports whether a backend in state s may serve reads.
func (s BackendState) Serves() bool { return s == Active || s == CatchingUp }

// setState applies a State event.
func (c *Calibrator) setState(b string, s BackendState) {
	old, ok := c.states[b]
	if !ok || old == s {
		return
	}
	if (old == Diverged || old == Stale) && s != Resyncing {
		return // only a resync brings such a backend back
	}
	c.states[b] = s
	switch s {
	case Down, Diverged, Stale:
		// Nobody waits for it any more.
		for _, h := range c.holders {
			if h.waitOn[b] {
				delete(h.waitOn, b)
				if len(h.waitOn) == 0 {
					c.release(h)
				}
			}
		}
	}
	if s == Diverged || s == Stale {
		// It applies nothing more: drop its queue.
		for _, j := range c.queues[b] {
			if j == nil {
				continue
			}
			delete(j.queued, b)
			if j.pendingOn[b] {
				delete(j.pendingOn, b)
				c.pending[b].remove(j.Keys)
				if len(j.pendingOn) == 0 {
					delete(c.jobs, j.Seq)
				}
			}
		}
		c.queues[b] = nil
	}
	c.admitWaiting()
}

// calibrate compares backend's outcome for j with the anchor's (P7). The
// odd one out is the backend that is not the anchor: it is marked diverged.
func (c *Calibrator) calibrate(j *Job, backend string) {
	ref, ok := j.outcomes[j.Anchor]
	if !ok {
		return
	}
	check := func(b string, o Outcome) {
		if b != j.Anchor && !sameOutcome(j, ref, o) {
			c.diverged = append(c.diverged, Divergence{Backend: b, Seq: j.Seq, Want: ref, Got: o})
			c.setState(b, Diverged)
		}
	}
	if backend == j.Anchor {
		for b, o := range j.outcomes {
			check(b, o)
		}
		return
	}
	check(backend, j.outcomes[backend])
}

// sameOutcome compares another backend's outcome b of j with the
// anchor's, a: both succeeded with the same row count, or both failed with
// the same class of error. An entry applied before (a replay after a
// crash finds its mark) has no outcome to compare. A transaction's commit
// the anchor's own transaction applied has no count either, but every
// statement in it succeeded there, so it must succeed everywhere.
func sameOutcome(j *Job, a, b Outcome) bool {
	if a.Skipped && j.Tx != "" && !b.Skipped {
		return b.SQLState == ""
	}
	if a.Skipped || b.Skipped {
		return true
	}
	if (a.SQLState == "") != (b.SQLState == "") {
		return false
	}
	if a.SQLState != "" {
		return a.SQLState[:min(2, len(a.SQLState))] == b.SQLState[:min(2, len(b.SQLState))]
	}
	return a.Rows == b.Rows
}

// Divergence records one backend found diverged, for reports.
type Divergence struct {
	Backend   string
	Seq       Seq
	Want, Got Outcome
}

// State returns a backend's state.
func (c *Calibrator) State(b string) BackendState {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.states[b]
}

// Divergences returns the divergences found so far.
func (c *Calibrator) Divergences() []Divergence {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Divergence(nil), c.diverged...)
}

// CaughtUp reports whether b is catching up and has nothing left to apply.
func (c *Calibrator) CaughtUp(b string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.states[b] != CatchingUp {
		return false
	}
	for _, j := range c.queues[b] {
		if j != nil {
			return false
		}
	}
	return true
}
