package backend

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/router"
)

// Parallel apply (PostgreSQL through pgx). A batch's COMMIT waits for the
// WAL to reach disk, about half of what a small batch costs, and one
// applier's batches commit one after another. Entries that commute may
// instead be applied by up to maxFlights transactions at once, each a
// batch on its own connection (a flight), which the server commits
// together; the applier reports the flights in admission order, so what
// the calibrator sees is unchanged.
//
// Two entries commute when either order gives the same rows and the same
// outcomes. The keys say so only where they are precise: a statement
// that reads rows it does not name in its keys, or a row named once by its
// primary key and once by a unique index, or a unique value one entry
// frees and another takes, would be missed. So an entry flies only when
// every statement of it
//   - is contained ([router.Analysis.Contained]: one INSERT ... VALUES,
//     UPDATE or DELETE of one table, no function call, subquery, CTE,
//     upsert or RETURNING), so it reads only the rows it names;
//   - writes a [Table.Plain] table: a primary key, no triggers, rules, row
//     security, inheritance or deferrable constraints, and foreign keys
//     that reference primary keys, without actions;
//   - names rows by primary key only (no unique key among the entry's
//     keys), and, on a table with other unique indexes or exclusion
//     constraints, is an UPDATE that assigns none of their columns: such
//     an UPDATE neither takes nor frees a unique value. (A DELETE frees
//     values, an INSERT takes them, and neither can tell which rows of the
//     others' it meets.)
//
// and its keys conflict with no flying entry's. A foreign key check reads
// the parent row by its primary key, which the entry's keys name. Any
// entry that does not fly waits until every flight has landed, and then
// runs alone, as before. A flight that fails is applied again the usual
// way while the others stay up: it commutes with them, so it may land
// after them.
//
// With as many flights as writers waiting, each write goes out as soon as
// it is admitted instead of waiting for a flight to land: with servers
// 1 ms away and 8 clients, 8 flights gave 0.65–0.79 of one direct
// backend's UPDATEs/s where 4 gave 0.61–0.70 (docs/BENCHMARKS.md). The
// bound keeps an applier from holding more than that many connections.
const maxFlights = 8

// schemaTTL is how long the applier trusts what it read of its backend's
// tables, so that a trigger created outside calibrated soon stops
// entries on that table from flying.
const schemaTTL = 10 * time.Second

// flying holds what an applier knows to decide which entries may fly.
type flying struct {
	once   sync.Once
	an     *router.Analyzer
	schema *Schema
	read   time.Time    // when schema was last invalidated
	ddl    uint64       // the backend's DDL count then
	beside atomic.Int64 // flights launched while another was up, for tests
}

// flight is a batch being applied in a transaction of its own.
type flight struct {
	jobs []*ledger.Job
	res  []ledger.Result
	err  error
	done chan struct{}
}

var errNotPgx = errors.New("the backend is not reached through pgx")

// launch applies jobs on a connection of their own, in one round trip.
func (a *Applier) launch(ctx context.Context, jobs []*ledger.Job) *flight {
	f := &flight{jobs: jobs, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		res, ok, err := a.pipelined(ctx, jobs)
		if !ok && err == nil {
			err = errNotPgx
		}
		f.res, f.err = res, err
	}()
	return f
}

// flyable returns the longest prefix of jobs that may fly beside the jobs
// up (those of the flights up, in order).
func (a *Applier) flyable(ctx context.Context, up, jobs []*ledger.Job) []*ledger.Job {
	if a.B.Dialect != "postgres" || len(jobs) == 0 {
		return nil
	}
	fl := &a.flying
	fl.once.Do(func() {
		fl.an, _ = router.NewAnalyzer("postgres", 1024)
		fl.schema = &Schema{DB: func() *sql.DB { return a.B.DB }, Dialect: "postgres"}
	})
	if fl.an == nil {
		return nil
	}
	if ddl := a.B.schema.Load(); time.Since(fl.read) > schemaTTL || ddl != fl.ddl {
		fl.schema.Invalidate()
		fl.read, fl.ddl = time.Now(), ddl
	}
	var flyingKeys []ledger.Key
	for _, j := range up {
		flyingKeys = append(flyingKeys, j.Keys...)
	}
	for i, j := range jobs {
		if !a.commutes(ctx, j) || ledger.Overlap(flyingKeys, j.Keys) {
			return jobs[:i]
		}
	}
	return jobs
}

// commutes reports whether j's keys are precise enough for j to fly.
func (a *Applier) commutes(ctx context.Context, j *ledger.Job) bool {
	if j.Tx != "" || j.Hold != nil || j.CommittedOn(a.B.Name) || len(j.Stmts) == 0 {
		return false
	}
	for _, k := range j.Keys {
		if k.IsAll() || router.IsUniqueKey(k) {
			return false
		}
	}
	for _, s := range j.Stmts {
		if s.Query {
			return false
		}
		an, err := a.flying.an.Analyze(s.SQL)
		if err != nil || !an.Contained() {
			return false
		}
		target := &an.Tables[0]
		t, err := a.flying.schema.Table(ctx, target.Name)
		if err != nil || t == nil || !t.Plain {
			return false
		}
		if t.UniqueColumns != nil {
			if len(target.SetCols) == 0 { // INSERT or DELETE
				return false
			}
			for _, c := range target.SetCols {
				if t.UniqueColumns[strings.ToLower(c)] {
					return false
				}
			}
		}
	}
	return true
}

// fly runs the applier's loop while flights are up: it launches the next
// flyable batch while there is room, else lands the oldest flight and
// reports it. It returns the flights still up, or the error that ends the
// applier.
func (a *Applier) fly(ctx context.Context, flights []*flight, batch int) ([]*flight, error) {
	var more <-chan struct{} // closed when there may be more to launch
	if len(flights) < maxFlights {
		var up []*ledger.Job
		for _, f := range flights {
			up = append(up, f.jobs...)
		}
		var queued []*ledger.Job
		queued, more = a.Cal.QueuedJobs(a.B.Name, len(up)+batch)
		if n := len(up); len(queued) > n && slices.Equal(queued[:n], up) {
			if next := a.flyable(ctx, up, queued[n:]); len(next) > 0 {
				a.flying.beside.Add(1)
				return append(flights, a.launch(ctx, next)), nil
			}
		}
	}
	f := flights[0]
	select {
	case <-f.done:
	case <-more:
		return flights, nil
	case <-ctx.Done():
		return flights, ctx.Err()
	}
	if err := a.reland(ctx, f); err != nil {
		return flights, err
	}
	if err := a.committed(ctx, f.jobs, f.res, false); err != nil {
		return flights[1:], err
	}
	return flights[1:], nil
}

// reland applies a failed flight's jobs again the usual way (entry by
// entry behind savepoints after a statement error), until they commit or
// ctx ends. The flights beside it commute with it, so it may land after
// them; they stay up, their results kept for their reports.
func (a *Applier) reland(ctx context.Context, f *flight) error {
	err := f.err
	if errors.Is(err, errStatement) || errors.Is(err, errNotPgx) {
		// The backend refused a statement, or the flight could not fly:
		// no reason to wait before the usual way.
		f.res, err = a.apply(ctx, f.jobs)
	}
	for err != nil {
		if !a.backOff(ctx, f.jobs[0].Seq, err) {
			return ctx.Err()
		}
		f.res, err = a.apply(ctx, f.jobs)
	}
	return nil
}

// ground waits for every flight to end.
func ground(flights []*flight) {
	for _, f := range flights {
		<-f.done
	}
}
