// Package natslog is the ledger on NATS JetStream
// (ledger=nats://host:4222/NAME): one stream per ledger, shared by every
// process that opens it.
//
// # Positions
//
// Each event is one message of stream NAME, on subject
// calibrated.ledger.NAME, and its position is the message's stream
// sequence: the server numbers messages 1, 2, 3… in the order it stores
// them, whichever process sent them, so positions are dense and totally
// ordered without any coordination between appenders. Append sends each
// event with a Nats-Msg-Id unique to this Log and the event, and sends it
// again when no acknowledgement came within a quarter of [Timeout]: the
// stream remembers ids for its duplicate window (two minutes) and answers
// a copy with the first one's sequence instead of storing it twice.
// Appends from many goroutines are in flight together on one connection. (An expected-last-sequence check would also keep positions
// dense, but it lets one append through at a time and makes concurrent
// appenders retry each other's conflicts.)
//
// # Group commit
//
// On a server that syncs every write, one event per message costs one
// fsync per Append. A stream created with [GroupCommit] (group=N) is
// packed instead: one writer per Log sends the events of the Appends that
// arrived while its previous message was on its way as one message of up
// to N events, whose header carries its first position. Such a message is
// published with Nats-Expected-Last-Sequence, so that positions stay dense
// when several processes append: the loser of a race reads the winner's
// message and tries again after it. (The server checks the expected
// sequence before duplicates, so after a lost acknowledgement the writer
// first looks for its own message id among the messages it lost to.) Positions are then no longer stream
// sequences; Read finds a position's message by binary search over the
// messages' headers, and Tail reads the last message's header (with the
// stream's info, to check its identity, in parallel). The format is fixed
// when the stream is created (its description says "packed").
//
// # Durability
//
// Append returns once the server acknowledged the message. That is only as
// durable as the stream: Open refuses a stream that can lose an
// acknowledged append, and says what it found and the fix, unless the
// caller opts in with [Relaxed] (durability=relaxed). A stream is accepted
// when it is stored in files and either has three or more replicas (an
// acknowledgement then means a quorum holds the message), or the server
// syncs every write to disk (sync_interval: always in its jetstream
// block). The server's setting cannot be read over a client connection, so
// for a stream of one or two replicas Open reads it from the server's
// monitoring endpoint ([Monitor], monitor=http://host:8222); without one it
// refuses too. A server with the default sync_interval (2 minutes) can lose
// the last two minutes of acknowledged appends when its machine stops.
//
// # Readers
//
// A cursor drives its own pull consumer (ephemeral, in memory, no acks) from
// its position, and checks every message: its position must be the one
// after the last delivered, and the stream must be the one Open found
// (its creation time, checked whenever the cursor makes a consumer, which
// it does again after any error). A missing message (deleted from the
// stream, or cut by limits), a sequence that goes back, or a stream deleted
// or recreated make Next return a [*ledger.HistoryError] naming what it
// saw; the cursor delivers nothing past it and keeps returning that error.
//
// # Outages
//
// When the server cannot be reached, Append, Tail, Read and Next fail at
// once, or within [Timeout] (default 2s) for a request already sent, with
// an error that matches [ledger.ErrUnavailable]; the connection reconnects
// by itself and the next call succeeds once the server is back. An Append
// that failed may or may not be in the log: its event can still appear,
// once.
package natslog

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/calibrated/calibrated/ledger"
)

var _ ledger.Log = (*Log)(nil)

// DefaultTimeout bounds each request to the server unless [Timeout] says
// otherwise.
const DefaultTimeout = 2 * time.Second

// SubjectPrefix begins the subject of every ledger stream: stream NAME holds
// subject SubjectPrefix+NAME.
const SubjectPrefix = "calibrated.ledger."

// Option configures [Open]. Each has a URL query form, given with it.
type Option func(*config) error

type config struct {
	replicas    int
	replicasSet bool
	group       int // events per message at most; 0: one
	groupSet    bool
	relaxed     bool
	monitor     string
	timeout     time.Duration
	natsOpts    []nats.Option
}

