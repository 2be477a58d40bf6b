package calibrated

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/internal/engine"
	"github.com/calibrated/calibrated/internal/faults"
	"github.com/calibrated/calibrated/internal/lincheck"
	"github.com/calibrated/calibrated/ledger"
)

// remoteLedger is a ledger on a shared server, unique to one test.
type remoteLedger struct {
	kind string // "nats" or "redis"
	url  string // the DSN's ledger value
}

// remoteLedgers returns a fresh NATS ledger and a fresh Redis ledger on the
// servers the environment names, deleted when t ends.
func remoteLedgers(t testing.TB) []remoteLedger {
	t.Helper()
	return []remoteLedger{natsLedger(t), redisLedger(t)}
}

func natsLedger(t testing.TB) remoteLedger {
	t.Helper()
	url, _ := dbtest.NATSLedger(t)
	// The shared test server syncs on its default timer: relaxed.
	return remoteLedger{kind: "nats", url: url + "?durability=relaxed"}
}

func redisLedger(t testing.TB) remoteLedger {
	t.Helper()
	return remoteLedger{kind: "redis", url: dbtest.RedisLedger(t)}
}

// openRemote opens n handles, each with its own connector and its own
// connection to the ledger, as n processes would.
func openRemote(t testing.TB, urls []string, l remoteLedger, n int, opts ...string) ([]*sql.DB, []*connector) {
	t.Helper()
	var dbs []*sql.DB
	var cs []*connector
	for range n {
		db, c := openDSN(t, dbtest.DSN(urls, append([]string{"ledger='" + l.url + "'"}, opts...)...))
		dbs, cs = append(dbs, db), append(cs, c)
	}
	return dbs, cs
}

// TestRemoteLedgerConflicts: three handles with their own connections to
// one NATS or Redis ledger. Under conflict=wait, 3 × 8 goroutines × 100
// increments of one row add up exactly; under conflict=reject, two handles
// racing on one row get exactly one winner per round.
func TestRemoteLedgerConflicts(t *testing.T) {
	for _, l := range remoteLedgers(t) {
		t.Run(l.kind, func(t *testing.T) {
			urls := dbtest.Postgres(t, 2)
			dbs, cs := openRemote(t, urls, l, 3, "lock_timeout=30s")
			mustExec(t, dbs[0], `CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL)`)
			mustExec(t, dbs[1], `INSERT INTO kv VALUES (1, 0), (2, 0)`)
			var wg sync.WaitGroup
			for _, db := range dbs {
				for range 8 {
					wg.Go(func() {
						for range 100 {
							if _, err := db.Exec(`UPDATE kv SET v = v + 1 WHERE id = 1`); err != nil {
								t.Error(err)
								return
							}
						}
					})
				}
			}
			wg.Wait()
			for i, db := range dbs {
				var v int
				if err := db.QueryRow(`SELECT v FROM kv WHERE id = 1`).Scan(&v); err != nil || v != 3*8*100 {
					t.Errorf("read through handle %d: %d, %v; want %d", i, v, err, 3*8*100)
				}
			}

			rejecting, _ := openRemote(t, urls, l, 2, "conflict=reject")
			for round := range 20 {
				var ok, conflicts int
				var mu sync.Mutex
				start := make(chan struct{})
				for _, db := range rejecting {
					wg.Go(func() {
						<-start
						_, err := db.Exec(`UPDATE kv SET v = v + 1 WHERE id = 2`)
						mu.Lock()
						defer mu.Unlock()
						switch {
						case err == nil:
							ok++
						case errors.Is(err, ErrConflict):
							conflicts++
						default:
							t.Errorf("round %d: %v", round, err)
						}
					})
				}
				close(start)
				wg.Wait()
				if ok < 1 || ok+conflicts != 2 {
					t.Fatalf("round %d: %d winners, %d conflicts", round, ok, conflicts)
				}
			}
			var v2 int
			if err := rejecting[0].QueryRow(`SELECT v FROM kv WHERE id = 2`).Scan(&v2); err != nil || v2 < 20 {
				t.Errorf("row 2 = %d, %v after 20 rounds with a winner each", v2, err)
			}
			waitConnector(t, cs[0])
			dbtest.Converged(t, dbtest.Open(t, urls), "kv")
		})
	}
}

