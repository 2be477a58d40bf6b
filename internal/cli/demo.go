package cli

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calibrated/calibrated"
)

const demoUsage = `usage: calibrated demo [flags]

Creates three databases, keeps them identical through calibrated while
several clients move money between accounts in transactions and read
balances, then checks that no money was lost and that the three databases
hold exactly the same rows. Exits 0 when every check passes, 1 when one
fails, 3 when it cannot run.

flags:
`

type demoConfig struct {
	postgres string
	clients  int
	accounts int
	duration time.Duration
	keep     bool
}

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var cfg demoConfig
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, demoUsage); fs.PrintDefaults() }
	def := os.Getenv("CALIBRATED_TEST_POSTGRES")
	if def == "" {
		def = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	fs.StringVar(&cfg.postgres, "postgres", def, "PostgreSQL server URL (a maintenance database) on which to create the three demo databases")
	fs.IntVar(&cfg.clients, "clients", 8, "concurrent clients")
	fs.IntVar(&cfg.accounts, "accounts", 100, "accounts to move money between")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long the workload runs")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the demo databases afterwards")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		return ExitUsage
	}
	if cfg.clients < 1 || cfg.accounts < 2 || cfg.duration <= 0 {
		fmt.Fprintln(stderr, "calibrated demo: -clients must be ≥ 1, -accounts ≥ 2 and -duration > 0")
		return ExitUsage
	}
	code, err := runDemo(ctx, cfg, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "calibrated demo: %v\n", err)
	}
	return code
}

