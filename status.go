package calibrated

import (
	"context"
	"database/sql/driver"
	"errors"
	"slices"
	"time"
)

// Status is a snapshot of a running connector, for operators and tools.
type Status struct {
	Ledger    string          // the ledger's identity
	Process   string          // this process's name in the ledger
	Shared    bool            // other processes may append to the ledger (remote mode)
	LogTime   time.Time       // the latest stamp read: the ledger's clock
	Processes []Process       // every process seen in the ledger, latest first
	Processed uint64          // the last ledger position the calibrator has read
	Anchor    string          // the backend statements run on first
	Holders   int             // writes and transactions holding keys
	Waiting   int             // writes waiting for keys
	Backends  []BackendStatus // in DSN order
}

// BackendStatus is one backend's part of a [Status].
type BackendStatus struct {
	Name    string
	State   string // "active", "down", "catching-up", "diverged", "stale" or "resyncing"
	Queued  int    // admitted entries its applier has not applied yet
	Reading int    // reads in flight on it
	Applier string // the process that applies to it: this one, or in remote mode the holder of its lease ("" for none)
}

// Process is one process seen in the ledger.
type Process struct {
	Name     string
	LastSeen time.Time // the stamp of its latest event, in log time
}

// StatusOf returns the status of a connector made by [NewConnector] or
// [Driver.OpenConnector]. It starts the connector if it has not started.
func StatusOf(ctx context.Context, c driver.Connector) (Status, error) {
	cc, ok := c.(*connector)
	if !ok {
		return Status{}, errors.New("calibrated: StatusOf needs a connector from calibrated.NewConnector")
	}
	e, err := cc.engine(ctx)
	if err != nil {
		return Status{}, err
	}
	st := e.Calibrator().Stats()
	s := Status{Ledger: e.Ledger().ID(), Process: e.Calibrator().Origin(), Shared: e.SharedLedger(), LogTime: st.LogTime,
		Processed: uint64(st.Processed), Anchor: st.Anchor, Holders: st.Holders, Waiting: st.Waiting}
	for name, last := range e.Calibrator().Participants() {
		s.Processes = append(s.Processes, Process{Name: name, LastSeen: last})
	}
	slices.SortFunc(s.Processes, func(a, b Process) int { return b.LastSeen.Compare(a.LastSeen) })
	for _, b := range e.Backends() {
		applier := e.Calibrator().Origin()
		if e.SharedLedger() {
			applier, _ = e.Calibrator().LeaseHolder(b.Name)
		}
		s.Backends = append(s.Backends, BackendStatus{Name: b.Name, State: st.States[b.Name].String(), Queued: st.Queued[b.Name],
			Reading: e.Reading(b.Name), Applier: applier})
	}
	return s, nil
}
