package calibrated

import (
	"context"
	"database/sql/driver"
	"errors"
)

// Status is a snapshot of a running connector, for operators and tools.
type Status struct {
	Ledger    string          // the ledger's identity
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
	st := e.cal.Stats()
	s := Status{Ledger: e.ledger.ID(), Processed: uint64(st.Processed), Anchor: st.Anchor, Holders: st.Holders, Waiting: st.Waiting}
	for _, b := range e.backends {
		s.Backends = append(s.Backends, BackendStatus{Name: b.Name, State: st.States[b.Name].String(), Queued: st.Queued[b.Name], Reading: int(e.inflight[b.Name].Load())})
	}
	return s, nil
}
