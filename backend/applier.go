// Package backend applies the ledger to one database: the applier that
// replays admitted entries in order, exactly once (P5), and what the driver
// needs to know about a backend's schema.
package backend

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/calibrated/calibrated/ledger"
)

// Backend is one database named in the DSN.
type Backend struct {
	Name    string
	Dialect string // "postgres"
	DB      *sql.DB

	schema atomic.Uint64 // DDL entries applied here; see SchemaChanged
}

// AppliedTable is where each backend records the entries it has applied,
// in the same transaction as the entries themselves.
const AppliedTable = "calibrated_applied"

// EnsureApplied creates the applied-positions table if it is missing.
func EnsureApplied(ctx context.Context, db *sql.DB, dialect string) error {
	ledgerType := "text"
	if dialect == "mysql" {
		ledgerType = "varchar(128)" // MySQL keys need a length
	}
	_, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+AppliedTable+
		` (ledger `+ledgerType+` NOT NULL, seq bigint NOT NULL, PRIMARY KEY (ledger, seq))`)
	return err
}

// MarkSQL returns the statement that records seq as applied, with the ledger
// identity as the first parameter and seq as the second, for an anchor
// transaction to run itself.
func MarkSQL(dialect string) string {
	return `INSERT INTO ` + AppliedTable + ` (ledger, seq) VALUES (` + Placeholder(dialect, 1) + `, ` + Placeholder(dialect, 2) + `)`
}

// Placeholder returns the n-th (1-based) parameter placeholder of a dialect.
func Placeholder(dialect string, n int) string {
	if dialect == "postgres" {
		return "$" + strconv.Itoa(n)
	}
	return "?"
}

// Applier replays the ledger's admitted jobs on one backend in admission
// order, many jobs per backend transaction.
type Applier struct {
	B        *Backend
	Cal      *ledger.Calibrator
	LedgerID string
	Batch    int           // jobs per transaction; default 64
	Retry    time.Duration // wait after a failed transaction; default 100ms
	Log      *slog.Logger
	// OnApplied, if set, runs after each committed batch (schema refresh after DDL).
	OnApplied func(jobs []*ledger.Job)
	// Health, if set, hears of every batch: nil when it committed, else the
	// error that made it fail (and be retried).
	Health func(err error)
	// AfterCommit, if set, runs between a batch's commit and its report; an
	// error stops the applier there. Tests use it to kill an applier at the
	// worst moment for exactly-once.
	AfterCommit func() error

	flying flying // which entries may be applied side by side (flights.go)
}

// Run applies jobs until ctx is done or the calibrator stops.
func (a *Applier) Run(ctx context.Context) error {
	batch := a.Batch
	if batch <= 0 {
		batch = 64
	}
	var flights []*flight // batches applied side by side (flights.go)
	defer func() { ground(flights) }()
	for {
		if len(flights) > 0 {
			var err error
			if flights, err = a.fly(ctx, flights, batch); err != nil {
				return err
			}
			continue
		}
		jobs, err := a.Cal.NextJobs(ctx, a.B.Name, batch)
		if err != nil {
			return err
		}
		jobs, err = a.ready(ctx, jobs)
		if err != nil {
			return err
		}
		if len(jobs) == 0 {
			continue // what it waited for was applied elsewhere
		}
		jobs = cutAtForeignKeys(a.B.Dialect, jobs)
		jobs, ddl := cutAfterDDL(jobs)
		if !ddl && len(a.flyable(ctx, nil, jobs)) == len(jobs) {
			flights = append(flights, a.launch(ctx, jobs))
			continue
		}
		res, err := a.apply(ctx, jobs)
		if err != nil {
			if !a.backOff(ctx, jobs[0].Seq, err) {
				return ctx.Err()
			}
			continue
		}
		if err := a.committed(ctx, jobs, res, ddl); err != nil {
			return err
		}
	}
}

// backOff handles a batch from seq on that failed with err, before it is
// retried: it tells the health monitor, makes every connection forget its
// statements if a stale prepared statement failed it, logs, and waits. It
// returns false once ctx is done.
func (a *Applier) backOff(ctx context.Context, seq ledger.Seq, err error) bool {
	if a.Health != nil && ctx.Err() == nil {
		a.Health(err)
	}
	if ctx.Err() != nil {
		return false
	}
	if Replan(err) {
		// DDL this applier did not see (on a private table, or from
		// outside) made a prepared statement stale: every connection
		// forgets its statements before the retry.
		a.B.SchemaChanged()
	}
	a.logger().Warn("calibrated: apply failed; retrying", "backend", a.B.Name, "seq", seq, "err", err)
	return sleep(ctx, a.retry())
}

