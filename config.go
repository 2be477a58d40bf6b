package calibrated

import (
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/calibrated/calibrated/internal/dsn"
	"github.com/calibrated/calibrated/internal/engine"
	"github.com/calibrated/calibrated/ledger"
)

// Backend is one database named in the DSN as db.NAME=URL.
type Backend struct {
	Name    string // NAME in db.NAME=URL: letters, digits, '_' and '-'
	URL     string // the URL exactly as written, including a "pq:" prefix
	Dialect string // "postgres", "mysql" or "sqlite", derived from URL
	Driver  string // "pgx" (postgres://, postgresql://), "pq" (pq:postgres://), "mysql" (mysql://) or "sqlite" (sqlite:PATH)
	DSN     string // what to pass to Driver's sql.Open: URL without a "pq:" or "mysql://" prefix, or PATH for sqlite
}

// Config is the parsed form of a DSN. Start from [NewConfig] or [ParseDSN]:
// [Config.Validate] rejects zero values, so a bare Config{} is not usable.
type Config struct {
	Backends    []Backend     // db.NAME=URL, in DSN order (anchor preference); at least one
	Ledger      string        // DSN "ledger": local, file:///DIR, nats://HOST:PORT/NAME or redis://HOST:PORT/NAME; default local
	Conflict    string        // DSN "conflict": wait or reject; default wait
	LockTimeout time.Duration // DSN "lock_timeout": how long conflict=wait queues, > 0; default 5s
	Ack         string        // DSN "ack": all or anchor; default all
	Consistency string        // DSN "consistency": strong, local or none; default strong
	Read        string        // DSN "read": nearest, anchor or a backend name; default nearest
	Shared      []string      // DSN "shared": []string{"*"} (every table) or table names; default []string{"*"}
	Private     []string      // DSN "private": table names, which win over Shared; default nil
	Unparsed    string        // DSN "unparsed": reject or barrier; default reject
	Errors      string        // DSN "errors": wrapped or native; default wrapped
	DownAfter   time.Duration // DSN "down_after": failed retries before a backend is down, > 0; default 2s
	TxLease     time.Duration // DSN "tx_lease": how long, in log time, a transaction may go without a statement before its locks are released; > 0; default 30s
	Logger      *slog.Logger  // not in the DSN (see [WithLogger]); default nil, which discards
	Metrics     *Metrics      // not in the DSN (see [WithMetrics]); default nil, which records nothing
	// Opener, not in the DSN (see [WithOpener]), opens each backend's
	// database/sql handle instead of the driver the URL names: a hook for
	// wrapping drivers (tracing, fault injection). Default nil.
	Opener func(Backend) (*sql.DB, error)
	// Log, not in the DSN (see [WithLedger]), is a ledger shared with other
	// processes, used instead of the DSN's. Default nil.
	Log ledger.Log
}

// Legal values of the Config fields that hold an enumeration.
const (
	ConflictWait      = engine.ConflictWait
	ConflictReject    = engine.ConflictReject
	AckAll            = engine.AckAll
	AckAnchor         = engine.AckAnchor
	ConsistencyStrong = engine.ConsistencyStrong
	ConsistencyLocal  = engine.ConsistencyLocal
	ConsistencyNone   = engine.ConsistencyNone
	ReadNearest       = engine.ReadNearest
	ReadAnchor        = engine.ReadAnchor
	UnparsedReject    = engine.UnparsedReject
	UnparsedBarrier   = engine.UnparsedBarrier
	LedgerLocal       = engine.LedgerLocal
	ErrorsWrapped     = "wrapped"
	ErrorsNative      = "native"
)

const (
	defaultLockTimeout = 5 * time.Second
	defaultDownAfter   = 2 * time.Second
	defaultTxLease     = 30 * time.Second
)

