package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/router"
	"github.com/go-sql-driver/mysql"
)

// myGenerated is a MySQL INSERT … VALUES that leaves an AUTO_INCREMENT
// column to the database. MySQL has no sequence to draw ids from before the
// statement runs, so it runs on the anchor first, inside a transaction, and
// the other backends replay it with the ids the anchor gave as literals, as
// MySQL's own statement-based replication replays an INSERT_ID.
type myGenerated struct {
	shape *router.MySQLInsert
	col   string // the AUTO_INCREMENT column, as stored
	// pos is the 1-based position of col among each row's values when the
	// INSERT gives it (some rows leave it to the database with NULL, 0 or
	// DEFAULT, as GORM does for new records in a batch with existing
	// ones), or 0 when the INSERT omits it. With pos > 0 the rows run on
	// the anchor one by one, so that each row's result tells its id, and
	// those that left it to the database are replayed with it.
	pos int
	// split: INSERT IGNORE, ON DUPLICATE KEY UPDATE or REPLACE. Which of
	// several rows such a statement inserts (and so which ids it uses) is
	// not told by its result, so each row runs on the anchor as a
	// statement of its own, in order, which does the same.
	split   bool
	replace bool // REPLACE: every row is inserted
}

// myReturning is a MariaDB write with RETURNING: the anchor runs it (or,
// when it takes ids from the anchor, answers it with a SELECT of the rows
// it inserted), and the ledger holds it without its RETURNING clause, which
// the other backends would answer with rows nobody reads.
type myReturning struct {
	text string // the statement as the application sent it
	list string // what follows RETURNING
}

// fixMySQL makes a MySQL write deterministic or refuses it:
//   - a write that reads the clock (NOW(), CURRENT_TIMESTAMP …, a column
//     default of CURRENT_TIMESTAMP, an ON UPDATE CURRENT_TIMESTAMP column
//     an UPDATE leaves alone) runs after SET timestamp with an instant fixed
//     here, on every backend, and SET timestamp = DEFAULT after it;
//   - an INSERT that leaves an AUTO_INCREMENT column to the database runs
//     on the anchor first (myGenerated);
//   - an INSERT … VALUES whose rows give an AUTO_INCREMENT column NULL, 0,
//     DEFAULT or an expression in some rows runs on the anchor first too,
//     row by row (myGenerated.pos);
//   - other volatile defaults (UUID(), RAND()) left to the database, and
//     AUTO_INCREMENT columns given a value by INSERT … SELECT, are refused.
func (pl *planner) fixMySQL(ctx context.Context, p *plan) error {
	if p.a.Returning && p.a.Kind == router.Write {
		// MariaDB's RETURNING: the anchor answers it, the ledger holds the
		// statement without it.
		stripped, list, ok := router.MySQLReturning(p.a.Text)
		if !ok {
			return unsafe(p.a, "RETURNING", "could not be separated from the statement", "read the rows with a SELECT after the write")
		}
		sa, err := pl.an.Analyze(stripped)
		if err != nil {
			return err
		}
		p.ret = &myReturning{text: p.a.Text, list: list}
		p.a = sa
	}
	a := p.a
	clock := a.Clock
	var gen *backend.Generated
	genPos := 0
	if a.Kind == router.Write {
		for i := range a.Tables {
			t := &a.Tables[i]
			if !t.Target {
				continue
			}
			info, err := pl.schema.Table(ctx, t.Name)
			if err != nil {
				return &BackendError{Backend: "anchor", Op: "read schema", Err: err}
			}
			if info == nil {
				continue
			}
			insert := i == 0 && isInsert(a)
			for k := range info.Generated {
				g := &info.Generated[k]
				if _, set := t.Set[g.Column]; g.OnUpdate && t.Set != nil && !set {
					clock = true // an UPDATE, or ON DUPLICATE KEY UPDATE, sets it from the clock
				}
				if !insert {
					continue
				}
				// Where the rows give the column: by the column list, or
				// by the table's column order when there is none.
				at := slices.Index(t.InsertCols, g.Column)
				if t.InsertCols == nil && len(t.InsertRows) > 0 && len(t.InsertRows[0]) >= g.Position {
					at = g.Position - 1
				}
				given := at >= 0
				switch {
				case g.Rowid && given && t.InsertRows == nil:
					if t.LeavesToDatabase(g.Column, true, p.args) {
						return unsafe(a, fmt.Sprintf("column %s.%s (AUTO_INCREMENT) given by INSERT … SELECT", t.Name, g.Column),
							"may be numbered separately by every backend",
							"omit "+g.Column+" from the INSERT to have the anchor number it, or use INSERT … VALUES")
					}
				case g.Rowid && given:
					// NULL, 0 (unless NO_AUTO_VALUE_ON_ZERO), DEFAULT or an
					// expression in some rows: those rows take the anchor's ids.
					if leaves := t.LeftToDatabase(at, true, p.args); slices.Contains(leaves, true) {
						gen, genPos, p.leaves = g, at+1, leaves
					}
				case g.Rowid:
					gen = g
				case given:
				case g.Clock:
					clock = true
				case g.OnUpdate && !backend.VolatileDefault(g.Expr):
					// only UPDATEs set it
				default:
					return unsafe(a, fmt.Sprintf("column %s.%s (default %s)", t.Name, g.Column, g.Expr),
						"would be generated separately on every backend",
						"give "+g.Column+" a value explicitly")
				}
			}
		}
	}
	if gen != nil {
		g, err := pl.myGenerated(a, gen, genPos)
		if err != nil {
			return err
		}
		p.gen = g
	}
	if clock {
		// The instant every backend's NOW() gives; like MySQL's own
		// replication, each renders it in its session's time zone.
		now := time.Now()
		p.pre = append(p.pre, ledger.Stmt{SQL: fmt.Sprintf("SET timestamp = %d.%06d", now.Unix(), now.Nanosecond()/1000)})
		p.post = append(p.post, ledger.Stmt{SQL: "SET timestamp = DEFAULT"})
	}
	return nil
}

