package engine

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/router"
)

// engine is the running driver behind one connector.
type Engine struct {
	cfg      *Config
	log      *slog.Logger
	metrics  Observer
	backends []*backend.Backend
	byName   map[string]*backend.Backend
	inflight map[string]*counter
	ledger   ledger.Log
	cal      *ledger.Calibrator
	an       *router.Analyzer
	schema   *backend.Schema
	pl       planner
	fkBase   bool     // SQLite: PRAGMA foreign_keys of every backend's connections (their URLs')
	txs      sync.Map // open transactions of this process, by id
	health   health

	monitorDone chan struct{}
	bg          sync.WaitGroup // the monitor's background work (health.go)
	compacting  atomic.Bool    // marks are being folded (health.go)
	trimEvery   atomic.Int64   // how often, in nanoseconds, the monitor may trim the ledger
	lastTrim    time.Time
	lastLease   time.Time // when the monitor last renewed or claimed applier leases

	// sharedLedger is set when other processes append to the ledger, so a
	// linearizable read must first catch up with its tail. With the
	// in-process ledger every completed write is already known here.
	sharedLedger bool

	runCtx   context.Context
	stop     context.CancelFunc
	mu       sync.Mutex
	appliers map[string]*applierRun
	txSeq    counter

	// afterCommit, if set before an applier starts, runs between each of
	// its batch commits and the report; an error stops the applier there.
	// Tests use it to crash an applier at the worst moment.
	afterCommit func(backend string) error
}

type applierRun struct {
	stop context.CancelFunc
	done chan struct{}
}

// Start opens the backends and the ledger, reads what the ledger holds,
// and starts the appliers and the monitor.
func Start(ctx context.Context, cfg *Config) (_ *Engine, err error) {
	e := &Engine{
		cfg: cfg, log: cfg.Logger, metrics: cfg.Metrics, byName: map[string]*backend.Backend{},
		inflight: map[string]*counter{}, appliers: map[string]*applierRun{},
		health: health{failing: map[string]time.Time{}},
	}
	e.trimEvery.Store(int64(10 * time.Second))
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.metrics == nil {
		e.metrics = nobody{}
	}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	names := make([]string, len(cfg.Backends))
	for i, bc := range cfg.Backends {
		b := &backend.Backend{Name: bc.Name, Dialect: bc.Dialect}
		db, err := openBackend(cfg, bc, b)
		if err != nil {
			return nil, &BackendError{Backend: bc.Name, Op: "open", Err: err}
		}
		// Keep as many idle connections as the application is likely to
		// use at once: database/sql keeps 2 by default, so under
		// concurrency every read beyond the second would open (and the
		// server fork) a new connection and close it afterwards.
		db.SetMaxIdleConns(backendIdleConns)
		b.DB = db
		e.backends = append(e.backends, b)
		e.byName[bc.Name] = b
		e.inflight[bc.Name] = new(counter)
		names[i] = bc.Name
	}
	for _, b := range e.backends {
		if err := b.DB.PingContext(ctx); err != nil {
			return nil, &BackendError{Backend: b.Name, Op: "connect", Err: err}
		}
		if err := backend.EnsureApplied(ctx, b.DB, b.Dialect); err != nil {
			return nil, &BackendError{Backend: b.Name, Op: "create " + backend.AppliedTable, Err: err}
		}
	}
	if cfg.Dialect == "sqlite" {
		if e.fkBase, err = liteFKBase(ctx, e.backends); err != nil {
			return nil, err
		}
	}
	if e.an, err = router.NewAnalyzer(cfg.Dialect, 4096); err != nil {
		return nil, err
	}
	e.schema = &backend.Schema{Dialect: cfg.Dialect, DB: func() *sql.DB {
		if a, err := e.anchor(); err == nil {
			return a.DB
		}
		return e.backends[0].DB
	}}
	e.pl = planner{dialect: cfg.Dialect, an: e.an, schema: e.schema, anchor: e.anchor, failed: e.failed, foundRows: foundRows(cfg.Backends)}
	if cfg.Log != nil {
		e.ledger, e.sharedLedger = unclosed{cfg.Log}, true
	} else if e.ledger, e.sharedLedger, err = openLedger(ctx, cfg); err != nil {
		return nil, err
	}
	stale, err := lostHistory(ctx, e.backends, e.ledger.ID())
	if err != nil {
		return nil, err
	}
	e.cal = ledger.NewCalibrator(e.ledger, origin(), names)
	e.cal.OnLapse = e.lapsed
	e.cal.OnAppend = e.metrics.AppendLatency
	if err := e.cal.Start(); err != nil {
		return nil, &LedgerError{Err: err}
	}
	// Read what the ledger already holds (a restart on a file ledger), and
	// let the leases of transactions whose process died lapse.
	if _, err := e.cal.Append(ctx, &ledger.Event{Type: ledger.Tick}); err != nil {
		return nil, &LedgerError{Err: err}
	}
	if err := e.cal.Sync(ctx); err != nil {
		return nil, &LedgerError{Err: err}
	}
	for _, b := range e.backends {
		if why, ok := stale[b.Name]; ok && e.cal.State(b.Name) != ledger.Stale {
			e.log.Error("calibrated: backend is stale; run calibrated resync", "backend", b.Name, "why", why)
			e.setState(ctx, b.Name, ledger.Stale)
		}
	}
	if err := e.cal.Sync(ctx); err != nil {
		return nil, &LedgerError{Err: err}
	}
	e.runCtx, e.stop = context.WithCancel(context.Background())
	if e.sharedLedger {
		// Appliers run where their lease is held; claim what is free.
		e.keepLeases(ctx, true)
	} else {
		for _, b := range e.backends {
			e.startApplier(b)
		}
	}
	e.monitorDone = make(chan struct{})
	go func() {
		defer close(e.monitorDone)
		e.monitor(e.runCtx)
	}()
	return e, nil
}