// enumValues lists the legal values of each enumerated DSN key, in the order errors show them.
var enumValues = map[string][]string{
	"ack":         {AckAll, AckAnchor},
	"conflict":    {ConflictReject, ConflictWait},
	"consistency": {ConsistencyLocal, ConsistencyNone, ConsistencyStrong},
	"errors":      {ErrorsNative, ErrorsWrapped},
	"unparsed":    {UnparsedBarrier, UnparsedReject},
}

// optionKeys are the DSN keys other than db.NAME.
var optionKeys = []string{"ack", "conflict", "consistency", "down_after", "errors", "ledger", "lock_timeout", "private", "read", "shared", "tx_lease", "unparsed"}

const knownKeys = "ack, conflict, consistency, db.NAME, down_after, errors, ledger, lock_timeout, private, read, shared, tx_lease, unparsed"

// Option sets a Go-only setting, one that has no DSN key.
type Option func(*Config) error

// WithOpener makes the connector open each backend with open (see
// [Config.Opener]).
func WithOpener(open func(Backend) (*sql.DB, error)) Option {
	return func(c *Config) error {
		c.Opener = open
		return nil
	}
}

// WithLedger makes the driver use log as its ledger instead of the one the
// DSN names (see [Config.Log]). The log is taken to be shared with other
// processes: each backend is applied to by the process holding its
// applier lease, and consistency=strong reads first catch up with the
// log's tail. The driver does not close log.
func WithLedger(log ledger.Log) Option {
	return func(c *Config) error {
		c.Log = log
		return nil
	}
}

// WithLogger makes the driver log to l; nil discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *Config) error {
		c.Logger = l
		return nil
	}
}

// NewConfig returns a Config with every default set and no backends.
func NewConfig() *Config {
	return &Config{
		Ledger:      LedgerLocal,
		Conflict:    ConflictWait,
		LockTimeout: defaultLockTimeout,
		Ack:         AckAll,
		Consistency: ConsistencyStrong,
		Read:        ReadNearest,
		Shared:      []string{"*"},
		Unparsed:    UnparsedReject,
		Errors:      ErrorsWrapped,
		DownAfter:   defaultDownAfter,
		TxLease:     defaultTxLease,
	}
}