// myGenerated returns how to run a's INSERT, which leaves g to the database
// (in every row when pos is 0, else in some rows, at position pos of their
// values), on the anchor first, or refuses it.
func (pl *planner) myGenerated(a *router.Analysis, g *backend.Generated, pos int) (*myGenerated, error) {
	t := &a.Tables[0]
	refuse := func(why string) error {
		return unsafe(a, fmt.Sprintf("column %s.%s (AUTO_INCREMENT)", t.Name, g.Column),
			"would be numbered separately by every backend, and "+why,
			"use INSERT … VALUES, or give "+g.Column+" a value")
	}
	if t.InsertRows == nil {
		return nil, refuse("the anchor's ids can only be replayed for INSERT … VALUES")
	}
	if rw, ok := pl.rewrites.get(a.Text); ok && rw != nil && rw.my != nil && rw.my.pos == pos {
		return rw.my, nil
	}
	shape, err := router.ParseMySQLInsert(a.Text)
	if err != nil {
		return nil, refuse("this text could not be rewritten to carry them (" + err.Error() + ")")
	}
	upper := strings.ToUpper(strings.TrimSpace(a.Text))
	my := &myGenerated{shape: shape, col: g.Name, pos: pos, split: a.OnConflict, replace: strings.HasPrefix(upper, "REPLACE")}
	if my.split && !my.replace && pl.foundRows {
		return nil, refuse("with clientFoundRows=true the anchor's row count does not tell an inserted row from an unchanged one")
	}
	pl.rewrites.put(a.Text, &insertRewrite{text: a.Text, my: my})
	return my, nil
}

// keys gives the INSERT's target the table key when some of its rows take
// their ids from the anchor: their row keys are not known before it runs
// (an INSERT that omits the id takes the table key for the same reason).
func (g *myGenerated) keys(a *router.Analysis, keys []ledger.Key) []ledger.Key {
	if g.pos == 0 {
		return keys
	}
	table := a.Tables[0].Name
	out := []ledger.Key{ledger.TableKey(table)}
	for _, k := range keys {
		if k.Table != table {
			out = append(out, k)
		}
	}
	return out
}

// foundRows reports whether MySQL backends report rows found rather than
// rows changed (go-sql-driver's clientFoundRows).
func foundRows(backends []Backend) bool {
	for _, b := range backends {
		if c, err := mysql.ParseDSN(b.DSN); err == nil && c.ClientFoundRows {
			return true
		}
	}
	return false
}

// isInsert reports whether a writes with INSERT or REPLACE.
func isInsert(a *router.Analysis) bool {
	if len(a.Tables) == 0 || !a.Tables[0].Target {
		return false
	}
	t := a.Tables[0]
	if t.InsertCols != nil || t.InsertRows != nil {
		return true
	}
	// TODO(v2): have the router say "INSERT" instead of guessing from the text.
	u := strings.ToUpper(strings.TrimSpace(a.Text))
	return strings.HasPrefix(u, "INSERT") || strings.HasPrefix(u, "REPLACE")
}

// foldKeys makes a MySQL statement's row and unique keys compare string
// values as their columns' collations do, so that two writes of 'A@x' and
// 'a@x' to a unique column under a _ci collation meet in the ledger, as
// they meet in each backend's index. Keys of other dialects are returned
// as they are.
func (pl *planner) foldKeys(keys []ledger.Key) []ledger.Key {
	if pl.dialect != "mysql" {
		return keys
	}
	return router.FoldKeys(keys, pl.schema.PrimaryKey, func(table, col, v string) (string, bool) {
		info, err := pl.schema.Table(context.Background(), table)
		if err != nil || info == nil {
			return "", false
		}
		coll, ok := info.Collations[col]
		if !ok {
			return "", false
		}
		return backend.MySQLFold(coll, v), true
	})
}
