package backend

import (
	"context"
	"fmt"
	"strings"

	"github.com/calibrated/calibrated/ledger"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// pipelined applies jobs in one backend transaction through pgx's
// pipeline: one round trip for the whole batch when none of its entries
// was applied here before, else one that records the new entries' marks
// and a second that runs their statements and commits.
// ok is false when the backend is not reached through pgx, or a job wants
// rows back from this backend; the caller then takes the general path. A
// statement error rolls the transaction back and is returned wrapped in
// errStatement, so the caller replays the batch entry by entry.
func (a *Applier) pipelined(ctx context.Context, jobs []*ledger.Job) (res []ledger.Result, ok bool, err error) {
	for _, j := range jobs {
		if j.Anchor != a.B.Name {
			continue
		}
		for _, s := range j.Stmts {
			if s.Query {
				return nil, false, nil
			}
		}
	}
	conn, err := a.B.DB.Conn(ctx)
	if err != nil {
		return nil, true, err
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		sc, isPgx := dc.(*stdlib.Conn)
		if !isPgx {
			return nil
		}
		ok = true
		res, err = a.pipeline(ctx, sc.Conn(), jobs)
		return err
	})
	return res, ok, err
}

func (a *Applier) pipeline(ctx context.Context, pc *pgx.Conn, jobs []*ledger.Job) (res []ledger.Result, err error) {
	res, again, err := a.pipelineOnce(ctx, pc, jobs)
	if !again {
		return res, err
	}
	return a.pipelineMarked(ctx, pc, jobs)
}

// pipelineOnce applies jobs in a single round trip, on the bet that none
// of them was applied here before (the usual case: the entries an anchor
// transaction committed itself are skipped before this): BEGIN, the marks
// as a plain INSERT, every statement, COMMIT. If a mark is already there,
// the INSERT fails, the server skips the rest, and again says to take the
// two-round-trip path that asks which entries are new.
func (a *Applier) pipelineOnce(ctx context.Context, pc *pgx.Conn, jobs []*ledger.Job) (res []ledger.Result, again bool, err error) {
	marks, args := a.marks(jobs)
	b := &pgx.Batch{}
	b.Queue("BEGIN")
	b.Queue(marks, args...)
	type pos struct{ job, stmt int }
	var order []pos
	for i, j := range jobs {
		for k, s := range j.Stmts {
			b.Queue(s.SQL, s.Args...)
			order = append(order, pos{i, k})
		}
	}
	b.Queue("COMMIT")
	br := pc.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil && !again {
			err = cerr
		}
		if err != nil || again {
			a.rollback(pc)
		}
	}()
	if _, err := br.Exec(); err != nil {
		if _, isStmt := sqlState(err); isStmt {
			// pgx prepares every new statement of the batch before it
			// runs any, and reports a statement the server cannot prepare
			// here (several commands in one text, say): replay the batch
			// entry by entry, where each runs on its own.
			return nil, false, fmt.Errorf("%w: %w", errStatement, err)
		}
		return nil, false, err
	}
	if _, err := br.Exec(); err != nil {
		if state, _ := sqlState(err); state == "23505" {
			return nil, true, nil // applied here before, in part: ask which
		}
		return nil, false, err
	}
	res = make([]ledger.Result, len(jobs))
	for _, p := range order {
		tag, serr := br.Exec()
		if serr != nil {
			if _, isStmt := sqlState(serr); isStmt {
				return nil, false, fmt.Errorf("%w: %w", errStatement, serr)
			}
			return nil, false, serr
		}
		res[p.job].Outcome.Rows = tag.RowsAffected()
	}
	if _, err := br.Exec(); err != nil {
		return nil, false, err
	}
	return res, false, nil
}

// marks returns the INSERT that records jobs as applied, and its arguments.
func (a *Applier) marks(jobs []*ledger.Job) (string, []any) {
	var q strings.Builder
	q.WriteString(`INSERT INTO ` + AppliedTable + ` (ledger, seq) VALUES `)
	args := make([]any, 0, 2*len(jobs))
	for i, j := range jobs {
		if i > 0 {
			q.WriteByte(',')
		}
		fmt.Fprintf(&q, "($%d,$%d)", 2*i+1, 2*i+2)
		args = append(args, a.LedgerID, int64(j.Seq))
	}
	return q.String(), args
}

// pipelineMarked applies jobs in two round trips: the first opens the
// transaction and records the marks of the entries not applied here
// before, the second runs those entries' statements and commits.
func (a *Applier) pipelineMarked(ctx context.Context, pc *pgx.Conn, jobs []*ledger.Job) (res []ledger.Result, err error) {
	marks, args := a.marks(jobs)
	q := marks + " ON CONFLICT DO NOTHING RETURNING seq"

	open := &pgx.Batch{}
	open.Queue("BEGIN")
	open.Queue(q, args...)
	br := pc.SendBatch(ctx, open)
	fresh := map[ledger.Seq]bool{}
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, err
	}
	rows, err := br.Query()
	if err == nil {
		for rows.Next() {
			var s int64
			if err = rows.Scan(&s); err != nil {
				break
			}
			fresh[ledger.Seq(s)] = true
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		a.rollback(pc)
		return nil, err
	}
	defer func() {
		if err != nil {
			a.rollback(pc)
		}
	}()

	run := &pgx.Batch{}
	res = make([]ledger.Result, len(jobs))
	type pos struct{ job, stmt int }
	var order []pos
	for i, j := range jobs {
		if !fresh[j.Seq] {
			res[i].Skipped = true
			continue
		}
		for k, s := range j.Stmts {
			run.Queue(s.SQL, s.Args...)
			order = append(order, pos{i, k})
		}
	}
	run.Queue("COMMIT")
	br = pc.SendBatch(ctx, run)
	for _, p := range order {
		tag, serr := br.Exec()
		if serr != nil {
			br.Close()
			if _, isStmt := sqlState(serr); isStmt {
				return nil, fmt.Errorf("%w: %w", errStatement, serr)
			}
			return nil, serr
		}
		res[p.job].Outcome.Rows = tag.RowsAffected()
	}
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, err
	}
	return res, br.Close()
}

// rollback ends a failed pipelined transaction; a connection it cannot
// roll back is closed by pgx and dropped from the pool.
func (a *Applier) rollback(pc *pgx.Conn) {
	_, _ = pc.Exec(context.Background(), "ROLLBACK")
}
