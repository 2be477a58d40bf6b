package engine

import (
	"database/sql"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/calibrated/calibrated/ledger"
)

// Config is what the engine runs by: the driver's Config, parsed and
// validated, with the dialect resolved.
type Config struct {
	Backends    []Backend // in DSN order (anchor preference)
	Dialect     string    // "postgres", "mysql" or "sqlite"
	Ledger      string
	Conflict    string
	LockTimeout time.Duration
	Ack         string
	Consistency string
	Read        string
	Shared      []string
	Private     []string
	Unparsed    string
	DownAfter   time.Duration
	TxLease     time.Duration
	Logger      *slog.Logger // nil discards
	Metrics     Observer     // nil records nothing
	Opener      func(Backend) (*sql.DB, error)
	Log         ledger.Log // a ledger shared with other processes, used instead of Ledger
}

// Backend is one backend of a Config, as the driver's Backend describes it.
type Backend struct {
	Name    string
	URL     string
	Dialect string
	Driver  string
	DSN     string
}

// Legal values of the Config fields that hold an enumeration.
const (
	ConflictWait      = "wait"
	ConflictReject    = "reject"
	AckAll            = "all"
	AckAnchor         = "anchor"
	ConsistencyStrong = "strong"
	ConsistencyLocal  = "local"
	ConsistencyNone   = "none"
	ReadNearest       = "nearest"
	ReadAnchor        = "anchor"
	UnparsedReject    = "reject"
	UnparsedBarrier   = "barrier"
	LedgerLocal       = "local"
)

// IsShared reports whether table is shared under the shared and private
// lists: private wins, "*" shares every table, names match case-insensitively.
func IsShared(shared, private []string, table string) bool {
	fold := func(s string) bool { return strings.EqualFold(s, table) }
	if slices.ContainsFunc(private, fold) {
		return false
	}
	return slices.Contains(shared, "*") || slices.ContainsFunc(shared, fold)
}

// IsShared reports whether the config shares table.
func (c *Config) IsShared(table string) bool { return IsShared(c.Shared, c.Private, table) }

// Observer hears what the engine does, for metrics. The driver's Metrics is one.
type Observer interface {
	Admitted(kind string)
	Conflict(policy string)
	LockWait(d time.Duration)
	ReadWait(backend string, d time.Duration)
	AppendLatency(d time.Duration)
	Applied(backend string, entries int)
	SetLag(backend string, entries int)
	SetState(backend, state string)
}

// nobody is the Observer of a Config without one.
type nobody struct{}

// observed reports whether the engine has an Observer of its own, for work
// done only to tell it something.
func (e *Engine) observed() bool { return e.metrics != Observer(nobody{}) }

func (nobody) Admitted(string)                {}
func (nobody) Conflict(string)                {}
func (nobody) LockWait(time.Duration)         {}
func (nobody) ReadWait(string, time.Duration) {}
func (nobody) AppendLatency(time.Duration)    {}
func (nobody) Applied(string, int)            {}
func (nobody) SetLag(string, int)             {}
func (nobody) SetState(string, string)        {}