func runDemo(ctx context.Context, cfg demoConfig, out io.Writer) (int, error) {
	urls, drop, err := demoDatabases(ctx, cfg.postgres, cfg.keep)
	if err != nil {
		return ExitError, err
	}
	defer drop()
	var dsn strings.Builder
	for i, u := range urls {
		fmt.Fprintf(&dsn, "db.%c='%s' ", 'a'+i, u)
	}
	dsn.WriteString("ledger=local conflict=wait lock_timeout=30s")
	pc, err := calibrated.ParseDSN(dsn.String())
	if err != nil {
		return ExitError, err
	}
	conn, err := calibrated.NewConnector(pc)
	if err != nil {
		return ExitError, err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	db.SetMaxOpenConns(cfg.clients * 2)

	const opening = 1000
	if _, err := db.ExecContext(ctx, `CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)`); err != nil {
		return ExitError, err
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO accounts SELECT g, $1 FROM generate_series(1, $2) g ORDER BY g`, opening, cfg.accounts); err != nil {
		return ExitError, err
	}
	fmt.Fprintf(out, "calibrated demo: %d accounts of %d on three PostgreSQL databases (%s), %d clients for %s\n",
		cfg.accounts, opening, strings.Join(dbNames(urls), ", "), cfg.clients, cfg.duration)

	var transfers, reads, failed atomic.Int64
	wctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, cfg.clients)
	for c := 0; c < cfg.clients; c++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 42))
			for wctx.Err() == nil {
				if r.IntN(4) == 0 {
					var bal int64
					if err := db.QueryRowContext(wctx, `SELECT balance FROM accounts WHERE id = $1`, 1+r.IntN(cfg.accounts)).Scan(&bal); err == nil {
						reads.Add(1)
					}
					continue
				}
				from, to := 1+r.IntN(cfg.accounts), 1+r.IntN(cfg.accounts)
				if from == to {
					continue
				}
				err := transfer(wctx, db, from, to, int64(1+r.IntN(50)))
				switch {
				case err == nil:
					transfers.Add(1)
				case wctx.Err() != nil:
				case errors.Is(err, calibrated.ErrConflict), errors.Is(err, calibrated.ErrLockTimeout):
					failed.Add(1)
				default:
					errc <- err
					cancel()
					return
				}
			}
		}(uint64(c))
	}
	start := time.Now()
	tick := time.NewTicker(time.Second)
	var last int64
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
progress:
	for {
		select {
		case <-done:
			break progress
		case <-tick.C:
			n := transfers.Load()
			st, err := calibrated.StatusOf(ctx, conn)
			line := fmt.Sprintf("%5.0fs  %6d transfers/s  %6d reads  %4d retried", time.Since(start).Seconds(), n-last, reads.Load(), failed.Load())
			if err == nil {
				for _, b := range st.Backends {
					line += fmt.Sprintf("  %s:%s lag %d", b.Name, b.State, b.Queued)
				}
			}
			fmt.Fprintln(out, line)
			last = n
		}
	}
	tick.Stop()
	elapsed := time.Since(start)
	select {
	case err := <-errc:
		return ExitError, err
	default:
	}
	if ctx.Err() != nil {
		return ExitError, ctx.Err()
	}
	// Quiesce: one write on every account waits behind everything before it.
	if _, err := db.ExecContext(ctx, `UPDATE accounts SET balance = balance`); err != nil {
		return ExitError, err
	}
	return report(ctx, out, urls, int64(cfg.accounts*opening), transfers.Load(), elapsed)
}

func transfer(ctx context.Context, db *sql.DB, from, to int, amount int64) error {
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
		if err := tx.QueryRowContext(ctx, `SELECT balance FROM accounts WHERE id = $1`, id).Scan(&b); err != nil {
			return err
		}
		bal[id] = b
	}
	if bal[from] < amount {
		return tx.Commit()
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET balance = balance + $2 WHERE id = $1`, id, delta[id]); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// report checks every database directly and prints the verdict.
func report(ctx context.Context, out io.Writer, urls []string, want, transfers int64, elapsed time.Duration) (int, error) {
	ok := true
	var first string
	fmt.Fprintf(out, "\n%d transfers in %.1fs (%.0f/s)\n", transfers, elapsed.Seconds(), float64(transfers)/elapsed.Seconds())
	for i, u := range urls {
		db, err := sql.Open("pgx", u)
		if err != nil {
			return ExitError, err
		}
		var total int64
		var sum string
		err = db.QueryRowContext(ctx, `SELECT sum(balance), md5(string_agg(id || ':' || balance, ',' ORDER BY id)) FROM accounts`).Scan(&total, &sum)
		db.Close()
		if err != nil {
			return ExitError, err
		}
		verdict := "ok"
		if total != want {
			verdict, ok = fmt.Sprintf("MONEY LOST: want %d", want), false
		}
		if i == 0 {
			first = sum
		} else if sum != first {
			verdict, ok = "DIFFERS from "+dbNames(urls)[0], false
		}
		fmt.Fprintf(out, "  %-28s total %d  checksum %s  %s\n", dbNames(urls)[i], total, sum, verdict)
	}
	if !ok {
		fmt.Fprintln(out, "FAILED: the databases do not agree")
		return ExitFailed, nil
	}
	fmt.Fprintln(out, "PASSED: totals preserved and all three databases identical")
	return ExitOK, nil
}

// demoDatabases creates three fresh databases next to the maintenance
// database at server and returns their URLs and a function that drops them.
func demoDatabases(ctx context.Context, server string, keep bool) ([]string, func(), error) {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, nil, fmt.Errorf("-postgres %q: want a postgres:// URL", calibrated.Redact(server))
	}
	admin, err := sql.Open("pgx", server)
	if err != nil {
		return nil, nil, err
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return nil, nil, fmt.Errorf("cannot reach PostgreSQL at %s: %v\nstart PostgreSQL or pass -postgres URL", calibrated.Redact(server), err)
	}
	var urls []string
	for _, n := range []string{"a", "b", "c"} {
		name := "calibrated_demo_" + n
		if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			admin.Close()
			return nil, nil, err
		}
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			admin.Close()
			return nil, nil, err
		}
		v := *u
		v.Path = "/" + name
		urls = append(urls, v.String())
	}
	drop := func() {
		defer admin.Close()
		if keep {
			return
		}
		for _, n := range []string{"a", "b", "c"} {
			_, _ = admin.Exec("DROP DATABASE IF EXISTS calibrated_demo_" + n + " WITH (FORCE)")
		}
	}
	return urls, drop, nil
}

func dbNames(urls []string) []string {
	names := make([]string, len(urls))
	for i, s := range urls {
		if u, err := url.Parse(s); err == nil {
			names[i] = strings.TrimPrefix(u.Path, "/")
		}
	}
	return names
}