// waitConnector waits until every backend has applied everything the
// connector's calibrator knows of.
func waitConnector(t *testing.T, c *connector) {
	t.Helper()
	e, err := c.engine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Calibrator().Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, b := range e.Backends() {
		if err := e.Calibrator().WaitClear(ctx, b.Name, nil, ""); err != nil {
			t.Fatalf("backend %s never caught up: %v", b.Name, err)
		}
	}
}

// TestRemoteBankChild is one process of TestRemoteBank: it moves money
// between accounts through the ledger and the backends its environment
// names, and prints a line for each committed transfer, until killed or
// told its time is up.
func TestRemoteBankChild(t *testing.T) {
	dsn := os.Getenv("CALIBRATED_REMOTE_CHILD_DSN")
	if dsn == "" {
		t.Skip("run by TestRemoteBank")
	}
	accounts, _ := strconv.Atoi(os.Getenv("CALIBRATED_REMOTE_CHILD_ACCOUNTS"))
	d, _ := time.ParseDuration(os.Getenv("CALIBRATED_REMOTE_CHILD_FOR"))
	db, c := openDSN(t, dsn)
	e := mustEngine(t, c)
	fmt.Printf("origin %s\n", e.Calibrator().Origin())
	deadline := time.Now().Add(d)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(rand.Uint64(), uint64(g)))
			for time.Now().Before(deadline) {
				a, b := 1+r.IntN(accounts), 1+r.IntN(accounts)
				if a == b {
					continue
				}
				err := bankTransfer(db, a, b, int64(1+r.IntN(20)), r.IntN(2) == 0)
				mu.Lock()
				if err == nil {
					fmt.Println("transfer")
				} else if !Retryable(err) {
					fmt.Printf("error %v\n", err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	// Let this process's appliers finish what they hold before it exits.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, b := range e.Backends() {
		_ = e.Calibrator().WaitClear(ctx, b.Name, nil, "")
	}
	fmt.Println("done")
}

// TestRemoteBank: three OS processes (this test binary, run again) move
// money through one NATS or Redis ledger over three PostgreSQL databases.
// Midway the process holding the anchor's applier lease is killed with
// SIGKILL. The survivors finish, the total is preserved, every backend
// ends identical, and no key stays held past the dead process's leases.
func TestRemoteBank(t *testing.T) {
	for _, l := range remoteLedgers(t) {
		t.Run(l.kind, func(t *testing.T) {
			const accounts = 30
			urls := dbtest.Postgres(t, 3)
			dsn := dbtest.DSN(urls, "ledger='"+l.url+"'", "lock_timeout=20s", "tx_lease=2s")
			setup, _ := openRemote(t, urls, l, 1)
			mustExec(t, setup[0], `CREATE TABLE acct (id int PRIMARY KEY, bal bigint NOT NULL)`)
			mustExec(t, setup[0], `INSERT INTO acct SELECT g, 1000 FROM generate_series(1, $1) g ORDER BY g`, accounts)
			setup[0].Close() // gives its leases up: the children apply

			// Watch from here through a calibrator that only reads the
			// ledger (and moves its time on): no applier, no lease.
			cfg, err := ParseDSN(dsn)
			if err != nil {
				t.Fatal(err)
			}
			log, _, err := engine.OpenLedger(context.Background(), cfg.engine())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { log.Close() })
			w := ledger.NewCalibrator(log, "watcher", []string{"a", "b", "c"})
			if err := w.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(w.Stop)

			type child struct {
				cmd       *exec.Cmd
				origin    string
				transfers int
				done      bool
				errs      []string
			}
			var mu sync.Mutex
			children := make([]*child, 3)
			var wg sync.WaitGroup
			for i := range children {
				cmd := exec.Command(os.Args[0], "-test.run=^TestRemoteBankChild$", "-test.v")
				cmd.Env = append(os.Environ(), "CALIBRATED_REMOTE_CHILD_DSN="+dsn,
					"CALIBRATED_REMOTE_CHILD_ACCOUNTS="+strconv.Itoa(accounts), "CALIBRATED_REMOTE_CHILD_FOR=9s")
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				cmd.Stderr = os.Stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				ch := &child{cmd: cmd}
				children[i] = ch
				wg.Go(func() {
					sc := bufio.NewScanner(out)
					for sc.Scan() {
						line := sc.Text()
						mu.Lock()
						switch {
						case line == "transfer":
							ch.transfers++
						case line == "done":
							ch.done = true
						case strings.HasPrefix(line, "origin "):
							ch.origin = strings.TrimPrefix(line, "origin ")
						case strings.HasPrefix(line, "error "):
							ch.errs = append(ch.errs, line)
						}
						mu.Unlock()
					}
				})
			}
			time.Sleep(2500 * time.Millisecond)
			if err := w.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			holder, _ := w.LeaseHolder("a")
			var victim *child
			mu.Lock()
			for _, ch := range children {
				if ch.origin == holder {
					victim = ch
				}
			}
			before := 0
			for _, ch := range children {
				before += ch.transfers
			}
			mu.Unlock()
			if victim == nil {
				t.Fatalf("the lease on a is held by %q, none of the children", holder)
			}
			if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed := time.Now()
			deadline := killed.Add(3 * engine.ApplierLease)
			for {
				if h, _ := w.LeaseHolder("a"); h != "" && h != holder {
					t.Logf("lease on a taken over %v after the kill", time.Since(killed).Round(time.Millisecond))
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("nobody took over the lease on a within %v", 3*engine.ApplierLease)
				}
				time.Sleep(50 * time.Millisecond)
			}
			for _, ch := range children {
				_ = ch.cmd.Wait()
			}
			wg.Wait()
			total := 0
			for _, ch := range children {
				total += ch.transfers
				if ch != victim && !ch.done {
					t.Errorf("a surviving child did not finish")
				}
				for _, e := range ch.errs {
					t.Errorf("child: %s", e)
				}
			}
			t.Logf("%d transfers, %d before the kill", total, before)
			if total <= before {
				t.Errorf("no transfer after the kill")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := w.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			for _, b := range w.Backends() {
				if err := w.WaitClear(ctx, b, nil, ""); err != nil {
					t.Fatalf("backend %s never caught up: %v", b, err)
				}
			}
			checkBank(t, dbtest.Open(t, urls), accounts)
			deadline = time.Now().Add(10 * time.Second)
			for w.Stats().Holders > 0 {
				if time.Now().After(deadline) {
					t.Fatalf("keys still held after the dead process's leases: %+v", w.Stats())
				}
				time.Sleep(100 * time.Millisecond)
				_, _ = w.Append(ctx, &ledger.Event{Type: ledger.Tick})
			}
		})
	}
}

// TestRemoteLinearizable: writes go through one handle and reads through
// another, each with its own connection to a NATS ledger, while backend b
// lags behind a proxy. Strong reads (the read index: the ledger's tail,
// then the pending keys) keep the history linearizable; the control, with
// consistency=none on the reading handle, must come out illegal.
func TestRemoteLinearizable(t *testing.T) {
	urls := dbtest.Postgres(t, 3)
	u, err := url.Parse(urls[1])
	if err != nil {
		t.Fatal(err)
	}
	p := faults.New(t, u.Host)
	urls[1] = p.Through(t, urls[1])
	l := natsLedger(t)
	writers, wcs := openRemote(t, urls, l, 1, "ack=anchor")
	mustExec(t, writers[0], `CREATE TABLE kv (id int PRIMARY KEY, v bigint NOT NULL)`)
	for k := range linKeys {
		mustExec(t, writers[0], `INSERT INTO kv VALUES ($1, 0)`, k)
	}
	waitConnector(t, wcs[0])
	p.Latency(t, linLagMs)

	for _, tc := range []struct {
		consistency string
		legal       bool
	}{{"strong", true}, {"none", false}} {
		t.Run(tc.consistency, func(t *testing.T) {
			readers, _ := openRemote(t, urls, l, 1, "read=b", "consistency="+tc.consistency)
			for attempt := 1; attempt <= 3; attempt++ {
				p.Clear()
				waitConnector(t, wcs[0])
				mustExec(t, writers[0], `UPDATE kv SET v = 0`)
				waitConnector(t, wcs[0])
				p.Latency(t, linLagMs)
				h := linWorkloadOn(t, func(write bool) *sql.DB {
					if write {
						return writers[0]
					}
					return readers[0]
				}, 2*time.Second)
				s := h.Stats()
				if s.Reads < 20 || s.Writes-s.FailedWrites < 5 {
					t.Fatalf("history too thin to mean anything: %s", s)
				}
				res, err := lincheck.Check(h.Operations(), linCheckIn, "")
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("attempt %d: porcupine says %s (%s)", attempt, res, s)
				if tc.legal {
					if res != porcupine.Ok {
						t.Fatalf("strong reads through another process: %s", res)
					}
					break
				}
				if res == porcupine.Illegal {
					break
				}
				if attempt == 3 {
					t.Fatal("consistency=none on a lagging backend gave no stale read in three histories: the check cannot fail")
				}
			}
		})
	}
	p.Clear()
	waitConnector(t, wcs[0])
	dbtest.Converged(t, dbtest.Open(t, urls), "kv")
}

// natsStream returns the JetStream handle of a test ledger's stream.
func natsStream(t *testing.T, l remoteLedger) (jetstream.JetStream, jetstream.Stream, func()) {
	t.Helper()
	u, err := url.Parse(l.url)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect("nats://" + u.Host)
	if err != nil {
		t.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(context.Background(), strings.TrimPrefix(u.Path, "/"))
	if err != nil {
		t.Fatal(err)
	}
	return js, s, nc.Close
}

// TestRemoteLedgerGap: a message deleted from the middle of a NATS ledger
// stops the driver that reads past it: opening says what was seen, and no
// backend applies anything past the gap.
func TestRemoteLedgerGap(t *testing.T) {
	urls := dbtest.Postgres(t, 2)
	l := natsLedger(t)
	dbs, cs := openRemote(t, urls, l, 1)
	mustExec(t, dbs[0], `CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL)`)
	mustExec(t, dbs[0], `INSERT INTO kv VALUES (1, 0)`)
	mark := mustEngine(t, cs[0]).Calibrator().Stats().Processed
	for range 5 {
		mustExec(t, dbs[0], `UPDATE kv SET v = v + 1 WHERE id = 1`)
	}
	waitConnector(t, cs[0])
	dbs[0].Close()
	_, s, done := natsStream(t, l)
	defer done()
	if err := s.DeleteMsg(context.Background(), uint64(mark)+1); err != nil {
		t.Fatal(err)
	}
	// Every backend forgets the entries after the gap, as if they had not
	// been applied: a driver that read past the gap would apply them again.
	direct := dbtest.Open(t, urls)
	for _, db := range direct {
		if _, err := db.Exec(`UPDATE kv SET v = 0`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(`DELETE FROM calibrated_applied WHERE seq > $1`, int64(mark)); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := ParseDSN(dbtest.DSN(urls, "ledger='"+l.url+"'"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	defer db.Close()
	err = db.Ping()
	if !errors.Is(err, ErrLedgerUnavailable) || !errors.Is(err, ledger.ErrHistory) || Retryable(err) {
		t.Fatalf("opening past a gap: %v; want a broken history, not retryable", err)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("expected seq %d", mark+1)) {
		t.Errorf("the error does not name where the gap is: %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	for i, d := range direct {
		var v int
		if err := d.QueryRow(`SELECT v FROM kv WHERE id = 1`).Scan(&v); err != nil || v != 0 {
			t.Errorf("backend %c: v = %d, %v: something past the gap was applied", 'a'+i, v, err)
		}
	}
}

// TestRemoteLedgerRecreated: a NATS ledger deleted and created anew under
// a running driver stops it: writes fail with a broken history that says so.
func TestRemoteLedgerRecreated(t *testing.T) {
	urls := dbtest.Postgres(t, 2)
	l := natsLedger(t)
	dbs, _ := openRemote(t, urls, l, 1)
	mustExec(t, dbs[0], `CREATE TABLE kv (id int PRIMARY KEY, v int NOT NULL)`)
	js, s, done := natsStream(t, l)
	defer done()
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(context.Background(), info.Config.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(context.Background(), info.Config); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := dbs[0].ExecContext(ctx, `INSERT INTO kv VALUES (1, 0)`)
		cancel()
		if errors.Is(err, ledger.ErrHistory) {
			t.Logf("write after the stream was recreated: %v", err)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes go on after the ledger was recreated: last %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for i, d := range dbtest.Open(t, urls) {
		var n int
		if err := d.QueryRow(`SELECT count(*) FROM kv`).Scan(&n); err != nil || n != 0 {
			t.Errorf("backend %c: %d rows, %v: a write on the new stream was applied", 'a'+i, n, err)
		}
	}
}

func mustEngine(t *testing.T, c *connector) *engine.Engine {
	t.Helper()
	e, err := c.engine(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return e
}
