package calibrated

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/calibrated/calibrated/internal/dbtest"
)

// embeddedNATS is a NATS server of the test's own, with JetStream in a
// directory of the test's, that syncs every write (sync_interval: always):
// the one-node setting that loses no acknowledged append.
type embeddedNATS struct {
	t          *testing.T
	dir        string
	port, http int
	s          *server.Server
}

func startNATS(t *testing.T) *embeddedNATS {
	t.Helper()
	n := &embeddedNATS{t: t, dir: t.TempDir(), port: -1, http: -1}
	n.start()
	t.Cleanup(func() {
		if n.s.Running() {
			n.stop()
		}
	})
	return n
}

func (n *embeddedNATS) start() {
	n.t.Helper()
	s, err := server.NewServer(&server.Options{
		ServerName: "calibrated-test", Host: "127.0.0.1", Port: n.port, HTTPHost: "127.0.0.1", HTTPPort: n.http,
		JetStream: true, StoreDir: n.dir, SyncAlways: true, NoLog: true, NoSigs: true,
	})
	if err != nil {
		n.t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("embedded NATS server did not start")
	}
	n.s = s
	n.port, n.http = s.Addr().(*net.TCPAddr).Port, s.MonitorAddr().Port
}

func (n *embeddedNATS) stop() {
	n.s.Shutdown()
	n.s.WaitForShutdown()
}

// ledger is the DSN's ledger value for stream name on this server, with
// the monitoring endpoint that lets the driver check its durability.
func (n *embeddedNATS) ledger(name string) string {
	return fmt.Sprintf("nats://127.0.0.1:%d/%s?monitor=http://127.0.0.1:%d", n.port, name, n.http)
}

// TestNATSRestart: two handles, each with its own connection to one
// embedded NATS server that syncs every write, run transactions (insert a
// row, count it) while the server is stopped and started again on the same
// store. While it is down, writes fail with ErrLedgerUnavailable; after,
// work resumes by itself; every acknowledged transaction is on every
// backend, and every row is counted exactly once.
func TestNATSRestart(t *testing.T) {
	n := startNATS(t)
	urls := dbtest.Postgres(t, 2)
	l := remoteLedger{kind: "nats", url: n.ledger("RESTART")}
	dbs, cs := openRemote(t, urls, l, 2, "lock_timeout=10s")
	mustExec(t, dbs[0], `CREATE TABLE acked (id int PRIMARY KEY)`)
	mustExec(t, dbs[0], `CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)`)
	mustExec(t, dbs[0], `INSERT INTO counter VALUES (1, 0)`)

	var (
		mu          sync.Mutex
		acked       []int
		next        atomic.Int64
		unavailable atomic.Int64
		other       atomic.Int64
		phase       atomic.Int32 // 0 before the outage, 1 during, 2 after
		after       atomic.Int64
		stop        = make(chan struct{})
		wg          sync.WaitGroup
	)
	for i, db := range dbs {
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					id := int(next.Add(1))
					ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
					err := func() error {
						tx, err := db.BeginTx(ctx, nil)
						if err != nil {
							return err
						}
						defer tx.Rollback()
						if _, err := tx.Exec(`INSERT INTO acked (id) VALUES ($1)`, id); err != nil {
							return err
						}
						if _, err := tx.Exec(`UPDATE counter SET n = n + 1 WHERE id = 1`); err != nil {
							return err
						}
						return tx.Commit()
					}()
					cancel()
					switch {
					case err == nil:
						mu.Lock()
						acked = append(acked, id)
						mu.Unlock()
						if phase.Load() == 2 {
							after.Add(1)
						}
					case errors.Is(err, ErrLedgerUnavailable):
						unavailable.Add(1)
						time.Sleep(20 * time.Millisecond)
					case Retryable(err):
					default:
						if other.Add(1) <= 5 {
							t.Logf("handle %d: %v", i, err)
						}
						time.Sleep(20 * time.Millisecond)
					}
				}
			})
		}
	}
	time.Sleep(time.Second)
	phase.Store(1)
	n.stop()
	// A new write and a strong read fail fast, and say why.
	for i, op := range []func(context.Context) error{
		func(ctx context.Context) error {
			_, err := dbs[1].ExecContext(ctx, `UPDATE counter SET n = n WHERE id = 2`)
			return err
		},
		func(ctx context.Context) error {
			var v int
			return dbs[1].QueryRowContext(ctx, `SELECT n FROM counter WHERE id = 1`).Scan(&v)
		},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		start := time.Now()
		err := op(ctx)
		cancel()
		if !errors.Is(err, ErrLedgerUnavailable) || time.Since(start) > 5*time.Second {
			t.Errorf("probe %d while the ledger is down: %v after %v; want ErrLedgerUnavailable, fast", i, err, time.Since(start))
		} else {
			unavailable.Add(1)
		}
	}
	time.Sleep(time.Second)
	n.start()
	phase.Store(2)
	deadline := time.Now().Add(20 * time.Second)
	for after.Load() < 50 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d transactions acknowledged, %d after the restart; %d failed as unavailable, %d otherwise",
		len(acked), after.Load(), unavailable.Load(), other.Load())
	if unavailable.Load() == 0 {
		t.Error("no write reported the ledger unavailable while the server was down")
	}
	if after.Load() < 50 {
		t.Fatalf("only %d transactions after the restart: work did not resume", after.Load())
	}

	for _, c := range cs {
		waitConnector(t, c)
	}
	direct := dbtest.Open(t, urls)
	for i, db := range direct {
		var rows, counted int
		if err := db.QueryRow(`SELECT (SELECT count(*) FROM acked), (SELECT n FROM counter WHERE id = 1)`).Scan(&rows, &counted); err != nil {
			t.Fatal(err)
		}
		if rows != counted {
			t.Errorf("backend %c: %d rows, counted %d times: applied other than once", 'a'+i, rows, counted)
		}
		for _, id := range acked {
			var one int
			if err := db.QueryRow(`SELECT count(*) FROM acked WHERE id = $1`, id).Scan(&one); err != nil || one != 1 {
				t.Fatalf("backend %c: acknowledged row %d is there %d times (%v)", 'a'+i, id, one, err)
			}
		}
	}
	dbtest.Converged(t, direct, "acked")
	dbtest.Converged(t, direct, "counter")
}
