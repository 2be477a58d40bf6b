package calibrated

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/internal/engine"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/ledger/memlog"
)

// Benchmarks of DESIGN §11. Each iteration runs the baseline and calibrated
// back to back, so both see the same machine noise; the benchmark reports
// each one's time per operation and their throughput ratio
// (baseline time / calibrated time: 1 is parity, higher is better).
// Record results in docs/BENCHMARKS.md.

func seedKV(b *testing.B, db *sql.DB, rows int) {
	b.Helper()
	mustExec(b, db, `CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL)`)
	mustExec(b, db, `INSERT INTO kv SELECT g, 0 FROM generate_series(1, $1) g ORDER BY g`, rows)
}

// paired runs base and cal alternately and reports both and their ratio.
func paired(b *testing.B, base, cal func(i int) error) {
	b.Helper()
	// Warm both: connections, prepared statements, caches.
	for i := 0; i < 50; i++ {
		if err := base(i); err != nil {
			b.Fatal(err)
		}
		if err := cal(i); err != nil {
			b.Fatal(err)
		}
	}
	var tb, tc time.Duration
	n := 0
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		if err := base(i); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := cal(i); err != nil {
			b.Fatal(err)
		}
		tb, tc = tb+t1.Sub(t0), tc+time.Since(t1)
		n++
	}
	b.ReportMetric(float64(tb.Nanoseconds())/float64(n), "base-ns/op")
	b.ReportMetric(float64(tc.Nanoseconds())/float64(n), "calibrated-ns/op")
	b.ReportMetric(float64(tb)/float64(tc), "ratio")
}

// BenchmarkPointRead: a read by primary key with nothing pending, through
// calibrated over three backends against pgx on one backend directly.
func BenchmarkPointRead(b *testing.B) {
	cl := openCluster(b, dbtest.Postgres(b, 3))
	seedKV(b, cl.db, 1000)
	waitAppliedB(b, cl)
	read := func(db *sql.DB) func(int) error {
		return func(i int) error {
			var v int
			return db.QueryRow(`SELECT v FROM kv WHERE id = $1`, i%1000+1).Scan(&v)
		}
	}
	paired(b, read(cl.direct[0]), read(cl.db))
}

// BenchmarkUpdate: a single-row UPDATE by primary key through calibrated
// over 1, 2 and 3 backends, against one backend directly.
func BenchmarkUpdate(b *testing.B) {
	direct := dbtest.Open(b, dbtest.Postgres(b, 1))[0]
	seedKV(b, direct, 1000)
	update := func(db *sql.DB) func(int) error {
		return func(i int) error {
			_, err := db.Exec(`UPDATE kv SET v = v + 1 WHERE id = $1`, i%1000+1)
			return err
		}
	}
	for n := 1; n <= 3; n++ {
		b.Run(fmt.Sprintf("backends=%d", n), func(b *testing.B) {
			// Fresh databases each time: a backend that has seen another
			// ledger's history would be stale here.
			cl := openCluster(b, dbtest.Postgres(b, n))
			seedKV(b, cl.db, 1000)
			paired(b, update(direct), update(cl.db))
		})
	}
}