// ParseDSN parses a DSN of whitespace- or ';'-separated key=value pairs
// (libpq conninfo rules: a value may be single-quoted, with \' and \\ as
// escapes) and validates the result. Errors are *[ConfigError] and never
// contain a password.
func ParseDSN(s string) (*Config, error) {
	pairs, err := dsn.Split(s)
	if err != nil {
		return nil, err
	}
	// Check every key before any value, so that the error for a DSN mangled by
	// an unquoted space names a key rather than quoting a half-URL.
	seen := make(map[string]bool, len(pairs))
	for _, p := range pairs {
		switch {
		case !strings.HasPrefix(p.Key, "db.") && !slices.Contains(optionKeys, p.Key):
			return nil, &ConfigError{Key: p.Key, Err: errors.New("unknown key; known keys: " + knownKeys)}
		case seen[p.Key] && strings.HasPrefix(p.Key, "db."):
			return nil, &ConfigError{Key: p.Key, Err: errors.New("duplicate backend name")}
		case seen[p.Key]:
			return nil, &ConfigError{Key: p.Key, Err: errors.New("duplicate key")}
		case p.Value == "":
			return nil, &ConfigError{Key: p.Key, Err: fmt.Errorf("empty value; supported: %s", legalValues(p.Key, nil))}
		}
		seen[p.Key] = true
	}
	c := NewConfig()
	for _, p := range pairs {
		if err := c.set(p.Key, p.Value); err != nil {
			return nil, err
		}
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// set stores one value; Validate checks it against the rest of the Config.
func (c *Config) set(key, v string) error {
	switch key {
	case "ledger":
		c.Ledger = v
	case "conflict":
		c.Conflict = v
	case "ack":
		c.Ack = v
	case "consistency":
		c.Consistency = v
	case "read":
		c.Read = v
	case "unparsed":
		c.Unparsed = v
	case "errors":
		c.Errors = v
	case "shared":
		c.Shared = splitTables(v)
	case "private":
		c.Private = splitTables(v)
	case "lock_timeout", "down_after", "tx_lease":
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return wrongValueError(key, v, legalValues(key, nil))
		}
		switch key {
		case "lock_timeout":
			c.LockTimeout = d
		case "down_after":
			c.DownAfter = d
		default:
			c.TxLease = d
		}
	default:
		name := strings.TrimPrefix(key, "db.")
		b, err := parseBackend(name, v)
		if err != nil {
			return err
		}
		c.Backends = append(c.Backends, b)
	}
	return nil
}

// FormatDSN returns the canonical DSN of c: backends first in their order,
// then the options that differ from their defaults, sorted by key. It is
// exact, passwords included; pass it through [Redact] before showing it.
func (c *Config) FormatDSN() string {
	var b strings.Builder
	add := func(key, value string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(key)
		b.WriteByte('=')
		b.WriteString(dsn.Quote(value))
	}
	for _, be := range c.Backends {
		add("db."+be.Name, be.URL)
	}
	if c.Ack != AckAll {
		add("ack", c.Ack)
	}
	if c.Conflict != ConflictWait {
		add("conflict", c.Conflict)
	}
	if c.Consistency != ConsistencyStrong {
		add("consistency", c.Consistency)
	}
	if c.DownAfter != defaultDownAfter {
		add("down_after", c.DownAfter.String())
	}
	if c.Errors != ErrorsWrapped {
		add("errors", c.Errors)
	}
	if c.Ledger != LedgerLocal {
		add("ledger", c.Ledger)
	}
	if c.LockTimeout != defaultLockTimeout {
		add("lock_timeout", c.LockTimeout.String())
	}
	if len(c.Private) > 0 {
		add("private", strings.Join(c.Private, ","))
	}
	if c.Read != ReadNearest {
		add("read", c.Read)
	}
	if len(c.Shared) != 1 || c.Shared[0] != "*" {
		add("shared", strings.Join(c.Shared, ","))
	}
	if c.TxLease != defaultTxLease {
		add("tx_lease", c.TxLease.String())
	}
	if c.Unparsed != UnparsedReject {
		add("unparsed", c.Unparsed)
	}
	return b.String()
}

// Clone returns a deep copy of c; the Logger is shared.
func (c *Config) Clone() *Config {
	cc := *c
	cc.Backends = slices.Clone(c.Backends)
	cc.Shared = slices.Clone(c.Shared)
	cc.Private = slices.Clone(c.Private)
	return &cc
}

// Validate checks c as ParseDSN checks a DSN: at least one backend, names
// legal and unique, one dialect, legal values, durations > 0, read naming
// anchor, nearest or a backend, and no table both shared and private. It
// returns a *[ConfigError]. A Backend whose Dialect, Driver and DSN are all
// empty has them filled in from its URL; otherwise they must match the URL.
func (c *Config) Validate() error {
	if len(c.Backends) == 0 {
		return &ConfigError{Err: errors.New("no backend: add db.NAME=URL, e.g. db.a=postgres://user@host/db")}
	}
	for i := range c.Backends {
		b := &c.Backends[i]
		key := "db." + b.Name
		switch {
		case !dsn.IsName(b.Name):
			return &ConfigError{Key: key, Err: errors.New("bad backend name; use letters, digits, '_' and '-'")}
		case b.Name == ReadAnchor || b.Name == ReadNearest:
			return &ConfigError{Key: key, Err: errors.New("reserved backend name; anchor and nearest are read modes")}
		case slices.ContainsFunc(c.Backends[:i], func(o Backend) bool { return o.Name == b.Name }):
			return &ConfigError{Key: key, Err: errors.New("duplicate backend name")}
		}
		want, err := parseBackend(b.Name, b.URL)
		if err != nil {
			return err
		}
		if *b == (Backend{Name: b.Name, URL: b.URL}) {
			*b = want
		} else if *b != want {
			return &ConfigError{Key: key, Err: errors.New("Dialect, Driver and DSN do not match the URL; leave them empty to derive them")}
		}
		if a := c.Backends[0]; b.Dialect != a.Dialect {
			return &ConfigError{Key: key, Err: fmt.Errorf("dialect %s differs from dialect %s of backend %q; all backends must share one dialect", b.Dialect, a.Dialect, a.Name)}
		}
	}
	if !validLedger(c.Ledger) {
		return wrongValueError("ledger", c.Ledger, legalValues("ledger", nil))
	}
	for _, kv := range [...][2]string{{"ack", c.Ack}, {"conflict", c.Conflict}, {"consistency", c.Consistency}, {"errors", c.Errors}, {"unparsed", c.Unparsed}} {
		if !slices.Contains(enumValues[kv[0]], kv[1]) {
			return wrongValueError(kv[0], kv[1], legalValues(kv[0], nil))
		}
	}
	if c.LockTimeout <= 0 {
		return wrongValueError("lock_timeout", c.LockTimeout.String(), legalValues("lock_timeout", nil))
	}
	if c.DownAfter <= 0 {
		return wrongValueError("down_after", c.DownAfter.String(), legalValues("down_after", nil))
	}
	if c.TxLease <= 0 {
		return wrongValueError("tx_lease", c.TxLease.String(), legalValues("tx_lease", nil))
	}
	if c.Read != ReadAnchor && c.Read != ReadNearest && !slices.ContainsFunc(c.Backends, func(b Backend) bool { return b.Name == c.Read }) {
		return wrongValueError("read", c.Read, legalValues("read", c.Backends))
	}
	if !validTables(c.Shared, true) {
		return wrongValueError("shared", strings.Join(c.Shared, ","), legalValues("shared", nil))
	}
	if len(c.Private) > 0 && !validTables(c.Private, false) {
		return wrongValueError("private", strings.Join(c.Private, ","), legalValues("private", nil))
	}
	for _, t := range c.Private {
		if slices.ContainsFunc(c.Shared, func(s string) bool { return strings.EqualFold(s, t) }) {
			return &ConfigError{Key: "private", Err: fmt.Errorf("table %q is also in shared; a table is either shared or private", Redact(t))}
		}
	}
	return nil
}

// Dialect returns the dialect that all backends share, "" if there are none.
func (c *Config) Dialect() string {
	if len(c.Backends) == 0 {
		return ""
	}
	if d := c.Backends[0].Dialect; d != "" {
		return d
	}
	b, _ := parseBackend(c.Backends[0].Name, c.Backends[0].URL)
	return b.Dialect
}

// IsShared reports whether writes to table go through the ledger: a table in
// Private never does, and Shared "*" means every other table. Names compare
// case-insensitively and as given (no schema resolution).
func (c *Config) IsShared(table string) bool { return engine.IsShared(c.Shared, c.Private, table) }

// engine returns what the engine runs by; c has been validated, so each
// backend's dialect, driver and DSN are derived from its URL.
func (c *Config) engine() *engine.Config {
	ec := &engine.Config{Dialect: c.Dialect(), Ledger: c.Ledger, Conflict: c.Conflict, LockTimeout: c.LockTimeout,
		Ack: c.Ack, Consistency: c.Consistency, Read: c.Read, Shared: c.Shared, Private: c.Private,
		Unparsed: c.Unparsed, DownAfter: c.DownAfter, TxLease: c.TxLease, Logger: c.Logger, Log: c.Log}
	if c.Metrics != nil {
		ec.Metrics = c.Metrics
	}
	for _, b := range c.Backends {
		ec.Backends = append(ec.Backends, engine.Backend(b))
	}
	if open := c.Opener; open != nil {
		ec.Opener = func(b engine.Backend) (*sql.DB, error) { return open(Backend(b)) }
	}
	return ec
}

// parseBackend derives a Backend's dialect, driver and driver DSN from its URL.
func parseBackend(name, u string) (Backend, error) {
	b := Backend{Name: name, URL: u}
	isPostgres := func(s string) bool {
		return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
	}
	switch {
	case isPostgres(u):
		b.Dialect, b.Driver, b.DSN = "postgres", "pgx", u
	case strings.HasPrefix(u, "pq:") && isPostgres(u[len("pq:"):]):
		b.Dialect, b.Driver, b.DSN = "postgres", "pq", u[len("pq:"):]
	case strings.HasPrefix(u, "mysql://"):
		b.Dialect, b.Driver, b.DSN = "mysql", "mysql", u[len("mysql://"):]
		if !strings.Contains(b.DSN, "/") {
			return b, &ConfigError{Key: "db." + name, Err: fmt.Errorf("malformed mysql DSN %q; want mysql://[user[:password]@][net[(addr)]]/dbname[?params]", Redact(u))}
		}
		return b, nil
	case strings.HasPrefix(u, "sqlite:"):
		b.Dialect, b.Driver, b.DSN = "sqlite", "sqlite", u[len("sqlite:"):]
		if b.DSN == "" {
			return b, &ConfigError{Key: "db." + name, Err: errors.New("empty path; want sqlite:PATH")}
		}
		return b, nil
	default:
		return b, wrongValueError("db."+name, u, legalValues("db.", nil))
	}
	if _, err := url.Parse(b.DSN); err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password and all
		}
		return b, &ConfigError{Key: "db." + name, Err: fmt.Errorf("malformed URL %q: %v", Redact(u), err)}
	}
	return b, nil
}

