package cli

import (
	"context"
	"crypto/md5"
	"database/sql"
	"database/sql/driver"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calibrated/calibrated"
	"github.com/calibrated/calibrated/internal/outage"
	_ "github.com/calibrated/calibrated/sqlite" // the embedded default
)

const demoUsage = `usage: calibrated demo [flags]

Keeps three databases identical through calibrated while several clients
move money between accounts in transactions and read balances. Midway one
database is cut off for a few seconds, then brought back: writes go on,
no read fails, and the database catches up. At the end every database is
checked directly: no money lost, and the same rows everywhere.

By default the three databases are SQLite files in a temporary directory
(nothing to install). -postgres URL uses three databases created on that
PostgreSQL server instead.

Exits 0 when every check passes, 1 when one fails, 2 for bad flags, 3 when
it cannot run.

flags:
`

type demoConfig struct {
	postgres string
	mysql    string
	dir      string
	clients  int
	accounts int
	duration time.Duration
	cut      time.Duration
	keep     bool

	// sabotage, if set, runs midway with the backends' direct handles; a
	// test uses it to break convergence on purpose.
	sabotage func(direct []*sql.DB)
}

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg demoConfig
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, demoUsage); fs.PrintDefaults() }
	fs.StringVar(&cfg.postgres, "postgres", "", "PostgreSQL server URL (a maintenance database) on which to create three databases, instead of SQLite files")
	fs.StringVar(&cfg.mysql, "mysql", "", "MySQL/MariaDB server, as a go-sql-driver DSN such as root@tcp(127.0.0.1:3306)/, on which to create three databases, instead of SQLite files")
	fs.StringVar(&cfg.dir, "dir", "", "directory for the SQLite files (default: a new temporary directory)")
	fs.IntVar(&cfg.clients, "clients", 8, "concurrent clients")
	fs.IntVar(&cfg.accounts, "accounts", 100, "accounts to move money between")
	fs.DurationVar(&cfg.duration, "duration", 12*time.Second, "how long the workload runs")
	fs.DurationVar(&cfg.cut, "cut", 3*time.Second, "how long the third database is cut off midway (0: no outage)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the databases afterwards")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "calibrated demo: unexpected argument %q\n", fs.Arg(0))
		return ExitUsage
	}
	if cfg.postgres != "" && cfg.mysql != "" {
		fmt.Fprintln(stderr, "calibrated demo: choose -postgres or -mysql, not both")
		return ExitUsage
	}
	if cfg.clients < 1 || cfg.accounts < 2 || cfg.duration <= 0 || cfg.cut < 0 || cfg.cut >= cfg.duration {
		fmt.Fprintln(stderr, "calibrated demo: -clients must be ≥ 1, -accounts ≥ 2, -duration > 0 and 0 ≤ -cut < -duration")
		return ExitUsage
	}
	code, err := runDemo(ctx, cfg, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "calibrated demo: %v\n", err)
	}
	return code
}

// demoBackends are the three databases: how calibrated reaches them
// (behind a switch that can cut them off) and how the final check does.
type demoBackends struct {
	dsn    string   // the calibrated DSN
	names  []string // for the report
	direct []*sql.DB
	ph     func(n int) string // placeholder
	drop   func()
}