// Replicas sets the number of replicas of a stream that Open creates
// (replicas=N; default 1). An existing stream with fewer is refused.
func Replicas(n int) Option {
	return func(c *config) error {
		if n < 1 || n > 5 {
			return fmt.Errorf(`calibrated: wrong value for "replicas": %d; supported: 1 to 5`, n)
		}
		c.replicas, c.replicasSet = n, true
		return nil
	}
}

// GroupCommit makes a stream that Open creates hold up to n events per
// message (group=N; default 0, one event per message): the events of
// Appends that arrive while the previous message is on its way go out
// together, with one acknowledgement and, on a server that syncs every
// write, one fsync. The format is the stream's, chosen when it is created;
// Open of an existing stream follows it, and refuses a group option that
// contradicts it.
func GroupCommit(n int) Option {
	return func(c *config) error {
		if n < 0 || n > 4096 {
			return fmt.Errorf(`calibrated: wrong value for "group": %d; supported: 0 (one event per message) to 4096`, n)
		}
		c.group, c.groupSet = n, true
		return nil
	}
}

// Relaxed accepts a stream that can lose acknowledged appends
// (durability=relaxed; the default is durability=strict): memory storage,
// or fewer than three replicas on a server that does not sync every write.
func Relaxed() Option {
	return func(c *config) error { c.relaxed = true; return nil }
}

// Monitor names the server's monitoring endpoint
// (monitor=http://host:8222), from which Open reads whether the server
// syncs every write, for streams of fewer than three replicas.
func Monitor(u string) Option {
	return func(c *config) error {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf(`calibrated: wrong value for "monitor": %q; supported: an http:// or https:// URL of the server's monitoring port`, u)
		}
		c.monitor = strings.TrimSuffix(u, "/")
		return nil
	}
}

// Timeout bounds each request to the server (timeout=DURATION; default
// [DefaultTimeout]): a call fails with [ledger.ErrUnavailable] after it
// when the server does not answer.
func Timeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return fmt.Errorf(`calibrated: wrong value for "timeout": %v; supported: a positive duration`, d)
		}
		c.timeout = d
		return nil
	}
}

// NATSOptions passes options to [nats.Connect]: credentials, TLS, a name.
// They come after the ledger's own (reconnect forever, short pings), so
// they can override them.
func NATSOptions(opts ...nats.Option) Option {
	return func(c *config) error { c.natsOpts = append(c.natsOpts, opts...); return nil }
}

// Log is a [ledger.Log] on a JetStream stream. Its methods are safe for
// concurrent use.
type Log struct {
	name    string
	subject string
	created time.Time // the stream's identity
	id      string
	cfg     config
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  jetstream.Stream
	pack    *packer // for a packed stream

	msgID string        // this Log's prefix of message ids
	msgs  atomic.Uint64 // appends so far, the suffix

	done      chan struct{} // closed by Close
	closeOnce sync.Once
}

// Open connects to the servers of rawURL, nats://[user:pass@]host:port[,host:port…]/NAME,
// and opens stream NAME, creating it if there is none. The URL's query
// holds options (replicas, durability, monitor, timeout); opts come after
// and override them. Open refuses a stream that could lose acknowledged
// appends, unless durability=relaxed (see the package documentation).
func Open(ctx context.Context, rawURL string, opts ...Option) (*Log, error) {
	servers, name, qopts, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	cfg := config{replicas: 1, timeout: DefaultTimeout}
	for _, o := range append(qopts, opts...) {
		if err := o(&cfg); err != nil {
			return nil, err
		}
	}
	nopts := append([]nats.Option{
		nats.Name("calibrated ledger " + name),
		nats.Timeout(cfg.timeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(100 * time.Millisecond),
		nats.PingInterval(5 * time.Second),
		nats.MaxPingsOutstanding(2),
		// The default prints to stderr; errors reach the callers anyway.
		nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}),
	}, cfg.natsOpts...)
	nc, err := nats.Connect(servers, nopts...)
	if err != nil {
		return nil, unavailable(name, "connect", err)
	}
	l, err := open(ctx, nc, name, cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return l, nil
}

