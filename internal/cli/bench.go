package cli

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/calibrated/calibrated"
)

const benchUsage = `usage: calibrated bench -postgres URL [flags]

Measures calibrated against the alternatives on real PostgreSQL, each
workload against each target for -duration with -clients concurrent
clients, and reports transactions/s, p50 and p99 latency, the conflict rate
(attempts retried because of a conflict, deadlock or lock timeout) and the
mean time a read waited for pending keys, with each row's throughput as a
ratio of the direct backend's measured in the same run.

Targets:
  direct        one database through pgx
  calibrated-N  calibrated over N databases (N = 1, 2, 3), ledger=local
  dual-2        naive dual writes: every write to the first database, then the second
  pgpool-2      pgpool-II in native replication mode over the same two servers
                (needs -pgpool and -postgres2; the row says why when it cannot run)

Workloads:
  point    SELECT by primary key over 1000 rows
  update   single-row autocommit UPDATE by primary key over 1000 rows
  tpcb     pgbench's TPC-B-like transaction (account, teller, branch, history)
  hot-N    single-row UPDATEs over N rows: the contention sweep (-hot-rows)

With -rounds N every target of a workload is opened first and the targets
take turns, N times each, every turn a share of -duration: on a machine
whose speed drifts, the ratios then compare targets measured side by side.

The databases are created on the servers and dropped at the end. With
-postgres2 the second database of every two-database target lives on that
server instead, as two real backends would.

Exits 0 when every row ran, 1 when a row failed, 2 for bad flags, 3 when it
cannot run.

flags:
`

type benchConfig struct {
	postgres  string
	postgres2 string
	pgpool    string
	clients   int
	duration  time.Duration
	rounds    int // each target's duration is split into this many turns, the targets taking turns
	workloads []string
	targets   []string
	jsonOut   bool
}