func waitAppliedB(b *testing.B, cl *cluster) {
	b.Helper()
	e := cl.engine(b)
	for _, be := range e.Backends() {
		if err := e.Calibrator().WaitClear(b.Context(), be.Name, nil, ""); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCatchUp: a backend that missed 100k writes (it was down) replays
// them; reports entries/s (target ≥ 20k/s). The entries are single-row
// UPDATEs on distinct rows, appended straight to the calibrator.
func BenchmarkCatchUp(b *testing.B) {
	const entries = 100_000
	cl := openCluster(b, dbtest.Postgres(b, 2))
	seedKV(b, cl.db, entries)
	waitAppliedB(b, cl)
	e := cl.engine(b)
	ctx := b.Context()
	e.StopApplier("b")
	e.SetState(ctx, "b", ledger.Down)
	if err := e.Calibrator().Sync(ctx); err != nil {
		b.Fatal(err)
	}
	var last *ledger.Ticket
	for i := 1; i <= entries; i++ {
		t, err := e.Calibrator().Submit(ctx, &ledger.Event{Type: ledger.Write, Keys: []ledger.Key{ledger.RowKey("kv", fmt.Sprint(i))},
			Stmts: []ledger.Stmt{{SQL: `UPDATE kv SET v = v + 1 WHERE id = $1`, Args: []any{int64(i)}}}})
		if err != nil {
			b.Fatal(err)
		}
		last = t
	}
	<-last.Decided()
	<-last.Job().Done() // applied on a
	b.ResetTimer()
	start := time.Now()
	e.SetState(ctx, "b", ledger.CatchingUp)
	e.StartApplier("b")
	for e.Calibrator().State("b") != ledger.Active {
		time.Sleep(5 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(entries)/elapsed.Seconds(), "entries/s")
	var sum int64
	if err := cl.direct[1].QueryRow(`SELECT sum(v) FROM kv`).Scan(&sum); err != nil || sum != entries {
		b.Fatalf("b caught up to a sum of %d, %v; want %d", sum, err, entries)
	}
}

// BenchmarkLedgerThroughput: autocommit single-row UPDATEs from 16
// goroutines over 2 backends, with ledger=file:// against ledger=local,
// alternating phases of equal work; reports writes/s of each and the ratio.
func BenchmarkLedgerThroughput(b *testing.B) {
	const workers, perWorker = 16, 200
	local := openCluster(b, dbtest.Postgres(b, 2))
	file := openCluster(b, dbtest.Postgres(b, 2), "ledger=file://"+b.TempDir())
	for _, cl := range []*cluster{local, file} {
		seedKV(b, cl.db, 1000)
	}
	phase := func(db *sql.DB, round int) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < perWorker; i++ {
					if _, err := db.Exec(`UPDATE kv SET v = v + 1 WHERE id = $1`, (w*perWorker+i+round)%1000+1); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		return time.Since(start)
	}
	var tl, tf time.Duration
	for round := 0; round < 3; round++ {
		tl += phase(local.db, round)
		tf += phase(file.db, round)
	}
	n := float64(3 * workers * perWorker)
	b.ReportMetric(n/tl.Seconds(), "local-writes/s")
	b.ReportMetric(n/tf.Seconds(), "file-writes/s")
	b.ReportMetric(tl.Seconds()/tf.Seconds(), "ratio")
}

// BenchmarkTPCB: TPC-B-like transactions (pgbench's: update an account, a
// teller and the branch, insert a history row) from 8 clients, over 2
// backends through calibrated against one PostgreSQL directly, in
// alternating phases of equal work; reports transactions/s of each and the
// ratio (DESIGN §11 target ≥ 0.6).
func BenchmarkTPCB(b *testing.B) {
	tpcb(b, 150, func(urls []string) []string { return urls })
}

// tpcb runs BenchmarkTPCB's phases, perClient transactions a client,
// with every database reached through via.
func tpcb(b *testing.B, perClient int, via func([]string) []string) {
	const clients, accounts = 8, 1000
	setup := func(db *sql.DB) {
		for _, q := range []string{
			`CREATE TABLE branches (bid int PRIMARY KEY, bbalance int NOT NULL)`,
			`CREATE TABLE tellers (tid int PRIMARY KEY, bid int NOT NULL, tbalance int NOT NULL)`,
			`CREATE TABLE accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL)`,
			`CREATE TABLE history (hid bigint PRIMARY KEY, tid int, bid int, aid int, delta int, mtime timestamptz)`,
			`INSERT INTO branches VALUES (1, 0)`,
			`INSERT INTO tellers SELECT g, 1, 0 FROM generate_series(1, 10) g ORDER BY g`,
			`INSERT INTO accounts SELECT g, 1, 0 FROM generate_series(1, 1000) g ORDER BY g`,
		} {
			mustExec(b, db, q)
		}
	}
	direct := dbtest.Open(b, via(dbtest.Postgres(b, 1)))[0]
	cal := openCluster(b, via(dbtest.Postgres(b, 2)))
	setup(direct)
	setup(cal.db)
	var hid atomic.Int64
	phase := func(db *sql.DB) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for c := 0; c < clients; c++ {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				r := rand.New(rand.NewPCG(seed, 3))
				for i := 0; i < perClient; {
					aid, tid, delta := 1+r.IntN(accounts), 1+r.IntN(10), r.IntN(10000)-5000
					err := func() error {
						tx, err := db.Begin()
						if err != nil {
							return err
						}
						defer tx.Rollback()
						for _, s := range []struct {
							q    string
							args []any
						}{
							{`UPDATE accounts SET abalance = abalance + $1 WHERE aid = $2`, []any{delta, aid}},
							{`UPDATE tellers SET tbalance = tbalance + $1 WHERE tid = $2`, []any{delta, tid}},
							{`UPDATE branches SET bbalance = bbalance + $1 WHERE bid = $2`, []any{delta, 1}},
							{`INSERT INTO history (hid, tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, $5, $6)`, []any{hid.Add(1), tid, 1, aid, delta, time.Now()}},
						} {
							if _, err := tx.Exec(s.q, s.args...); err != nil {
								return err
							}
						}
						return tx.Commit()
					}()
					switch {
					case err == nil:
						i++
					case Retryable(err):
					default:
						b.Error(err)
						return
					}
				}
			}(uint64(c) + uint64(hid.Load()))
		}
		wg.Wait()
		return time.Since(start)
	}
	var td, tc time.Duration
	for round := 0; round < 2; round++ {
		td += phase(direct)
		tc += phase(cal.db)
	}
	n := float64(2 * clients * perClient)
	b.ReportMetric(n/td.Seconds(), "direct-tx/s")
	b.ReportMetric(n/tc.Seconds(), "calibrated-tx/s")
	b.ReportMetric(td.Seconds()/tc.Seconds(), "ratio")
}

// BenchmarkPointReadConcurrent: point reads by primary key from 8 clients
// over 3 backends, nothing pending, against pgx on one backend directly,
// in alternating phases of equal work; reports reads/s of each and the
// ratio (issue target ≥ 0.9).
func BenchmarkPointReadConcurrent(b *testing.B) {
	pointReadConcurrent(b, 2000, func(urls []string) []string { return urls })
}

// pointReadConcurrent runs 8 clients' point reads, perClient each a phase,
// over 3 backends reached through via, against the first of them
// directly, also through via.
func pointReadConcurrent(b *testing.B, perClient int, via func([]string) []string) {
	urls := via(dbtest.Postgres(b, 3))
	cl := openCluster(b, urls)
	seedKV(b, cl.db, 1000)
	waitAppliedB(b, cl)
	read := func(db *sql.DB) func(c, i int) error {
		return func(c, i int) error {
			var v int
			return db.QueryRow(`SELECT v FROM kv WHERE id = $1`, (c*perClient+i)%1000+1).Scan(&v)
		}
	}
	pairedConcurrent(b, 8, perClient, "direct-reads/s", "calibrated-reads/s", read(cl.direct[0]), read(cl.db), cl.direct[0], cl.db)
}

// pairedConcurrent runs base and cal from clients goroutines, perClient
// operations each, in alternating phases of equal work (after one phase
// of each to warm up), and reports each one's operations per second under
// the given names and their ratio (base's time / cal's). The handles keep
// a connection per client idle between operations.
func pairedConcurrent(b *testing.B, clients, perClient int, baseName, calName string, base, cal func(c, i int) error, dbs ...*sql.DB) {
	b.Helper()
	for _, db := range dbs {
		db.SetMaxIdleConns(clients)
	}
	phase := func(op func(c, i int) error) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				for i := range perClient {
					if err := op(c, i); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	phase(base)
	phase(cal)
	var tb, tc time.Duration
	for b.Loop() {
		tb += phase(base)
		tc += phase(cal)
	}
	n := float64(b.N * clients * perClient)
	b.ReportMetric(n/tb.Seconds(), baseName)
	b.ReportMetric(n/tc.Seconds(), calName)
	b.ReportMetric(tb.Seconds()/tc.Seconds(), "ratio")
}

// BenchmarkUpdateConcurrent: single-row autocommit UPDATEs by primary key
// from 8 clients over 2 backends, against one backend directly, in
// alternating phases of equal work; reports writes/s of each and the
// ratio (issue target ≥ 0.7).
func BenchmarkUpdateConcurrent(b *testing.B) {
	updateConcurrent(b, dbtest.Open(b, dbtest.Postgres(b, 1))[0], openCluster(b, dbtest.Postgres(b, 2)), 500)
}

// updateConcurrent runs 8 clients' single-row UPDATEs on 1000 rows, each
// client perClient of them, directly and through cl, paired.
func updateConcurrent(b *testing.B, direct *sql.DB, cl *cluster, perClient int) {
	update := func(db *sql.DB) func(c, i int) error {
		return func(c, i int) error {
			_, err := db.Exec(`UPDATE kv SET v = v + 1 WHERE id = $1`, 1+rand.IntN(1000))
			return err
		}
	}
	for _, db := range []*sql.DB{direct, cl.db} {
		seedKV(b, db, 1000)
	}
	pairedConcurrent(b, 8, perClient, "direct-writes/s", "calibrated-writes/s", update(direct), update(cl.db), direct, cl.db)
}

// BenchmarkAdmissions: writes admitted per second by the calibrator, the
// ledger's part of the write path without the backends: 3 calibrators (as
// 3 processes would run, each with its own connection to the ledger) × 8
// goroutines each submit Write events on distinct rows and wait for the
// decision, while one reporter per backend reports what is admitted as
// applied, in batches, as appliers do. The baseline is one calibrator with 24 goroutines on
// ledger=local, measured in the same run; ratio = remote/local.
func BenchmarkAdmissions(b *testing.B) {
	const procs, perProc, each = 3, 8, 300
	cases := []struct {
		name string
		open func(t testing.TB) []ledger.Log
	}{
		{"local", func(t testing.TB) []ledger.Log { return []ledger.Log{memlog.New()} }},
		{"nats", func(t testing.TB) []ledger.Log { return openLogs(t, natsLedger(t).url, procs) }},
		{"nats-group", func(t testing.TB) []ledger.Log { return openLogs(t, natsLedger(t).url+"&group=256", procs) }},
		{"redis", func(t testing.TB) []ledger.Log { return openLogs(t, redisLedger(t).url, procs) }},
	}
	rates := map[string]float64{}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			logs := c.open(b)
			var cals []*ledger.Calibrator
			for i, l := range logs {
				cal := ledger.NewCalibrator(l, fmt.Sprintf("bench-%d", i), []string{"a", "b"})
				if err := cal.Start(); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { cal.Stop(); l.Close() })
				cals = append(cals, cal)
			}
			// The appliers' part of the ledger's load: in the first
			// process, one reporter per backend takes what is admitted
			// and reports it applied, in batches, as appliers do.
			ctx, cancel := context.WithCancel(b.Context())
			var reporters sync.WaitGroup
			b.Cleanup(func() { cancel(); reporters.Wait() })
			for _, be := range []string{"a", "b"} {
				reporters.Go(func() {
					for {
						jobs, err := cals[0].NextJobs(ctx, be, 64)
						if err != nil {
							return
						}
						if err := cals[0].Report(ctx, be, jobs, make([]ledger.Result, len(jobs))); err != nil {
							return
						}
					}
				})
			}
			workers := perProc
			if len(cals) == 1 {
				workers = procs * perProc
			}
			var next atomic.Int64
			var elapsed time.Duration
			n := 0
			for b.Loop() {
				start := time.Now()
				var wg sync.WaitGroup
				for _, cal := range cals {
					for range workers {
						wg.Go(func() {
							for range each {
								k := next.Add(1)
								tk, err := cal.Submit(b.Context(), &ledger.Event{Type: ledger.Write,
									Keys: []ledger.Key{ledger.RowKey("kv", strconv.FormatInt(k, 10))}, Stmts: []ledger.Stmt{{SQL: "UPDATE kv SET v = v + 1 WHERE id = $1", Args: []any{k}}}})
								if err != nil {
									b.Error(err)
									return
								}
								<-tk.Decided()
							}
						})
					}
				}
				wg.Wait()
				elapsed += time.Since(start)
				n += procs * perProc * each
			}
			rates[c.name] = float64(n) / elapsed.Seconds()
			b.ReportMetric(rates[c.name], "admitted/s")
			if base := rates["local"]; base > 0 && c.name != "local" {
				b.ReportMetric(rates[c.name]/base, "ratio")
			}
		})
	}
}