// startApplier starts the applier of b, unless it runs.
func (e *Engine) startApplier(b *backend.Backend) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if r := e.appliers[b.Name]; r != nil {
		select {
		case <-r.done:
		default:
			return
		}
	}
	ctx, cancel := context.WithCancel(e.runCtx)
	r := &applierRun{stop: cancel, done: make(chan struct{})}
	e.appliers[b.Name] = r
	a := &backend.Applier{B: b, Cal: e.cal, LedgerID: e.ledger.ID(), Log: e.log, OnApplied: e.applied(b)}
	if hook := e.afterCommit; hook != nil {
		a.AfterCommit = func() error { return hook(b.Name) }
	}
	a.Health = func(err error) {
		if err == nil {
			e.succeeded(b.Name)
		} else {
			e.failed(b.Name, err)
		}
	}
	go func() {
		defer close(r.done)
		if err := a.Run(ctx); err != nil && ctx.Err() == nil {
			e.log.Error("calibrated: applier stopped", "backend", b.Name, "err", err)
		}
	}()
}

// stopApplier stops the applier of the named backend and waits for it.
func (e *Engine) stopApplier(name string) {
	e.mu.Lock()
	r := e.appliers[name]
	e.mu.Unlock()
	if r != nil {
		r.stop()
		<-r.done
	}
}

// applied counts what an applier applied, and refreshes the schema once
// the anchor has applied DDL.
func (e *Engine) applied(b *backend.Backend) func([]*ledger.Job) {
	return func(jobs []*ledger.Job) {
		e.metrics.Applied(b.Name, len(jobs))
		if a, err := e.anchor(); err != nil || a != b {
			return
		}
		for _, j := range jobs {
			for _, k := range j.Keys {
				if k.IsAll() {
					e.schemaChanged()
					return
				}
			}
		}
	}
}

// schemaChanged forgets what was derived from the anchor's schema.
func (e *Engine) schemaChanged() {
	e.schema.Invalidate()
	e.pl.rewrites.reset()
}

// Close stops the appliers, the monitor and the calibrator, rolls back open
// transactions, and closes the ledger and the backends.
func (e *Engine) Close() error {
	if e.stop != nil {
		e.stop()
	}
	if e.sharedLedger && e.cal != nil {
		e.giveUpLeases()
	}
	// Open transactions end with the driver, as they would with the
	// process: their anchor transactions roll back, their row locks go.
	e.txs.Range(func(_, v any) bool {
		if t, ok := v.(*Tx); ok && t.atx != nil {
			_ = t.atx.Rollback()
		}
		return true
	})
	timeout := time.After(10 * time.Second)
	if e.monitorDone != nil {
		<-e.monitorDone
	}
	e.bg.Wait()
	e.mu.Lock()
	for name, r := range e.appliers {
		select {
		case <-r.done:
		case <-timeout:
			e.log.Warn("calibrated: applier did not stop within 10s", "backend", name)
		}
	}
	e.mu.Unlock()
	if e.cal != nil {
		e.cal.Stop()
	}
	if e.ledger != nil {
		e.ledger.Close()
	}
	var errs []error
	for _, b := range e.backends {
		if err := b.DB.Close(); err != nil {
			errs = append(errs, &BackendError{Backend: b.Name, Op: "close", Err: err})
		}
	}
	return errors.Join(errs...)
}

// openBackend opens the database/sql handle of be, configured as b:
// through the config's Opener if it has one, else through the backend's
// driver. pgx connections forget their prepared statements after be
// applies DDL ([backend.OpenPgx]); lib/pq and go-sql-driver/mysql prepare
// a statement for each query and keep none.
func openBackend(cfg *Config, b Backend, be *backend.Backend) (*sql.DB, error) {
	if cfg.Opener != nil {
		return cfg.Opener(b)
	}
	switch b.Driver {
	case "pgx":
		return backend.OpenPgx(b.DSN, be)
	case "pq":
		return sql.Open("postgres", b.DSN) // lib/pq's name
	case "sqlite":
		// WAL lets readers run beside the applier's transaction; the busy
		// timeout makes a writer wait for the file lock instead of failing.
		sep := "?"
		if strings.Contains(b.DSN, "?") {
			sep = "&"
		}
		return sql.Open("sqlite", "file:"+b.DSN+sep+"_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
	}
	return sql.Open(b.Driver, b.DSN)
}

// anchor returns the first active backend.
func (e *Engine) anchor() (*backend.Backend, error) {
	if b := e.byName[e.cal.Anchor()]; b != nil {
		return b, nil
	}
	return nil, ErrNoActiveBackend
}

// origin names this process in the ledger.
func origin() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// backendIdleConns is how many idle connections each backend's pool keeps.
const backendIdleConns = 32