// committed finishes a batch that committed: the health report, the
// schema after DDL, the AfterCommit hook, OnApplied, and the report to
// the calibrator, which releases the batch's keys on this backend. An
// error ends the applier.
func (a *Applier) committed(ctx context.Context, jobs []*ledger.Job, res []ledger.Result, ddl bool) error {
	if a.Health != nil && ctx.Err() == nil {
		a.Health(nil)
	}
	if ddl {
		// Before the report lets reads of the DDL's keys go ahead:
		// they must find every connection ready to plan afresh.
		a.B.SchemaChanged()
	}
	if a.AfterCommit != nil {
		if err := a.AfterCommit(); err != nil {
			return err
		}
	}
	if a.OnApplied != nil {
		a.OnApplied(jobs)
	}
	return a.Cal.Report(context.WithoutCancel(ctx), a.B.Name, jobs, res)
}

// cutAfterDDL ends the batch after its first entry that takes every key
// (DDL), and reports whether the batch now ends with one. The entries
// after it run in the next batch, on a connection that has forgotten the
// statements it prepared before the schema changed.
func cutAfterDDL(jobs []*ledger.Job) ([]*ledger.Job, bool) {
	for i, j := range jobs {
		if isDDL(j) {
			return jobs[:i+1], true
		}
	}
	return jobs, false
}

// isDDL reports whether j takes every key, as DDL does.
func isDDL(j *ledger.Job) bool {
	return slices.ContainsFunc(j.Keys, ledger.Key.IsAll)
}

// foreignCommitWait is how long an applier waits for another process's
// transaction to report the commit it made on this backend.
const foreignCommitWait = 2 * time.Second