// benchRow is one line of the report.
type benchRow struct {
	Workload     string  `json:"workload"`
	Target       string  `json:"target"`
	Ops          int64   `json:"ops"`
	TPS          float64 `json:"tps"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	ConflictRate float64 `json:"conflict_rate"`
	ReadWaitMs   float64 `json:"read_wait_ms"`
	Ratio        float64 `json:"ratio"` // TPS against direct's in the same run
	Note         string  `json:"note,omitempty"`
}

var (
	benchTargets   = []string{"direct", "calibrated-1", "calibrated-2", "calibrated-3", "dual-2", "pgpool-2"}
	benchWorkloads = []string{"point", "update", "tpcb", "hot-10", "hot-1000", "hot-100000"}
)

func bench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg := benchConfig{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	fs.StringVar(&cfg.postgres, "postgres", "", "maintenance `URL` of the PostgreSQL server (required)")
	fs.StringVar(&cfg.postgres2, "postgres2", "", "maintenance `URL` of a second PostgreSQL server for the second backend")
	fs.StringVar(&cfg.pgpool, "pgpool", "", "`path` of the pgpool binary; empty: no pgpool row")
	fs.IntVar(&cfg.clients, "clients", 8, "concurrent clients")
	fs.DurationVar(&cfg.duration, "duration", 5*time.Second, "how long each workload runs against each target")
	fs.IntVar(&cfg.rounds, "rounds", 1, "split each target's duration into this many turns, the targets taking turns, so that a machine whose speed drifts slows every target alike")
	workloads := fs.String("workloads", strings.Join(benchWorkloads, ","), "comma-separated workloads")
	targets := fs.String("targets", strings.Join(benchTargets, ","), "comma-separated targets")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print the rows as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "calibrated bench: unexpected argument %q\n", fs.Arg(0))
		return ExitUsage
	}
	if cfg.postgres == "" {
		fmt.Fprintln(stderr, "calibrated bench: -postgres URL is required, e.g. -postgres postgres://postgres@127.0.0.1:5432/postgres")
		return ExitUsage
	}
	if cfg.clients < 1 || cfg.duration <= 0 || cfg.rounds < 1 {
		fmt.Fprintln(stderr, "calibrated bench: -clients and -rounds must be at least 1 and -duration positive")
		return ExitUsage
	}
	var err error
	if cfg.workloads, err = pickList("workloads", *workloads, benchWorkloads, func(w string) bool {
		n, ok := strings.CutPrefix(w, "hot-")
		v, err := strconv.Atoi(n)
		return ok && err == nil && v > 0
	}); err != nil {
		fmt.Fprintln(stderr, "calibrated bench:", err)
		return ExitUsage
	}
	if cfg.targets, err = pickList("targets", *targets, benchTargets, nil); err != nil {
		fmt.Fprintln(stderr, "calibrated bench:", err)
		return ExitUsage
	}
	rows, err := runBench(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "calibrated bench:", calibrated.Redact(err.Error()))
		return ExitError
	}
	if cfg.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rows)
	} else {
		printBench(stdout, cfg, rows)
	}
	for _, r := range rows {
		if r.Ops == 0 && !strings.Contains(r.Note, "absent") {
			return ExitFailed
		}
	}
	return ExitOK
}

// pickList splits a comma-separated flag value and checks each item
// against the known ones (or ok).
func pickList(flagName, value string, known []string, ok func(string) bool) ([]string, error) {
	var out []string
	for _, v := range strings.Split(value, ",") {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		if !slices.Contains(known, v) && (ok == nil || !ok(v)) {
			return nil, fmt.Errorf("-%s: unknown %q; supported: %s", flagName, v, strings.Join(known, ", "))
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-%s is empty", flagName)
	}
	return out, nil
}

// benchTarget is one thing to measure: how to open it over fresh
// databases, and how it writes.
type benchTarget struct {
	name    string
	db      *sql.DB   // what clients use
	extra   []*sql.DB // dual-2: the second database, written after the first
	metrics *prometheus.Registry
	close   func()
}

func runBench(ctx context.Context, cfg benchConfig, progress io.Writer) ([]benchRow, error) {
	srv, err := newBenchServers(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	var rows []benchRow
	for _, w := range cfg.workloads {
		rows = append(rows, benchWorkload(ctx, srv, w, cfg, progress)...)
	}
	return rows, nil
}

// benchWorkload measures one workload on every target. With one round,
// each target is opened, run and closed in turn; with more, every target
// is opened first and they take turns, each running a round's share of
// the duration.
func benchWorkload(ctx context.Context, srv *benchServers, w string, cfg benchConfig, progress io.Writer) []benchRow {
	rows := make([]benchRow, len(cfg.targets))
	tallies := make([]benchTally, len(cfg.targets))
	open := make([]*benchTarget, len(cfg.targets))
	defer func() {
		for _, t := range open {
			if t != nil {
				t.close()
			}
		}
	}()
	start := func(i int) {
		rows[i] = benchRow{Workload: w, Target: cfg.targets[i]}
		t, err := srv.open(ctx, cfg.targets[i], cfg)
		if err != nil {
			rows[i].Note = err.Error()
			fmt.Fprintf(progress, "%-10s %-13s %s\n", w, cfg.targets[i], rows[i].Note)
			return
		}
		open[i] = t
		if err := benchSetup(ctx, t, w); err != nil {
			rows[i].Note = "setup: " + err.Error()
		}
	}
	turn := func(i, round int) {
		if open[i] != nil && rows[i].Note == "" && tallies[i].failure == nil {
			benchRun(ctx, open[i], w, cfg.duration/time.Duration(cfg.rounds), cfg.clients, &tallies[i], progress, round, cfg.rounds)
		}
	}
	stop := func(i int) {
		if t := open[i]; t != nil {
			tallies[i].fill(&rows[i], t)
			t.close()
			open[i] = nil
		}
	}
	if cfg.rounds == 1 {
		for i := range cfg.targets {
			start(i)
			turn(i, 0)
			stop(i)
		}
	} else {
		for i := range cfg.targets {
			start(i)
		}
		for round := range cfg.rounds {
			for i := range cfg.targets {
				turn(i, round)
			}
		}
		for i := range cfg.targets {
			stop(i)
		}
	}
	if d := slices.Index(cfg.targets, "direct"); d >= 0 && rows[d].TPS > 0 {
		for i := range rows {
			rows[i].Ratio = rows[i].TPS / rows[d].TPS
		}
	}
	return rows
}

// benchServers makes and drops the benchmark's databases.
type benchServers struct {
	admin   []*sql.DB // the first server, and the second if there is one
	urls    []*url.URL
	created map[int][]string // per server, the databases to drop
	prefix  string           // of this run's database names
	n       int
}

func newBenchServers(ctx context.Context, cfg benchConfig) (*benchServers, error) {
	s := &benchServers{created: map[int][]string{}, prefix: fmt.Sprintf("calibrated_bench_%08x", rand.Uint32())}
	for _, raw := range []string{cfg.postgres, cfg.postgres2} {
		if raw == "" {
			continue
		}
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
			s.close()
			return nil, fmt.Errorf("%q: want a postgres:// URL", calibrated.Redact(raw))
		}
		db, err := sql.Open("pgx", raw)
		if err == nil {
			err = db.PingContext(ctx)
		}
		if err != nil {
			s.close()
			return nil, fmt.Errorf("cannot reach %s: %v", calibrated.Redact(raw), err)
		}
		s.admin, s.urls = append(s.admin, db), append(s.urls, u)
	}
	return s, nil
}

// database creates a fresh database on the server for backend i (the
// second server, if there is one, holds every odd backend) and returns
// its URL.
func (s *benchServers) database(ctx context.Context, name string, i int) (string, error) {
	srv := i % len(s.admin)
	for _, q := range []string{"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", "CREATE DATABASE " + name} {
		if _, err := s.admin[srv].ExecContext(ctx, q); err != nil {
			return "", err
		}
	}
	s.created[srv] = append(s.created[srv], name)
	u := *s.urls[srv]
	u.Path = "/" + name
	return u.String(), nil
}

func (s *benchServers) close() {
	for srv, names := range s.created {
		for _, n := range names {
			_, _ = s.admin[srv].Exec("DROP DATABASE IF EXISTS " + n + " WITH (FORCE)")
		}
	}
	for _, db := range s.admin {
		db.Close()
	}
}

// open makes the named target over fresh databases.
func (s *benchServers) open(ctx context.Context, name string, cfg benchConfig) (*benchTarget, error) {
	s.n++
	base := fmt.Sprintf("%s_%d", s.prefix, s.n)
	n := 1
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		n, _ = strconv.Atoi(name[i+1:])
	}
	urls := make([]string, n)
	for i := range urls {
		var err error
		if urls[i], err = s.database(ctx, fmt.Sprintf("%s_%c", base, 'a'+i), i); err != nil {
			return nil, err
		}
	}
	pool := func(db *sql.DB) *sql.DB {
		db.SetMaxOpenConns(cfg.clients + 2)
		db.SetMaxIdleConns(cfg.clients + 2)
		return db
	}
	switch {
	case name == "direct":
		db, err := sql.Open("pgx", urls[0])
		if err != nil {
			return nil, err
		}
		return &benchTarget{name: name, db: pool(db), close: func() { db.Close() }}, nil
	case strings.HasPrefix(name, "calibrated-"):
		var parts []string
		for i, u := range urls {
			parts = append(parts, fmt.Sprintf("db.%c='%s'", 'a'+i, u))
		}
		c, err := calibrated.ParseDSN(strings.Join(parts, " "))
		if err != nil {
			return nil, err
		}
		reg := prometheus.NewRegistry()
		m, err := calibrated.NewMetrics(reg)
		if err != nil {
			return nil, err
		}
		conn, err := calibrated.NewConnector(c, calibrated.WithMetrics(m))
		if err != nil {
			return nil, err
		}
		db := pool(sql.OpenDB(conn))
		return &benchTarget{name: name, db: db, metrics: reg, close: func() { db.Close() }}, nil
	case name == "dual-2":
		var dbs []*sql.DB
		for _, u := range urls {
			db, err := sql.Open("pgx", u)
			if err != nil {
				return nil, err
			}
			dbs = append(dbs, pool(db))
		}
		return &benchTarget{name: name, db: dbs[0], extra: dbs[1:], close: func() {
			for _, db := range dbs {
				db.Close()
			}
		}}, nil
	case name == "pgpool-2":
		if cfg.pgpool == "" {
			return nil, errors.New("pgpool absent: give -pgpool PATH (Debian package pgpool2)")
		}
		if len(s.admin) < 2 {
			return nil, errors.New("pgpool absent: needs -postgres2, a second server (pgpool replicates between servers, not databases)")
		}
		return s.startPgpool(ctx, cfg, base+"_pool")
	}
	return nil, fmt.Errorf("unknown target %q", name)
}

// benchSetup creates the workload's tables and rows on every database of
// the target.
func benchSetup(ctx context.Context, t *benchTarget, workload string) error {
	var stmts []string
	switch {
	case workload == "tpcb":
		stmts = []string{
			`CREATE TABLE branches (bid int PRIMARY KEY, bbalance int NOT NULL)`,
			`CREATE TABLE tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL)`,
			`CREATE TABLE accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL)`,
			`CREATE TABLE history (hid bigint PRIMARY KEY, tid int, bid int, aid int, delta int, mtime timestamptz)`,
			`INSERT INTO branches VALUES (1, 0)`,
			`INSERT INTO tellers SELECT g, 1, 0 FROM generate_series(1, 10) g ORDER BY g`,
			`INSERT INTO accounts SELECT g, 1, 0 FROM generate_series(1, 100000) g ORDER BY g`,
		}
	default:
		stmts = []string{
			`CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL)`,
			fmt.Sprintf(`INSERT INTO kv SELECT g, 0 FROM generate_series(1, %d) g ORDER BY g`, benchRows(workload)),
		}
	}
	for _, db := range append([]*sql.DB{t.db}, t.extra...) {
		for _, q := range stmts {
			if _, err := db.ExecContext(ctx, q); err != nil {
				return err
			}
		}
	}
	return nil
}

// benchRows is how many kv rows a workload spreads over.
func benchRows(workload string) int {
	if n, ok := strings.CutPrefix(workload, "hot-"); ok {
		v, _ := strconv.Atoi(n)
		return v
	}
	return 1000
}

// benchTally adds up a target's turns at a workload.
type benchTally struct {
	ops, attempts, retried int64
	elapsed                time.Duration
	lat                    []time.Duration
	hid                    atomic.Int64 // TPC-B's history ids, unique across turns
	failure                error
}

// fill sets row from the turns added up.
func (y *benchTally) fill(row *benchRow, t *benchTarget) {
	row.Ops = y.ops
	if y.elapsed > 0 {
		row.TPS = float64(y.ops) / y.elapsed.Seconds()
	}
	if y.attempts > 0 {
		row.ConflictRate = float64(y.retried) / float64(y.attempts)
	}
	slices.Sort(y.lat)
	row.P50ms, row.P99ms = quantileMs(y.lat, 0.50), quantileMs(y.lat, 0.99)
	row.ReadWaitMs = readWaitMs(t.metrics)
	if y.failure != nil {
		row.Note = calibrated.Redact(y.failure.Error())
	}
}

// benchRun runs the workload's clients against t for d, turn round of
// rounds, and adds what they did to y.
func benchRun(ctx context.Context, t *benchTarget, workload string, d time.Duration, clients int, y *benchTally, progress io.Writer, round, rounds int) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		ops, attempts, retried atomic.Int64
		hid                    = &y.hid
		mu                     sync.Mutex
		lat                    []time.Duration
		failure                error
		wg                     sync.WaitGroup
	)
	turn := ""
	if rounds > 1 {
		turn = fmt.Sprintf(" (round %d/%d)", round+1, rounds)
	}
	start := time.Now()
	done := make(chan struct{})
	go func() { // the progress line
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintf(progress, "\r%-10s %-13s done%s        \n", workload, t.name, turn)
				return
			case <-tick.C:
				el := time.Since(start)
				fmt.Fprintf(progress, "\r%-10s %-13s %4.0fs/%.0fs %8.0f ops/s%s", workload, t.name, el.Seconds(), d.Seconds(), float64(ops.Load())/el.Seconds(), turn)
			}
		}
	}()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 7))
			var mine []time.Duration
			for ctx.Err() == nil {
				t0 := time.Now()
				attempts.Add(1)
				err := benchOp(ctx, t, workload, r, hid)
				switch {
				case err == nil:
					ops.Add(1)
					mine = append(mine, time.Since(t0))
				case ctx.Err() != nil:
				case retryable(err):
					retried.Add(1)
				default:
					mu.Lock()
					if failure == nil {
						failure = err
					}
					mu.Unlock()
					cancel()
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}(uint64(round*clients+c) + 1)
	}
	wg.Wait()
	close(done)
	y.elapsed += time.Since(start)
	y.ops += ops.Load()
	y.attempts += attempts.Load()
	y.retried += retried.Load()
	y.lat = append(y.lat, lat...)
	if y.failure == nil {
		y.failure = failure
	}
}

// benchOp runs one operation of the workload.
func benchOp(ctx context.Context, t *benchTarget, workload string, r *rand.Rand, hid *atomic.Int64) error {
	switch workload {
	case "point":
		var v int
		return t.db.QueryRowContext(ctx, `SELECT v FROM kv WHERE id = $1`, 1+r.IntN(1000)).Scan(&v)
	case "tpcb":
		aid, tid, delta := 1+r.IntN(100000), 1+r.IntN(10), r.IntN(10000)-5000
		return t.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET abalance = abalance + $1 WHERE aid = $2`, delta, aid); err != nil {
				return err
			}
			var bal int
			if err := tx.QueryRowContext(ctx, `SELECT abalance FROM accounts WHERE aid = $1`, aid).Scan(&bal); err != nil {
				return err
			}
			for _, s := range []struct {
				q    string
				args []any
			}{
				{`UPDATE tellers SET tbalance = tbalance + $1 WHERE tid = $2`, []any{delta, tid}},
				{`UPDATE branches SET bbalance = bbalance + $1 WHERE bid = $2`, []any{delta, 1}},
				{`INSERT INTO history (hid, tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, $5, $6)`, []any{hid.Add(1), tid, 1, aid, delta, time.Now()}},
			} {
				if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
					return err
				}
			}
			return nil
		})
	default: // update, hot-N
		return t.exec(ctx, `UPDATE kv SET v = v + 1 WHERE id = $1`, 1+r.IntN(benchRows(workload)))
	}
}

