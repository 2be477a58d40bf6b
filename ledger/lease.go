package ledger

import "time"

// Applier leases (DESIGN §5, remote mode): when several processes share a
// log, exactly one of them applies to each backend, the holder of that
// backend's lease. Leases are Lease events in the log and expire in log
// time, so every process agrees at every position on who holds each one.
// A claim is granted when nobody holds the lease, when the claimant holds
// it already (a renewal), or when the holder's lease has run out by the
// claim's own stamp; otherwise it is ignored. A holder gives its lease up
// with a claim of zero length.
//
// A lease says who should apply; it does not make applying safe. Two
// processes may apply to one backend for a moment around a hand-over (the
// old holder finishing a batch it started before its lease ran out); the
// applied marks, written in the same backend transaction as the entries,
// make the second application a no-op (P5).

type lease struct {
	holder string
	until  time.Time
}

// claim folds a Lease event.
func (c *Calibrator) claim(ev *Event) {
	if _, ok := c.states[ev.Backend]; !ok {
		return
	}
	cur, held := c.leases[ev.Backend]
	if held && cur.holder != ev.Origin && c.now.Before(cur.until) {
		return // held by another, and not run out
	}
	if ev.Lease <= 0 {
		if held && cur.holder == ev.Origin {
			delete(c.leases, ev.Backend)
		}
		return
	}
	c.leases[ev.Backend] = lease{holder: ev.Origin, until: ev.Stamp.Add(ev.Lease)}
}

// Participants returns every process that has appended to the log, with
// the stamp of its latest event: in remote mode, each live process renews
// its leases or claims free ones every second or so, so a process not seen
// for a few seconds of log time is gone.
func (c *Calibrator) Participants() map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]time.Time, len(c.seen))
	for o, t := range c.seen {
		out[o] = t
	}
	return out
}

// LeaseHolder returns the process that holds backend's applier lease and
// until when, in log time; holder is "" when nobody does or the lease ran
// out by the latest stamp read.
func (c *Calibrator) LeaseHolder(backend string) (holder string, until time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.leases[backend]
	if !ok || !c.now.Before(l.until) {
		return "", time.Time{}
	}
	return l.holder, l.until
}

// HoldsLease reports whether this process holds backend's applier lease.
func (c *Calibrator) HoldsLease(backend string) bool {
	h, _ := c.LeaseHolder(backend)
	return h == c.origin
}
