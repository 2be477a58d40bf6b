package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Seq is a position in the log. The first event has Seq 1.
type Seq uint64

// Type says what an event asks of the calibrator.
type Type uint8

// The event types of DESIGN §4.
const (
	Write   Type = iota + 1 // an autocommit write, fully determined by its statements
	Lock                    // a transaction asks for more keys
	Commit                  // a transaction's statements, to be replayed in log order
	Abort                   // a transaction gives up its keys
	Cancel                  // a waiting Write or Lock is withdrawn (lock timeout, cancelled context)
	Applied                 // an applier's report
	Tick                    // moves log time on
	State                   // a backend changes state: Backend, State
	Lease                   // Origin asks to apply to Backend for Lease, in log time (remote mode)
)

var typeNames = [...]string{"", "write", "lock", "commit", "abort", "cancel", "applied", "tick", "state", "lease"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "unknown"
}

// Stmt is one statement with its arguments, as every backend replays it.
// Args hold driver.Value types only: nil, int64, float64, bool, []byte,
// string or time.Time.
type Stmt struct {
	SQL   string
	Args  []any
	Query bool // the caller wants the rows the anchor returns (RETURNING)
}

// Outcome is what one backend made of one entry (P7 compares them).
type Outcome struct {
	Rows     int64  // rows affected by the entry's last statement
	SQLState string // "" on success
	Msg      string // the backend's error message, if any
	Skipped  bool   // already applied (by the anchor's own transaction)
}

// Event is one record of the log. Which fields matter depends on Type.
type Event struct {
	Type   Type
	Stamp  time.Time // the appender's clock: log time
	Origin string    // the appending process
	Req    uint64    // the origin's request number, so it can find its own events

	Tx     string        // Lock, Commit, Abort: the transaction, unique per origin
	Keys   []Key         // Write, Lock, Commit
	Stmts  []Stmt        // Write, Commit
	Reject bool          // Write, Lock: conflict=reject rather than wait
	Lease  time.Duration // Lock: the transaction's locks lapse if it sends nothing for this long, in log time; Lease: how long the claim holds (0 gives it up)

	Target Seq // Cancel: the request to withdraw

	Backend  string    // Applied, State, Lease; Commit, Lock: the backend the transaction runs on
	Seqs     []Seq     // Applied
	Outcomes []Outcome // Applied, aligned with Seqs
	State    string    // State: one of the BackendState names
}

// Log is the totally ordered, append-only ledger (DESIGN §4).
type Log interface {
	// ID identifies this log's history; backends record it with their positions.
	ID() string
	// Append adds ev and returns its position; ev is durable when it returns.
	Append(ctx context.Context, ev *Event) (Seq, error)
	// Read returns a cursor over the log from position from onwards.
	Read(ctx context.Context, from Seq) (Cursor, error)
	// Tail returns the position of the last event appended.
	Tail(ctx context.Context) (Seq, error)
	Close() error
}

// InPlace is a Log whose events can be read in place as soon as Append
// returns: an in-process log. A calibrator over such a log applies every
// event up to the one just appended in the appending goroutine, so that a
// decision or an acknowledgement needs no hand-off to the calibrator's own
// goroutine and back.
type InPlace interface {
	// Event returns the event at seq, or false if there is none (yet).
	Event(seq Seq) (*Event, bool)
}

// Cursor reads a log in order.
type Cursor interface {
	// Next returns the next event, blocking at the tail until one is
	// appended, ctx is done or the log is closed (ErrClosed).
	Next(ctx context.Context) (Seq, *Event, error)
	Close() error
}

// ErrClosed is returned by a closed log or cursor.
var ErrClosed = errors.New("ledger: closed")

// ErrUnavailable is wrapped by the errors of a log that cannot be used: a
// remote log that does not answer (retry later: the log reconnects by
// itself), or one whose history is not what its readers saw (a
// [*HistoryError]; retrying does not help).
var ErrUnavailable = errors.New("calibrated: ledger unavailable")

// ErrTrimmed is wrapped by the error of a read from a position a log
// has dropped (a trimmed file or in-process ledger).
var ErrTrimmed = errors.New("calibrated: ledger position trimmed")

// ErrHistory is wrapped by a [*HistoryError].
var ErrHistory = errors.New("calibrated: ledger history broken")

// HistoryError reports a log whose history changed under a reader: an
// entry missing (a gap), positions going back (a rewind), or the log
// deleted and created anew. A cursor that returns one delivers nothing
// past it. It matches both [ErrHistory] and [ErrUnavailable].
type HistoryError struct {
	Log      string // the log, as its package names it
	Expected Seq    // the position the reader expected next
	Got      Seq    // the position it found; 0 if none
	What     string // what was seen, e.g. "stream recreated at …"
}

func (e *HistoryError) Error() string {
	s := fmt.Sprintf("calibrated: ledger %s: history broken: %s", e.Log, e.What)
	if e.Got != 0 {
		s += fmt.Sprintf(" (expected seq %d, got %d)", e.Expected, e.Got)
	} else if e.Expected != 0 {
		s += fmt.Sprintf(" (at seq %d)", e.Expected)
	}
	return s + "; nothing past it is delivered: restore the log or resync the backends"
}

// Is makes a HistoryError match [ErrHistory] and [ErrUnavailable].
func (e *HistoryError) Is(target error) bool { return target == ErrHistory || target == ErrUnavailable }
