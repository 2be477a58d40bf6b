package engine

import (
	"database/sql"

	"github.com/calibrated/calibrated/backend"
)

// Rows is a statement's result set: streamed from one backend's rows
// (Live), or buffered (Buf: the rows RETURNING gave the anchor). Done, if
// set, runs once when the rows are closed.
type Rows struct {
	Live *sql.Rows
	Buf  *backend.Buffered
	Done func()
}