// exec runs an autocommit write; dual-2 sends it to each database in turn.
func (t *benchTarget) exec(ctx context.Context, q string, args ...any) error {
	for _, db := range append([]*sql.DB{t.db}, t.extra...) {
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// tx runs f in a transaction; dual-2 runs it on the first database, then
// on the second, committing each in turn, as hand-written dual writes do.
func (t *benchTarget) tx(ctx context.Context, f func(*sql.Tx) error) error {
	for _, db := range append([]*sql.DB{t.db}, t.extra...) {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := f(tx); err != nil {
			_ = tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// retryable reports a conflict the client retries: calibrated's own, or a
// PostgreSQL serialization failure or deadlock.
func retryable(err error) bool {
	if calibrated.Retryable(err) {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

func quantileMs(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}

// readWaitMs is the mean time a calibrated read waited for pending keys.
func readWaitMs(reg *prometheus.Registry) float64 {
	if reg == nil {
		return 0
	}
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	var sum float64
	var n uint64
	for _, mf := range mfs {
		if mf.GetName() != "calibrated_read_wait_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetHistogram().GetSampleSum()
			n += m.GetHistogram().GetSampleCount()
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n) * 1000
}

func printBench(out io.Writer, cfg benchConfig, rows []benchRow) {
	turns := ""
	if cfg.rounds > 1 {
		turns = fmt.Sprintf(" in %d turns taken in rotation", cfg.rounds)
	}
	fmt.Fprintf(out, "%d clients, %s a row%s; ratio = tps / direct's tps in this run\n\n", cfg.clients, cfg.duration, turns)
	fmt.Fprintf(out, "%-10s %-13s %9s %7s %8s %8s %9s %10s  %s\n", "workload", "target", "tps", "ratio", "p50 ms", "p99 ms", "conflicts", "read wait", "note")
	for _, r := range rows {
		if r.Ops == 0 {
			fmt.Fprintf(out, "%-10s %-13s %9s %7s %8s %8s %9s %10s  %s\n", r.Workload, r.Target, "-", "-", "-", "-", "-", "-", r.Note)
			continue
		}
		fmt.Fprintf(out, "%-10s %-13s %9.0f %7.2f %8.2f %8.2f %8.1f%% %8.3fms  %s\n",
			r.Workload, r.Target, r.TPS, r.Ratio, r.P50ms, r.P99ms, 100*r.ConflictRate, r.ReadWaitMs, r.Note)
	}
}