func runDemo(ctx context.Context, cfg demoConfig, out io.Writer) (int, error) {
	var bs *demoBackends
	var err error
	switch {
	case cfg.postgres != "":
		bs, err = postgresBackends(ctx, cfg.postgres, cfg.keep)
	case cfg.mysql != "":
		bs, err = mysqlBackends(ctx, cfg.mysql, cfg.keep)
	default:
		bs, err = sqliteBackends(cfg.dir, cfg.keep)
	}
	if err != nil {
		return ExitError, err
	}
	defer bs.drop()
	pc, err := calibrated.ParseDSN(bs.dsn + " conflict=wait lock_timeout=30s down_after=1s")
	if err != nil {
		return ExitError, err
	}
	switches := map[string]*outage.Switch{}
	opener := calibrated.WithOpener(func(b calibrated.Backend) (*sql.DB, error) {
		sw := &outage.Switch{}
		switches[b.Name] = sw
		switch b.Dialect {
		case "mysql":
			return sw.Open("mysql", b.DSN)
		case "sqlite":
			// synchronous=NORMAL: with WAL, durable across a crash of the demo,
			// not of the machine; plenty for a demo, and much faster.
			return sw.Open("sqlite", "file:"+b.DSN+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
		}
		return sw.Open("pgx", b.DSN)
	})
	conn, err := calibrated.NewConnector(pc, opener)
	if err != nil {
		return ExitError, err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxOpenConns(cfg.clients * 2)

	const opening = 1000
	ph := bs.ph
	if _, err := db.ExecContext(ctx, `CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)`); err != nil {
		return ExitError, err
	}
	for id := 1; id <= cfg.accounts; id++ {
		if _, err := db.ExecContext(ctx, `INSERT INTO accounts (id, balance) VALUES (`+ph(1)+`, `+ph(2)+`)`, id, opening); err != nil {
			return ExitError, err
		}
	}
	fmt.Fprintf(out, "calibrated demo: %d accounts of %d on three databases (%s), %d clients for %s",
		cfg.accounts, opening, strings.Join(bs.names, ", "), cfg.clients, cfg.duration)
	if cfg.cut > 0 {
		fmt.Fprintf(out, "; %s is cut off for %s midway", "c", cfg.cut)
	}
	fmt.Fprintln(out)

	var transfers, retries, reads, waited atomic.Int64
	wctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, cfg.clients+1)
	for c := 0; c < cfg.clients; c++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 42))
			for wctx.Err() == nil {
				if r.IntN(4) == 0 {
					start := time.Now()
					var bal int64
					err := db.QueryRowContext(wctx, `SELECT balance FROM accounts WHERE id = `+ph(1), 1+r.IntN(cfg.accounts)).Scan(&bal)
					switch {
					case err == nil:
						reads.Add(1)
						if time.Since(start) > 20*time.Millisecond {
							waited.Add(1)
						}
					case wctx.Err() != nil:
					default:
						errc <- fmt.Errorf("a read failed: %w", err)
						cancel()
						return
					}
					continue
				}
				from, to := 1+r.IntN(cfg.accounts), 1+r.IntN(cfg.accounts)
				if from == to {
					continue
				}
				err := transfer(wctx, db, ph, from, to, int64(1+r.IntN(50)))
				switch {
				case err == nil:
					transfers.Add(1)
				case wctx.Err() != nil:
				case calibrated.Retryable(err):
					retries.Add(1)
				default:
					errc <- fmt.Errorf("a transfer failed: %w", err)
					cancel()
					return
				}
			}
		}(uint64(c))
	}

	start := time.Now()
	cutAt, restoreAt := cfg.duration/3, cfg.duration/3+cfg.cut
	var restored, caughtUp time.Time
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last int64
	cut, sabotaged := false, false
loop:
	for {
		select {
		case <-done:
			break loop
		case <-tick.C:
		}
		el := time.Since(start)
		if cfg.cut > 0 && !cut && el >= cutAt {
			switches["c"].Cut()
			cut = true
			fmt.Fprintln(out, "  -- c cut off")
		}
		if cut && restored.IsZero() && el >= restoreAt {
			switches["c"].Restore()
			restored = time.Now()
			fmt.Fprintln(out, "  -- c back")
		}
		if !restored.IsZero() && caughtUp.IsZero() {
			if ok, _ := allActive(ctx, conn); ok {
				caughtUp = time.Now()
			}
		}
		if cfg.sabotage != nil && !sabotaged && el >= cfg.duration/2 {
			cfg.sabotage(bs.direct)
			sabotaged = true
		}
		n := transfers.Load()
		line := fmt.Sprintf("%4.0fs %6d transfers/s %5d retried %6d reads %4d waited", el.Seconds(), n-last, retries.Load(), reads.Load(), waited.Load())
		if st, err := calibrated.StatusOf(ctx, conn); err == nil {
			for _, b := range st.Backends {
				line += fmt.Sprintf("  %s %-11s lag %-4d", b.Name, b.State, b.Queued)
			}
		}
		fmt.Fprintln(out, line)
		last = n
	}
	elapsed := time.Since(start)
	select {
	case err := <-errc:
		return ExitFailed, err
	default:
	}
	if ctx.Err() != nil {
		return ExitError, ctx.Err()
	}
	if cut && restored.IsZero() {
		switches["c"].Restore()
		restored = time.Now()
	}
	// Every backend active again, and nothing pending anywhere: a write on
	// every account waits behind everything before it.
	if err := waitActive(ctx, conn, 60*time.Second); err != nil {
		return ExitFailed, err
	}
	if cut && caughtUp.IsZero() {
		caughtUp = time.Now()
	}
	if _, err := db.ExecContext(ctx, `UPDATE accounts SET balance = balance`); err != nil {
		return ExitError, err
	}
	return report(ctx, out, bs, int64(cfg.accounts*opening), transfers.Load(), elapsed, caughtUp.Sub(restored), cut)
}