// validLedger reports whether v is local or a well-formed ledger URL; whether
// that ledger is available is the connector's business.
func validLedger(v string) bool {
	if v == LedgerLocal {
		return true
	}
	u, err := url.Parse(v)
	if err != nil {
		return false
	}
	switch u.Scheme {
	case "file":
		return u.Host == "" && strings.HasPrefix(u.Path, "/")
	case "nats", "redis":
		name, ok := strings.CutPrefix(u.Path, "/")
		return ok && u.Hostname() != "" && name != "" && !strings.Contains(name, "/")
	}
	return false
}

// validTables reports whether list is a non-empty list of table names, or
// just "*" if star is set, such that FormatDSN can join and ParseDSN split it.
func validTables(list []string, star bool) bool {
	for _, t := range list {
		if t == "" || strings.Contains(t, ",") || dsn.Trim(t) != t || (t == "*" && !(star && len(list) == 1)) {
			return false
		}
	}
	return len(list) > 0
}

// legalValues describes the legal values of key; backends, if any, are the names read may take.
func legalValues(key string, backends []Backend) string {
	if vs, ok := enumValues[key]; ok {
		return strings.Join(vs, ", ")
	}
	switch key {
	case "ledger":
		return "local, file:///DIR, nats://HOST:PORT/NAME, redis://HOST:PORT/NAME"
	case "lock_timeout", "down_after", "tx_lease":
		return "a duration > 0 such as 5s or 250ms"
	case "read":
		s := "anchor, nearest, or a backend name"
		if len(backends) > 0 {
			names := make([]string, len(backends))
			for i, b := range backends {
				names[i] = b.Name
			}
			s += " (" + strings.Join(names, ", ") + ")"
		}
		return s
	case "shared":
		return "* or comma-separated table names"
	case "private":
		return "comma-separated table names"
	}
	return "postgres://, postgresql://, pq:postgres://, mysql://, sqlite:PATH"
}

// wrongValueError reports an illegal value, redacted, with the legal ones.
func wrongValueError(key, v, legal string) error {
	return &ConfigError{Key: key, Err: fmt.Errorf("wrong value %q; supported: %s", Redact(v), legal)}
}

// splitTables splits a comma-separated value, trimming whitespace around items.
func splitTables(v string) []string {
	list := strings.Split(v, ",")
	for i, t := range list {
		list[i] = dsn.Trim(t)
	}
	return list
}