func open(ctx context.Context, nc *nats.Conn, name string, cfg config) (*Log, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("calibrated: ledger %s: %w", name, err)
	}
	l := &Log{name: name, subject: SubjectPrefix + name, cfg: cfg, nc: nc, js: js, done: make(chan struct{})}
	var r [8]byte
	_, _ = rand.Read(r[:])
	l.msgID = "calibrated-" + hex.EncodeToString(r[:]) + "-"

	rctx, cancel := l.bound(ctx)
	defer cancel()
	want := jetstream.StreamConfig{
		Name:        name,
		Description: "calibrated ledger",
		Subjects:    []string{l.subject},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Storage:     jetstream.FileStorage,
		Replicas:    cfg.replicas,
		Duplicates:  2 * time.Minute,
	}
	if cfg.group > 0 {
		want.Description = packedDescription
	}
	stream, err := js.Stream(rctx, name)
	var info *jetstream.StreamInfo
	switch {
	case err == nil:
		info = stream.CachedInfo()
		if err := l.checkStream(&info.Config); err != nil {
			return nil, err
		}
		if err := l.checkDurability(rctx, &info.Config); err != nil {
			return nil, err
		}
	case errors.Is(err, jetstream.ErrStreamNotFound):
		if err := l.checkDurability(rctx, &want); err != nil {
			return nil, err
		}
		stream, err = js.CreateStream(rctx, want)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // another process was first
			stream, err = js.Stream(rctx, name)
			if err == nil {
				info = stream.CachedInfo()
				err = l.checkStream(&info.Config)
			}
		}
		if err != nil {
			return nil, l.fail("create stream", err)
		}
		info = stream.CachedInfo()
	default:
		return nil, l.fail("open stream", err)
	}
	packed := info.Config.Description == packedDescription
	if cfg.groupSet && packed != (cfg.group > 0) {
		return nil, fmt.Errorf("calibrated: ledger %s: the stream holds %s per message, and group=%d asks otherwise; drop the option or use another stream",
			name, map[bool]string{true: "several events", false: "one event"}[packed], cfg.group)
	}
	l.stream = stream
	l.created = info.Created
	if packed {
		l.pack = newPacker(l, cmp.Or(cfg.group, 256))
	}
	l.id = "nats-" + name + "-" + strconv.FormatInt(info.Created.UnixNano(), 36)
	return l, nil
}

// parseURL splits nats://host:port[,…]/NAME?opts.
func parseURL(raw string) (servers, name string, opts []Option, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", nil, fmt.Errorf("calibrated: ledger URL: %w", err)
	}
	if u.Scheme != "nats" && u.Scheme != "tls" {
		return "", "", nil, fmt.Errorf("calibrated: ledger URL scheme %q; supported: nats://host:port/NAME", u.Scheme)
	}
	name = strings.TrimPrefix(u.Path, "/")
	if err := validName(name); err != nil {
		return "", "", nil, err
	}
	var hosts []string
	for _, h := range strings.Split(u.Host, ",") {
		v := *u
		v.Host, v.Path, v.RawPath, v.RawQuery = h, "", "", ""
		hosts = append(hosts, v.String())
	}
	q := u.Query()
	for k, vs := range q {
		v := vs[len(vs)-1]
		switch k {
		case "replicas":
			n, err := strconv.Atoi(v)
			if err != nil {
				return "", "", nil, fmt.Errorf(`calibrated: wrong value for "replicas": %q; supported: 1 to 5`, v)
			}
			opts = append(opts, Replicas(n))
		case "group":
			n, err := strconv.Atoi(v)
			if err != nil {
				return "", "", nil, fmt.Errorf(`calibrated: wrong value for "group": %q; supported: 0 (one event per message) to 4096`, v)
			}
			opts = append(opts, GroupCommit(n))
		case "durability":
			switch v {
			case "strict":
			case "relaxed":
				opts = append(opts, Relaxed())
			default:
				return "", "", nil, fmt.Errorf(`calibrated: wrong value for "durability": %q; supported: strict, relaxed`, v)
			}
		case "monitor":
			opts = append(opts, Monitor(v))
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil {
				return "", "", nil, fmt.Errorf(`calibrated: wrong value for "timeout": %q; supported: a positive duration such as 2s`, v)
			}
			opts = append(opts, Timeout(d))
		default:
			return "", "", nil, fmt.Errorf("calibrated: unknown NATS ledger option %q; supported: replicas, group, durability, monitor, timeout", k)
		}
	}
	return strings.Join(hosts, ","), name, opts, nil
}