// allActive reports whether every backend is active.
func allActive(ctx context.Context, conn driver.Connector) (bool, error) {
	st, err := calibrated.StatusOf(ctx, conn)
	if err != nil {
		return false, err
	}
	for _, b := range st.Backends {
		if b.State != "active" {
			return false, nil
		}
	}
	return true, nil
}

// waitActive waits until every backend is active.
func waitActive(ctx context.Context, conn driver.Connector, limit time.Duration) error {
	for end := time.Now().Add(limit); ; time.Sleep(20 * time.Millisecond) {
		ok, err := allActive(ctx, conn)
		if err != nil || ok {
			return err
		}
		if time.Now().After(end) {
			return fmt.Errorf("the backends were not all active %s after the workload", limit)
		}
	}
}

func checksum(s string) string {
	return fmt.Sprintf("%x", md5.Sum([]byte(s)))
}

func transfer(ctx context.Context, db *sql.DB, ph func(int) string, from, to int, amount int64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Touch the accounts in id order, so transfers never wait on each
	// other in a cycle.
	delta := map[int]int64{from: -amount, to: amount}
	bal := map[int]int64{}
	ids := []int{min(from, to), max(from, to)}
	for _, id := range ids {
		var b int64
		if err := tx.QueryRowContext(ctx, `SELECT balance FROM accounts WHERE id = `+ph(1), id).Scan(&b); err != nil {
			return err
		}
		bal[id] = b
	}
	if bal[from] < amount {
		return tx.Commit()
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET balance = balance + `+ph(1)+` WHERE id = `+ph(2), delta[id], id); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// report checks every database directly and prints the verdict.
func report(ctx context.Context, out io.Writer, bs *demoBackends, want, transfers int64, elapsed, catchUp time.Duration, cut bool) (int, error) {
	ok := true
	var first string
	fmt.Fprintf(out, "\n%d transfers in %.1fs: %.0f/s\n", transfers, elapsed.Seconds(), float64(transfers)/elapsed.Seconds())
	if cut {
		fmt.Fprintf(out, "c caught up %.2fs after it came back\n", catchUp.Seconds())
	}
	for i, db := range bs.direct {
		var total int64
		var rows []string
		r, err := db.QueryContext(ctx, `SELECT id, balance FROM accounts ORDER BY id`)
		if err != nil {
			return ExitError, err
		}
		for r.Next() {
			var id, b int64
			if err := r.Scan(&id, &b); err != nil {
				r.Close()
				return ExitError, err
			}
			total += b
			rows = append(rows, fmt.Sprintf("%d:%d", id, b))
		}
		r.Close()
		sum := checksum(strings.Join(rows, ","))
		verdict := "ok"
		if total != want {
			verdict, ok = fmt.Sprintf("MONEY LOST: want %d", want), false
		}
		if i == 0 {
			first = sum
		} else if sum != first {
			verdict, ok = "DIFFERS from "+bs.names[0], false
		}
		fmt.Fprintf(out, "  %-30s total %d  checksum %s  %s\n", bs.names[i], total, sum, verdict)
	}
	if !ok {
		fmt.Fprintln(out, "FAILED: the databases do not agree")
		return ExitFailed, nil
	}
	fmt.Fprintln(out, "PASSED: totals preserved and all three databases identical")
	return ExitOK, nil
}

func sqliteBackends(dir string, keep bool) (*demoBackends, error) {
	made := false
	if dir == "" {
		d, err := os.MkdirTemp("", "calibrated-demo-")
		if err != nil {
			return nil, err
		}
		dir, made = d, true
	}
	bs := &demoBackends{ph: func(int) string { return "?" }}
	var dsn []string
	for _, n := range []string{"a", "b", "c"} {
		path := filepath.Join(dir, n+".db")
		for _, f := range []string{path, path + "-wal", path + "-shm"} {
			if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
		dsn = append(dsn, fmt.Sprintf("db.%s='sqlite:%s'", n, strings.ReplaceAll(path, `'`, `\'`)))
		bs.names = append(bs.names, path)
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			return nil, err
		}
		bs.direct = append(bs.direct, db)
	}
	bs.dsn = strings.Join(dsn, " ")
	bs.drop = func() {
		for _, db := range bs.direct {
			db.Close()
		}
		if made && !keep {
			os.RemoveAll(dir)
		}
	}
	return bs, nil
}

