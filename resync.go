package calibrated

import (
	"context"
	"database/sql/driver"
	"errors"
)

// Progress hears how a resync goes: each table as it is copied, with its
// row count.
type Progress func(table string, rows int64)

// Resync rebuilds backend to from backend from while writes go on (P7): to
// stops serving; every key is held for a moment so that from's snapshot
// sits at a known ledger position; the shared tables, their sequences and
// the applied marks are copied from that snapshot; then to replays the
// entries admitted since and rejoins as active. from must be active. Both
// must be reached through pgx (postgres:// URLs).
func Resync(ctx context.Context, c driver.Connector, from, to string, progress Progress) error {
	cc, ok := c.(*connector)
	if !ok {
		return errors.New("calibrated: Resync needs a connector from calibrated.NewConnector")
	}
	e, err := cc.engine(ctx)
	if err != nil {
		return err
	}
	return e.Resync(ctx, from, to, progress)
}
