// Package redislog is the ledger on a Redis stream
// (ledger=redis://host:6379/NAME), for teams that run Redis and not NATS.
// It needs Redis 7 or later.
//
// # Keys
//
// Ledger NAME is two keys: the stream calibrated:{NAME} and the hash
// calibrated:{NAME}:meta, which holds the ledger's identity (a random id
// made by the first Open) and its last position. The braces keep both in
// one hash slot, for Redis Cluster.
//
// # Positions
//
// The event at position N is the stream entry with id 0-N. Append runs a
// Lua script that, atomically, checks the identity, adds the entry at
// 0-(last+1) and records last+1; Redis runs one script at a time, so two
// processes appending together get consecutive positions, never the same
// one and never a hole, and an XADD that fails leaves the last position as
// it was. (XADD's own check that ids grow would refuse a duplicate, but not
// prevent a hole, and says nothing about a stream that was deleted and
// made anew.) Tail reads the last position and checks the identity in one
// round trip. Each entry also carries the identity, so readers can check
// every entry they get.
//
// # Guarantees, and what they are not
//
// Append returns once the primary has run the script. That is weaker than
// the file and NATS ledgers: Redis replicates asynchronously, so a
// failover to a replica can lose the acknowledged tail, and a single
// server keeps only what its persistence has written (AOF with
// appendfsync always to lose nothing; appendfsync everysec can lose about a
// second). With the option wait=N (see [Wait]) Append also issues WAIT N
// and fails unless N replicas acknowledged the write within the timeout;
// even then a failover can lose it (WAIT does not make Redis strongly
// consistent), but only if every replica that had it is lost too.
//
// Redis does not deduplicate, so the log never retries an Append on its
// own: an Append that failed after it was sent may or may not be in the
// log (at most once).
//
// # Readers
//
// A cursor reads with XREAD BLOCK from its position. It checks that every
// entry is at the position after the last it delivered and carries the
// ledger's identity. An entry deleted (XDEL, XTRIM), a position that goes
// back, a stream deleted, or a ledger deleted and created anew make Next
// return a [*ledger.HistoryError] naming what it saw; the cursor delivers
// nothing past it and keeps returning that error. A cursor at the tail
// checks the identity each time it has waited half a second for nothing.
//
// When Redis cannot be reached, every call fails within [Timeout] (default
// 2s), as [ledger.ErrUnavailable]; the client reconnects on the next call.
package redislog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/calibrated/calibrated/ledger"
)

var _ ledger.Log = (*Log)(nil)

// DefaultTimeout bounds each request to Redis unless [Timeout] says
// otherwise.
const DefaultTimeout = 2 * time.Second

// Option configures [Open]. Each has a URL query form, given with it.
type Option func(*config) error

type config struct {
	wait    int
	timeout time.Duration
}

// Wait makes Append issue WAIT n after each write and fail unless n
// replicas acknowledged it within the timeout (wait=N; default 0, no WAIT).
func Wait(n int) Option {
	return func(c *config) error {
		if n < 0 {
			return fmt.Errorf(`calibrated: wrong value for "wait": %d; supported: a number of replicas, 0 or more`, n)
		}
		c.wait = n
		return nil
	}
}

// Timeout bounds each request to Redis, and WAIT (timeout=DURATION;
// default [DefaultTimeout]).
func Timeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf(`calibrated: wrong value for "timeout": %v; supported: a positive duration`, d)
		}
		c.timeout = d
		return nil
	}
}

// Log is a [ledger.Log] on a Redis stream. Its methods are safe for
// concurrent use.
type Log struct {
	name   string
	stream string // the stream's key
	meta   string // the hash's key
	ident  string // the ledger's identity, from the hash
	cfg    config
	rdb    *redis.Client

	done      chan struct{}
	closeOnce sync.Once
}

// The scripts. KEYS[1] is the stream, KEYS[2] the hash, ARGV[1] the
// identity. Errors start with a word that fail recognises.
var (
	// openScript returns the ledger's identity, making it with ARGV[1] if
	// there is none; ARGV[2] is the creation time, for people.
	openScript = redis.NewScript(`
local id = redis.call('HGET', KEYS[2], 'id')
if id then return id end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('CALIBRATED_ORPHAN the stream exists without its hash')
end
redis.call('HSET', KEYS[2], 'id', ARGV[1], 'n', 0, 'created', ARGV[2])
return ARGV[1]`)

	// tailScript returns the last position.
	tailScript = redis.NewScript(`
local m = redis.call('HMGET', KEYS[2], 'id', 'n')
if m[1] ~= ARGV[1] then
  return redis.error_reply('CALIBRATED_IDENTITY ' .. (m[1] or 'missing'))
end
local n = tonumber(m[2])
if n > 0 and redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('CALIBRATED_MISSING ' .. n)
end
return n`)

	// appendScript adds ARGV[2] at the next position and returns it.
	appendScript = redis.NewScript(`
local m = redis.call('HMGET', KEYS[2], 'id', 'n')
if m[1] ~= ARGV[1] then
  return redis.error_reply('CALIBRATED_IDENTITY ' .. (m[1] or 'missing'))
end
local n = tonumber(m[2])
if n > 0 and redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.error_reply('CALIBRATED_MISSING ' .. n)
end
n = n + 1
redis.call('XADD', KEYS[1], '0-' .. n, 'i', ARGV[1], 'e', ARGV[2])
redis.call('HSET', KEYS[2], 'n', n)
return n`)
)