// postgresBackends creates three fresh databases next to the maintenance
// database at server.
func postgresBackends(ctx context.Context, server string, keep bool) (*demoBackends, error) {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("-postgres %q: want a postgres:// URL", calibrated.Redact(server))
	}
	return serverBackends(ctx, demoServer{
		driver: "pgx", admin: server, force: " WITH (FORCE)", keep: keep,
		ph:   func(n int) string { return fmt.Sprintf("$%d", n) },
		hint: "start PostgreSQL, or leave out -postgres to use SQLite files",
		database: func(name string) (string, string) {
			v := *u
			v.Path = "/" + name
			return v.String(), v.String()
		},
	})
}

// mysqlBackends creates three fresh databases on the MySQL server at dsn.
func mysqlBackends(ctx context.Context, dsn string, keep bool) (*demoBackends, error) {
	base, _, ok := strings.Cut(dsn, "/")
	if !ok || !strings.Contains(base, "@") && !strings.Contains(base, "(") {
		return nil, fmt.Errorf("-mysql %q: want a go-sql-driver DSN such as root@tcp(127.0.0.1:3306)/", calibrated.Redact(dsn))
	}
	return serverBackends(ctx, demoServer{
		driver: "mysql", admin: dsn, keep: keep,
		ph:   func(int) string { return "?" },
		hint: "start MySQL or MariaDB, or leave out -mysql to use SQLite files",
		database: func(name string) (string, string) {
			d := base + "/" + name
			return d, "mysql://" + d
		},
	})
}

// demoServer says how to make the demo's databases on one database server.
type demoServer struct {
	driver   string // database/sql driver of the server
	admin    string // where to create and drop databases
	force    string // DROP DATABASE's suffix that disconnects users
	keep     bool
	ph       func(n int) string
	hint     string // what to do when the server cannot be reached
	database func(name string) (direct, backend string)
}

// serverBackends creates three fresh databases on a server and returns
// them as the demo's backends.
func serverBackends(ctx context.Context, srv demoServer) (*demoBackends, error) {
	admin, err := sql.Open(srv.driver, srv.admin)
	if err != nil {
		return nil, err
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return nil, fmt.Errorf("cannot reach %s: %v\n%s", calibrated.Redact(srv.admin), err, srv.hint)
	}
	bs := &demoBackends{ph: srv.ph}
	var parts []string
	names := []string{"calibrated_demo_a", "calibrated_demo_b", "calibrated_demo_c"}
	for i, name := range names {
		for _, q := range []string{"DROP DATABASE IF EXISTS " + name + srv.force, "CREATE DATABASE " + name} {
			if _, err := admin.ExecContext(ctx, q); err != nil {
				admin.Close()
				return nil, err
			}
		}
		direct, backend := srv.database(name)
		parts = append(parts, fmt.Sprintf("db.%c='%s'", 'a'+i, strings.ReplaceAll(backend, "'", `\'`)))
		db, err := sql.Open(srv.driver, direct)
		if err != nil {
			admin.Close()
			return nil, err
		}
		bs.direct = append(bs.direct, db)
	}
	bs.dsn, bs.names = strings.Join(parts, " "), names
	bs.drop = func() {
		for _, db := range bs.direct {
			db.Close()
		}
		defer admin.Close()
		if srv.keep {
			return
		}
		for _, n := range names {
			_, _ = admin.Exec("DROP DATABASE IF EXISTS " + n + srv.force)
		}
	}
	return bs, nil
}