// openLogs opens n connections to the remote ledger at url.
func openLogs(t testing.TB, url string, n int) []ledger.Log {
	t.Helper()
	cfg := &Config{Ledger: url}
	var logs []ledger.Log
	for range n {
		l, _, err := engine.OpenLedger(context.Background(), cfg.engine())
		if err != nil {
			t.Fatal(err)
		}
		logs = append(logs, l)
	}
	return logs
}

// BenchmarkStrongRead: a point read by primary key through a handle on a
// NATS ledger (consistency=strong: the ledger's tail first, one round trip
// to the server) against the same read through a handle on ledger=local,
// paired per iteration.
func BenchmarkStrongRead(b *testing.B) {
	urls := dbtest.Postgres(b, 2)
	local := openCluster(b, dbtest.Postgres(b, 2))
	seedKV(b, local.db, 1000)
	remote, _ := openRemote(b, urls, natsLedger(b), 1)
	seedKV(b, remote[0], 1000)
	read := func(db *sql.DB) func(int) error {
		return func(i int) error {
			var v int
			return db.QueryRow(`SELECT v FROM kv WHERE id = $1`, i%1000+1).Scan(&v)
		}
	}
	paired(b, read(local.db), read(remote[0]))
}

// BenchmarkStartup: the time a new process takes to open calibrated on a
// NATS ledger that already holds a long history: CALIBRATED_BENCH_EVENTS
// events (default 300k), a third of them writes and the rest their
// appliers' reports, in a packed stream. The process reads the whole
// stream (there are no snapshots) before it serves; reported as seconds
// and events read per second.
func BenchmarkStartup(b *testing.B) {
	events := 300_000
	if v, err := strconv.Atoi(os.Getenv("CALIBRATED_BENCH_EVENTS")); err == nil && v > 0 {
		events = v
	}
	urls := dbtest.Postgres(b, 2)
	l := natsLedger(b)
	l.url += "&group=256"
	logs := openLogs(b, l.url, 1)
	defer logs[0].Close()
	var next atomic.Int64
	var wg sync.WaitGroup
	fill := time.Now()
	for range 24 {
		wg.Go(func() {
			for next.Add(3) <= int64(events) {
				k := strconv.FormatInt(next.Load(), 10)
				seq, err := logs[0].Append(b.Context(), &ledger.Event{Type: ledger.Write, Origin: "filler", Stamp: time.Now().Round(0),
					Keys: []ledger.Key{ledger.RowKey("kv", k)}, Stmts: []ledger.Stmt{{SQL: "UPDATE kv SET v = v + 1 WHERE id = $1", Args: []any{k}}}})
				for _, be := range []string{"a", "b"} {
					if err == nil {
						_, err = logs[0].Append(b.Context(), &ledger.Event{Type: ledger.Applied, Origin: "filler", Stamp: time.Now().Round(0),
							Backend: be, Seqs: []ledger.Seq{seq}, Outcomes: []ledger.Outcome{{Rows: 1}}})
					}
				}
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.Logf("%d events appended in %v", events, time.Since(fill).Round(time.Millisecond))
	var elapsed time.Duration
	for b.Loop() {
		start := time.Now()
		cfg, err := ParseDSN(dbtest.DSN(urls, "ledger='"+l.url+"'"))
		if err != nil {
			b.Fatal(err)
		}
		c, err := NewConnector(cfg)
		if err != nil {
			b.Fatal(err)
		}
		db := sql.OpenDB(c)
		if err := db.Ping(); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		db.Close()
	}
	per := elapsed.Seconds() / float64(b.N)
	b.ReportMetric(per, "s/open")
	b.ReportMetric(float64(events)/per, "events/s")
}

// BenchmarkStrongReadConcurrent: point reads from 8 clients through a
// handle on a NATS ledger (each read learns the ledger's tail, shared
// among the reads waiting at that moment) against the same through a
// handle on ledger=local, in alternating phases of equal work.
func BenchmarkStrongReadConcurrent(b *testing.B) {
	local := openCluster(b, dbtest.Postgres(b, 2))
	seedKV(b, local.db, 1000)
	remote, _ := openRemote(b, dbtest.Postgres(b, 2), natsLedger(b), 1)
	seedKV(b, remote[0], 1000)
	read := func(db *sql.DB) func(c, i int) error {
		return func(c, i int) error {
			var v int
			return db.QueryRow(`SELECT v FROM kv WHERE id = $1`, (c*500+i)%1000+1).Scan(&v)
		}
	}
	pairedConcurrent(b, 8, 500, "local-reads/s", "nats-reads/s", read(local.db), read(remote[0]), local.db, remote[0])
}