// Open connects to Redis at rawURL, redis://[user:pass@]host:port/NAME
// (rediss:// for TLS), and opens ledger NAME, creating it if there is
// none. The query holds this package's options (wait, timeout) and
// go-redis's own (db, dial_timeout, …); opts come after and override them.
func Open(ctx context.Context, rawURL string, opts ...Option) (*Log, error) {
	ropts, name, qopts, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	cfg := config{timeout: DefaultTimeout}
	for _, o := range append(qopts, opts...) {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	ropts.DialTimeout = cfg.timeout
	ropts.ReadTimeout = cfg.timeout
	ropts.WriteTimeout = cfg.timeout
	ropts.ContextTimeoutEnabled = true
	ropts.MaxRetries = -1 // a retried append could be applied twice
	ropts.DisableIdentity = true
	ropts.DialerRetries = 1 // fail fast; the next call dials again
	l := &Log{
		name:   name,
		stream: "calibrated:{" + name + "}",
		meta:   "calibrated:{" + name + "}:meta",
		cfg:    cfg,
		rdb:    redis.NewClient(ropts),
		done:   make(chan struct{}),
	}
	var r [16]byte
	_, _ = rand.Read(r[:])
	rctx, cancel := l.bound(ctx)
	defer cancel()
	id, err := openScript.Run(rctx, l.rdb, []string{l.stream, l.meta}, hex.EncodeToString(r[:]), time.Now().UTC().Format(time.RFC3339Nano)).Text()
	if err != nil {
		_ = l.rdb.Close()
		if strings.HasPrefix(err.Error(), "CALIBRATED_ORPHAN") {
			return nil, fmt.Errorf("calibrated: ledger %s: stream %s exists without %s, so it is not a ledger or its identity was deleted; delete the stream or pick another name", name, l.stream, l.meta)
		}
		return nil, l.unavailable("open", err)
	}
	l.ident = id
	return l, nil
}

// parseURL takes NAME and this package's options out of rawURL and hands
// the rest to go-redis.
func parseURL(raw string) (*redis.Options, string, []Option, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, "", nil, fmt.Errorf("calibrated: ledger URL: %w", err)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return nil, "", nil, fmt.Errorf("calibrated: ledger URL scheme %q; supported: redis://host:port/NAME, rediss://host:port/NAME", u.Scheme)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" || len(name) > 200 || strings.ContainsAny(name, "{}/ \t\r\n") {
		return nil, "", nil, fmt.Errorf("calibrated: Redis ledger name %q; want 1 to 200 characters, none of { } / or spaces", name)
	}
	var opts []Option
	q := u.Query()
	db := "0"
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "wait":
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, "", nil, fmt.Errorf(`calibrated: wrong value for "wait": %q; supported: a number of replicas, 0 or more`, v)
			}
			opts = append(opts, Wait(n))
			q.Del(k)
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil {
				return nil, "", nil, fmt.Errorf(`calibrated: wrong value for "timeout": %q; supported: a positive duration such as 2s`, v)
			}
			opts = append(opts, Timeout(d))
			q.Del(k)
		case "db":
			db = v
			q.Del(k)
		}
	}
	v := *u
	v.Path, v.RawPath, v.RawQuery = "/"+db, "", q.Encode()
	ropts, err := redis.ParseURL(v.String())
	if err != nil {
		return nil, "", nil, fmt.Errorf("calibrated: ledger URL: %w; besides go-redis's options, supported: wait, timeout", err)
	}
	return ropts, name, opts, nil
}

// ID implements [ledger.Log]: the identity the first Open made, kept in
// the ledger's hash.
func (l *Log) ID() string { return "redis-" + l.ident }

// Name returns the ledger's name.
func (l *Log) Name() string { return l.name }

func (l *Log) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, l.cfg.timeout)
}