// ready cuts the batch before the first job whose anchor transaction is
// still running in this process, and waits for that transaction if it is
// first: the transaction records the entry itself when it commits.
func (a *Applier) ready(ctx context.Context, jobs []*ledger.Job) ([]*ledger.Job, error) {
	for i, j := range jobs {
		if j.Hold == nil && j.Tx != "" && j.Anchor == a.B.Name && j.Origin != a.Cal.Origin() {
			// Another process's transaction ran here and commits the
			// entry itself, then reports it (remote mode): wait for that
			// report a moment, then apply it, which its applied mark
			// makes a no-op if the transaction did commit.
			if i > 0 {
				return jobs[:i], nil
			}
			wctx, cancel := context.WithTimeout(ctx, foreignCommitWait)
			err := a.Cal.WaitApplied(wctx, j, a.B.Name)
			cancel()
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err == nil {
				return nil, nil // reported: the calibrator has dequeued it
			}
			continue
		}
		if j.Hold == nil || j.Anchor != a.B.Name {
			continue
		}
		select {
		case <-j.Hold:
			continue
		default:
		}
		if i > 0 {
			return jobs[:i], nil
		}
		select {
		case <-j.Hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return jobs, nil
}

func (a *Applier) retry() time.Duration {
	if a.Retry > 0 {
		return a.Retry
	}
	return 100 * time.Millisecond
}

func (a *Applier) logger() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.New(slog.DiscardHandler)
}

// apply runs jobs in one transaction. Statement errors that the database
// reports (a unique violation, say) are outcomes, the same on every
// backend; any other error fails the whole transaction, to be retried.
func (a *Applier) apply(ctx context.Context, jobs []*ledger.Job) ([]ledger.Result, error) {
	// Entries the anchor's own transactions committed here, marks and all,
	// need no round trip: they are applied (and commute with the others,
	// whose keys they did not share).
	var rest []*ledger.Job
	var at []int
	for i, j := range jobs {
		if !j.CommittedOn(a.B.Name) {
			rest = append(rest, j)
			at = append(at, i)
		}
	}
	if len(rest) < len(jobs) {
		res := make([]ledger.Result, len(jobs))
		for i := range res {
			res[i].Skipped = true
		}
		if len(rest) == 0 {
			return res, nil
		}
		sub, err := a.apply(ctx, rest)
		if err != nil {
			return nil, err
		}
		for k, i := range at {
			res[i] = sub[k]
		}
		return res, nil
	}
	res, ok, err := a.pipelined(ctx, jobs)
	if !ok {
		res, err = a.tx(ctx, jobs, false)
	}
	if errors.Is(err, errStatement) {
		// Replay entry by entry, each behind a savepoint, so that one
		// failing entry does not take the others down.
		return a.tx(ctx, jobs, true)
	}
	return res, err
}

var errStatement = errors.New("statement failed")

func (a *Applier) tx(ctx context.Context, jobs []*ledger.Job, savepoints bool) (res []ledger.Result, err error) {
	on, done, err := a.forBatch(ctx, jobs) // SQLite: a connection with the entries' foreign key setting
	if err != nil {
		return nil, err
	}
	defer done()
	if db, ok := on.(*sql.DB); ok {
		// A connection of its own, so that one whose session an entry
		// may have left changed (its clock fixed, its foreign key checks
		// off) can leave the pool.
		conn, cerr := db.Conn(ctx)
		if cerr != nil {
			return nil, cerr
		}
		defer func() {
			if errors.Is(err, errSession) {
				_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			}
			_ = conn.Close()
		}()
		on = conn
	}
	tx, err := on.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	// MySQL commits the open transaction before it runs DDL, marks and
	// all: a DDL entry (always a batch's last, see cutAfterDDL) is marked
	// only after it ran, so that one that fails is not found applied.
	marked, late := jobs, (*ledger.Job)(nil)
	if a.B.Dialect == "mysql" && isDDL(jobs[len(jobs)-1]) {
		marked, late = jobs[:len(jobs)-1], jobs[len(jobs)-1]
	}
	fresh := map[ledger.Seq]bool{}
	if len(marked) > 0 {
		if fresh, err = a.mark(ctx, tx, marked); err != nil {
			return nil, err
		}
	}
	if late != nil {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+AppliedTable+` WHERE ledger = ? AND seq = ?`, a.LedgerID, int64(late.Seq)).Scan(&n); err != nil {
			return nil, err
		}
		fresh[late.Seq] = n == 0
	}
	res = make([]ledger.Result, len(jobs))
	for i, j := range jobs {
		r := &res[i]
		if !fresh[j.Seq] {
			r.Skipped = true
			continue
		}
		if j == late {
			// No savepoint survives the DDL's implicit commit. Its
			// statement error is its outcome, the same on every backend;
			// the mark records it either way.
			if serr := a.run(ctx, tx, j, r); serr != nil {
				state, ok := sqlState(serr)
				if !ok || errors.Is(serr, errSession) {
					return nil, serr
				}
				r.SQLState, r.Msg, r.Err, r.Rows = state, serr.Error(), serr, nil
			}
			if _, err := tx.ExecContext(ctx, MarkSQL(a.B.Dialect), a.LedgerID, int64(j.Seq)); err != nil {
				return nil, err
			}
			continue
		}
		if savepoints {
			if _, err := tx.ExecContext(ctx, "SAVEPOINT calibrated_entry"); err != nil {
				return nil, err
			}
		}
		serr := a.run(ctx, tx, j, r)
		if serr != nil {
			state, ok := sqlState(serr)
			if !ok {
				return nil, serr
			}
			if !savepoints {
				return nil, fmt.Errorf("%w: %w", errStatement, serr)
			}
			r.SQLState, r.Msg, r.Err, r.Rows = state, serr.Error(), serr, nil
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT calibrated_entry"); err != nil {
				return nil, err
			}
			continue
		}
		if savepoints {
			if _, err := tx.ExecContext(ctx, "RELEASE SAVEPOINT calibrated_entry"); err != nil {
				return nil, err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return res, nil
}

// run executes one job's statements. It records the last one's row count
// and, on the anchor, the rows a statement returns when the caller wants them.
func (a *Applier) run(ctx context.Context, tx *sql.Tx, j *ledger.Job, r *ledger.Result) error {
	for k, s := range j.Stmts {
		if s.Query && j.Anchor == a.B.Name {
			b, err := Buffer(tx.QueryContext(ctx, s.SQL, s.Args...))
			if err != nil {
				return resetSession(ctx, tx, j.Stmts[k+1:], err)
			}
			r.Rows, r.Outcome.Rows = b, int64(len(b.Values))
			continue
		}
		res, err := tx.ExecContext(ctx, s.SQL, s.Args...)
		if err != nil {
			return resetSession(ctx, tx, j.Stmts[k+1:], err)
		}
		if r.Outcome.Rows, err = res.RowsAffected(); err != nil {
			r.Outcome.Rows = 0
		}
	}
	return nil
}

// errSession says that a failed entry's session statements could not be
// run after it: the connection is discarded, and the batch retried.
var errSession = errors.New("session not reset")

// resetSession runs, after a statement of an entry failed with err, the
// session statements among the entry's remaining ones: the SET timestamp =
// DEFAULT and SET FOREIGN_KEY_CHECKS = 1 that close what a MySQL entry
// opened before its statement (SET statements enter the ledger only as the
// driver writes them around a statement, each opening one closed later in
// the entry), so that the connection leaves the entry as it came, whether
// the transaction goes on past a savepoint or ends. It returns err, or an
// errSession error (which is no statement outcome) if they fail.
func resetSession(ctx context.Context, tx *sql.Tx, rest []ledger.Stmt, err error) error {
	for _, s := range rest {
		if !sessionStmt(s.SQL) {
			continue
		}
		if _, rerr := tx.ExecContext(ctx, s.SQL, s.Args...); rerr != nil {
			return fmt.Errorf("%w: %s, after %v: %v", errSession, s.SQL, err, rerr)
		}
	}
	return err
}

// sessionStmt reports whether a ledger statement sets session state.
func sessionStmt(q string) bool {
	return len(q) > 4 && strings.EqualFold(q[:4], "SET ")
}

// Buffered is a result set read into memory.
type Buffered struct {
	Columns []*sql.ColumnType
	Values  [][]any
}

// Buffer reads rows to the end and closes them.
func Buffer(rows *sql.Rows, err error) (*Buffered, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	b := &Buffered{}
	if b.Columns, err = rows.ColumnTypes(); err != nil {
		return nil, err
	}
	for rows.Next() {
		vals := make([]any, len(b.Columns))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		b.Values = append(b.Values, vals)
	}
	return b, rows.Err()
}

// mark records jobs as applied and returns those not applied before.
func (a *Applier) mark(ctx context.Context, tx *sql.Tx, jobs []*ledger.Job) (map[ledger.Seq]bool, error) {
	if a.B.Dialect == "mysql" {
		return a.markMySQL(ctx, tx, jobs)
	}
	var q strings.Builder
	q.WriteString(`INSERT INTO ` + AppliedTable + ` (ledger, seq) VALUES `)
	var args []any
	for i, j := range jobs {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(" + Placeholder(a.B.Dialect, 2*i+1) + "," + Placeholder(a.B.Dialect, 2*i+2) + ")")
		args = append(args, a.LedgerID, int64(j.Seq))
	}
	q.WriteString(" ON CONFLICT DO NOTHING RETURNING seq")
	rows, err := tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	fresh := make(map[ledger.Seq]bool, len(jobs))
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		fresh[ledger.Seq(s)] = true
	}
	return fresh, rows.Err()
}

// sqlState returns the SQLSTATE of a statement error the database reported.
// Connection-class errors (08…) and operator intervention (57…) are not
// statement outcomes: the batch is retried.
func sqlState(err error) (string, bool) {
	st, ok := SQLState(err)
	if !ok || Replan(err) {
		return st, false // a stale prepared statement: retried, not an outcome
	}
	if strings.HasPrefix(st, "08") || strings.HasPrefix(st, "57") || strings.HasPrefix(st, "53") {
		return st, false
	}
	return st, true
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// markMySQL is mark for MySQL, which has no RETURNING: read which marks
// exist, locking their range, then insert the others.
func (a *Applier) markMySQL(ctx context.Context, tx *sql.Tx, jobs []*ledger.Job) (map[ledger.Seq]bool, error) {
	args := []any{a.LedgerID}
	in := make([]string, len(jobs))
	for i, j := range jobs {
		in[i] = "?"
		args = append(args, int64(j.Seq))
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq FROM `+AppliedTable+` WHERE ledger = ? AND seq IN (`+strings.Join(in, ",")+`) FOR UPDATE`, args...)
	if err != nil {
		return nil, err
	}
	done := map[ledger.Seq]bool{}
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return nil, err
		}
		done[ledger.Seq(s)] = true
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	fresh := map[ledger.Seq]bool{}
	var q strings.Builder
	var ins []any
	for _, j := range jobs {
		if done[j.Seq] {
			continue
		}
		if len(ins) > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?,?)")
		ins = append(ins, a.LedgerID, int64(j.Seq))
		fresh[j.Seq] = true
	}
	if len(ins) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+AppliedTable+` (ledger, seq) VALUES `+q.String(), ins...); err != nil {
			return nil, err
		}
	}
	return fresh, nil
}

// CompactMarks folds the marks of ledger below position before into one
// row per ledger, (ledger, -count), in one transaction: the ledger no
// longer holds those entries, so no applier will ask whether they were
// applied, and the table would otherwise gain a row for every write for
// ever. What the marks of a ledger count ([AppliedCount]) is unchanged.
func CompactMarks(ctx context.Context, db *sql.DB, dialect, ledger string, before int64) (err error) {
	p1, p2 := Placeholder(dialect, 1), Placeholder(dialect, 2)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	var n int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+AppliedTable+` WHERE ledger = `+p1+` AND seq > 0 AND seq < `+p2, ledger, before).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return tx.Commit()
	}
	var folded int64 // the count an earlier compaction left, as -seq
	switch err := tx.QueryRowContext(ctx, `SELECT seq FROM `+AppliedTable+` WHERE ledger = `+p1+` AND seq < 0`, ledger).Scan(&folded); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return err
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`DELETE FROM ` + AppliedTable + ` WHERE ledger = ` + p1 + ` AND seq < ` + p2, []any{ledger, before}},
		{MarkSQL(dialect), []any{ledger, folded - n}},
	} {
		if _, err := tx.ExecContext(ctx, q.sql, q.args...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// AppliedCount is the SQL expression that counts a ledger's applied
// entries in AppliedTable, rows folded by [CompactMarks] included.
const AppliedCount = `sum(CASE WHEN seq < 0 THEN -seq ELSE 1 END)`