func validName(name string) error {
	if name == "" || len(name) > 200 || strings.ContainsAny(name, " \t\r\n.*>/\\") {
		return fmt.Errorf("calibrated: NATS ledger name %q; want a stream name: 1 to 200 characters, none of . * > / \\ or spaces", name)
	}
	return nil
}

// checkStream refuses an existing stream that is not a ledger this package
// can use.
func (l *Log) checkStream(c *jetstream.StreamConfig) error {
	found := false
	for _, s := range c.Subjects {
		found = found || s == l.subject
	}
	if !found || len(c.Subjects) != 1 {
		return fmt.Errorf("calibrated: ledger %s: the stream's subjects are %q; a ledger stream holds exactly %q", l.name, c.Subjects, l.subject)
	}
	if c.Retention != jetstream.LimitsPolicy {
		return fmt.Errorf("calibrated: ledger %s: the stream's retention is %v; a ledger stream keeps messages (limits)", l.name, c.Retention)
	}
	if l.cfg.replicasSet && c.Replicas < l.cfg.replicas {
		return fmt.Errorf("calibrated: ledger %s: the stream has %d replica(s), and replicas=%d asks for more; raise them (nats stream edit %s --replicas %d) or ask for fewer",
			l.name, c.Replicas, l.cfg.replicas, l.name, l.cfg.replicas)
	}
	return nil
}

// checkDurability refuses, unless relaxed, a stream configuration that can
// lose acknowledged messages.
func (l *Log) checkDurability(ctx context.Context, c *jetstream.StreamConfig) error {
	if l.cfg.relaxed {
		return nil
	}
	refuse := func(found, fix string) error {
		return fmt.Errorf("calibrated: ledger %s: %s, so an acknowledged append can be lost; %s, or accept the risk with durability=relaxed", l.name, found, fix)
	}
	if c.Storage != jetstream.FileStorage {
		return refuse("the stream is kept in memory", "recreate it with file storage")
	}
	if c.MaxMsgs > 0 || c.MaxBytes > 0 || c.MaxAge > 0 || c.MaxMsgsPerSubject > 0 {
		return refuse(fmt.Sprintf("the stream has limits (max_msgs %d, max_bytes %d, max_age %v, max_msgs_per_subject %d) that drop the oldest events",
			c.MaxMsgs, c.MaxBytes, c.MaxAge, c.MaxMsgsPerSubject), "remove the limits")
	}
	if c.Replicas >= 3 {
		return nil
	}
	fix := "use replicas=3 on a cluster, or set sync_interval: always in the server's jetstream block"
	if l.cfg.monitor == "" {
		return refuse(fmt.Sprintf("the stream has %d replica(s) and the server's sync_interval is unknown", c.Replicas),
			fix+" and name its monitoring endpoint with monitor=http://HOST:8222 so that it can be checked")
	}
	always, interval, server, err := l.syncSetting(ctx)
	if err != nil {
		return refuse(fmt.Sprintf("the stream has %d replica(s) and the server's sync_interval could not be read from %s (%v)", c.Replicas, l.cfg.monitor, err), fix)
	}
	if !always {
		what := interval.String()
		if interval == 0 {
			what = "2m0s, the default"
		}
		return refuse(fmt.Sprintf("the stream has %d replica(s) and server %s syncs to disk every %s (sync_interval)", c.Replicas, server, what), fix)
	}
	return nil
}