func (l *Log) closed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// Append implements [ledger.Log].
func (l *Log) Append(ctx context.Context, ev *ledger.Event) (ledger.Seq, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if l.closed() {
		return 0, ledger.ErrClosed
	}
	p, err := ledger.EncodeEvent(ev)
	if err != nil {
		return 0, err
	}
	rctx, cancel := l.bound(ctx)
	defer cancel()
	keys := []string{l.stream, l.meta}
	var add *redis.Cmd
	var wait *redis.Cmd
	waitFor := l.cfg.timeout * 3 / 4 // the reply must come before rctx ends
	run := func() error {
		_, err := l.rdb.Pipelined(rctx, func(pipe redis.Pipeliner) error {
			add = appendScript.EvalSha(rctx, pipe, keys, l.ident, p)
			if l.cfg.wait > 0 {
				wait = pipe.Do(rctx, "WAIT", l.cfg.wait, waitFor.Milliseconds())
			}
			return nil
		})
		return err
	}
	err = run()
	if err != nil && redis.HasErrorPrefix(add.Err(), "NOSCRIPT") { // not run: load it and try again
		if err = appendScript.Load(rctx, l.rdb).Err(); err == nil {
			err = run()
		}
	}
	if err := add.Err(); err != nil { // the pipeline's own error is its first command's, or WAIT's
		return 0, l.fail("append", 0, err)
	}
	n, err := add.Int64()
	if err != nil {
		return 0, l.fail("append", 0, err)
	}
	if wait != nil {
		got, err := wait.Int64()
		if err != nil {
			return 0, l.unavailable("append: WAIT", err)
		}
		if got < int64(l.cfg.wait) {
			return 0, fmt.Errorf("calibrated: ledger %s: append at seq %d acknowledged by %d of %d replicas within %v (wait=%d); it is on the primary and may be lost in a failover: %w",
				l.name, n, got, l.cfg.wait, waitFor, l.cfg.wait, ledger.ErrUnavailable)
		}
	}
	return ledger.Seq(n), nil
}

// Tail implements [ledger.Log].
func (l *Log) Tail(ctx context.Context) (ledger.Seq, error) {
	return l.tail(ctx, 0)
}

// tail reads the last position and checks the identity; at is a reader's
// next position, for the error.
func (l *Log) tail(ctx context.Context, at ledger.Seq) (ledger.Seq, error) {
	if l.closed() {
		return 0, ledger.ErrClosed
	}
	rctx, cancel := l.bound(ctx)
	defer cancel()
	n, err := tailScript.Run(rctx, l.rdb, []string{l.stream, l.meta}, l.ident).Int64()
	if err != nil {
		if cerr := ended(ctx); cerr != nil {
			// The caller's deadline cut the request (go-redis reports an
			// i/o timeout then): that is the caller's error, not the ledger's.
			return 0, cerr
		}
		return 0, l.fail("tail", at, err)
	}
	return ledger.Seq(n), nil
}

// ended returns ctx's error, or DeadlineExceeded once its deadline has
// passed even if ctx does not say so yet: a socket deadline set from it
// can expire a moment before the context's own timer marks it done.
func ended(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// fail turns a Redis error into a ledger error: the scripts' own into
// history errors, the rest into unavailability.
func (l *Log) fail(op string, at ledger.Seq, err error) error {
	if l.closed() {
		return ledger.ErrClosed
	}
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "CALIBRATED_IDENTITY "); ok {
		what := fmt.Sprintf("ledger %s was deleted (its hash %s is gone)", l.name, l.meta)
		if rest != "missing" {
			what = fmt.Sprintf("ledger %s was deleted and created anew: its identity is %s, it was %s", l.name, rest, l.ident)
		}
		return &ledger.HistoryError{Log: l.name, Expected: at, What: what}
	}
	if rest, ok := strings.CutPrefix(msg, "CALIBRATED_MISSING "); ok {
		return &ledger.HistoryError{Log: l.name, Expected: at,
			What: fmt.Sprintf("stream %s was deleted; its hash says it held %s entries", l.stream, rest)}
	}
	return l.unavailable(op, err)
}

func (l *Log) unavailable(op string, err error) error {
	return fmt.Errorf("calibrated: ledger %s: %s: %w: %w", l.name, op, ledger.ErrUnavailable, err)
}

// Read implements [ledger.Log]. from 0 reads from the start, as 1 does. It
// checks the ledger's identity first.
func (l *Log) Read(ctx context.Context, from ledger.Seq) (ledger.Cursor, error) {
	from = max(from, 1)
	if _, err := l.tail(ctx, from); err != nil {
		return nil, err
	}
	return &cursor{l: l, next: from, stop: make(chan struct{})}, nil
}

// Close implements [ledger.Log]. Waiting cursors return [ledger.ErrClosed].
func (l *Log) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.rdb.Close()
	})
	if errors.Is(err, redis.ErrClosed) {
		err = nil
	}
	return err
}