// syncSetting reads the server's JetStream sync setting from its
// monitoring endpoint (/varz).
func (l *Log) syncSetting(ctx context.Context) (always bool, interval time.Duration, server string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.cfg.monitor+"/varz", nil)
	if err != nil {
		return false, 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, 0, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, 0, "", fmt.Errorf("HTTP %s", resp.Status)
	}
	var v struct {
		ServerName string `json:"server_name"`
		JetStream  struct {
			Config *struct {
				SyncInterval time.Duration `json:"sync_interval"`
				SyncAlways   bool          `json:"sync_always"`
			} `json:"config"`
		} `json:"jetstream"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&v); err != nil {
		return false, 0, "", err
	}
	if v.JetStream.Config == nil {
		return false, 0, "", errors.New("no jetstream config in /varz; the server is too old or JetStream is off")
	}
	return v.JetStream.Config.SyncAlways, v.JetStream.Config.SyncInterval, v.ServerName, nil
}

// ID implements [ledger.Log]: the stream's name and creation time, so a
// stream deleted and created again under the same name has a new ID.
func (l *Log) ID() string { return l.id }

// Name returns the stream's name.
func (l *Log) Name() string { return l.name }

// bound limits ctx to the request timeout.
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

// ready fails fast while the connection is down.
func (l *Log) ready(op string) error {
	if l.closed() {
		return ledger.ErrClosed
	}
	if !l.nc.IsConnected() {
		return unavailable(l.name, op, fmt.Errorf("not connected to the server (%v); the client reconnects by itself", l.nc.Status()))
	}
	return nil
}

// Append implements [ledger.Log]. It returns the event's position once the
// server acknowledged its message. Append to a stream deleted and created
// anew under the same name is not refused (an acknowledgement does not say
// which stream took it), but every cursor and Tail of this Log stop there
// with a [*ledger.HistoryError], so nothing is applied from it.
func (l *Log) Append(ctx context.Context, ev *ledger.Event) (ledger.Seq, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := l.ready("append"); err != nil {
		return 0, err
	}
	p, err := ledger.EncodeEvent(ev)
	if err != nil {
		return 0, err
	}
	if max := l.nc.MaxPayload(); int64(len(p)) > max-4096 {
		return 0, fmt.Errorf("calibrated: ledger %s: event of %d bytes; the server's max_payload allows %d", l.name, len(p), max-4096)
	}
	if l.pack != nil {
		return l.appendPacked(ctx, p)
	}
	id := l.msgID + strconv.FormatUint(l.msgs.Add(1), 36)
	rctx, cancel := l.bound(ctx)
	defer cancel()
	ack, _, err := l.publish(rctx, &nats.Msg{Subject: l.subject, Data: p, Header: nats.Header{}}, id)
	if errors.Is(err, ledger.ErrClosed) {
		return 0, err
	}
	if err != nil {
		return 0, l.fail("append", err)
	}
	if ack.Stream != l.name || ack.Sequence == 0 {
		return 0, fmt.Errorf("calibrated: ledger %s: append acknowledged by stream %q at sequence %d", l.name, ack.Stream, ack.Sequence)
	}
	return ledger.Seq(ack.Sequence), nil
}

// publish sends msg with message id id until it is acknowledged, trying
// again with the same id (so that the stream stores it once) when an
// acknowledgement does not come within a quarter of the timeout, for as
// long as ctx allows and the connection is up.
//
// resent reports whether msg went out more than once, so that an earlier
// copy may be stored although no acknowledgement said so.
func (l *Log) publish(ctx context.Context, msg *nats.Msg, id string, opts ...jetstream.PublishOpt) (ack *jetstream.PubAck, resent bool, err error) {
	opts = append(opts, jetstream.WithMsgID(id), jetstream.WithExpectStream(l.name),
		jetstream.WithRetryAttempts(1000), jetstream.WithRetryWait(50*time.Millisecond))
	for tries := 0; ; tries++ {
		actx, cancel := context.WithTimeout(ctx, max(l.cfg.timeout/4, 100*time.Millisecond))
		ack, err := l.js.PublishMsg(actx, msg, opts...)
		cancel()
		if err == nil {
			return ack, tries > 0, nil
		}
		if l.closed() {
			return nil, tries > 0, ledger.ErrClosed
		}
		lost := errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
		if !lost || ctx.Err() != nil || !l.nc.IsConnected() {
			return nil, tries > 0, err
		}
		// Headers were set by the first try; the retry sends the same.
		msg = &nats.Msg{Subject: msg.Subject, Data: msg.Data, Header: nats.Header{}}
	}
}

// appendPacked queues p for the packer and waits for its message.
func (l *Log) appendPacked(ctx context.Context, p []byte) (ledger.Seq, error) {
	b, i, err := l.pack.add(p)
	if err != nil {
		return 0, err
	}
	select {
	case <-b.done:
	case <-ctx.Done(): // the event may still be appended
		return 0, ctx.Err()
	}
	if b.err != nil {
		return 0, b.err
	}
	return b.first + ledger.Seq(i), nil
}

// Tail implements [ledger.Log]: the stream's last sequence, read from the
// server (one round trip), after checking that the stream is still the one
// Open found.
func (l *Log) Tail(ctx context.Context) (ledger.Seq, error) {
	if err := l.ready("tail"); err != nil {
		return 0, err
	}
	if l.pack != nil {
		// The last message's header says the last position; the stream's
		// info, asked for at the same time, its identity.
		ierr := make(chan error, 1)
		go func() {
			_, err := l.info(ctx, 0)
			ierr <- err
		}()
		s, _, err := l.lastPacked(ctx)
		if err := <-ierr; err != nil {
			return 0, err
		}
		return s, err
	}
	info, err := l.info(ctx, 0)
	if err != nil {
		return 0, err
	}
	return ledger.Seq(info.State.LastSeq), nil
}

// info reads the stream's info and checks its identity; at is the position
// a reader expects next, for the error.
func (l *Log) info(ctx context.Context, at ledger.Seq) (*jetstream.StreamInfo, error) {
	rctx, cancel := l.bound(ctx)
	defer cancel()
	info, err := l.stream.Info(rctx)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, &ledger.HistoryError{Log: l.name, Expected: at, What: fmt.Sprintf("stream %s deleted (it was created at %s)", l.name, l.created.Format(time.RFC3339Nano))}
	}
	if err != nil {
		if l.closed() {
			return nil, ledger.ErrClosed
		}
		return nil, l.fail("stream info", err)
	}
	if !info.Created.Equal(l.created) {
		return nil, &ledger.HistoryError{Log: l.name, Expected: at,
			What: fmt.Sprintf("stream recreated at %s (the one opened was created at %s)", info.Created.Format(time.RFC3339Nano), l.created.Format(time.RFC3339Nano))}
	}
	return info, nil
}

// Read implements [ledger.Log]. from 0 reads from the start, as 1 does. The
// cursor holds a consumer on the server: Close it when done.
func (l *Log) Read(ctx context.Context, from ledger.Seq) (ledger.Cursor, error) {
	from = max(from, 1)
	c := &cursor{l: l, next: from, streamNext: uint64(from), stop: make(chan struct{})}
	if l.pack != nil {
		s, err := l.findPacked(ctx, from)
		if err != nil {
			return nil, err
		}
		c.streamNext = s
	}
	if err := c.open(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// Close implements [ledger.Log]. It closes the connection, which wakes
// waiting cursors with [ledger.ErrClosed].
func (l *Log) Close() error {
	l.closeOnce.Do(func() {
		if l.pack != nil {
			l.pack.close() // after the message on its way, within the timeout
		}
		close(l.done)
		l.nc.Close()
	})
	return nil
}

// fail wraps an error of the server or the connection.
func (l *Log) fail(op string, err error) error {
	return unavailable(l.name, op, err)
}

func unavailable(name, op string, err error) error {
	return fmt.Errorf("calibrated: ledger %s: %s: %w: %w", name, op, ledger.ErrUnavailable, err)
}
