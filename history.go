package calibrated

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/calibrated/calibrated/ledger"
)

// HistoryEntry is one entry of the ledger that touched a record: the
// versions a latest-value database forgets.
type HistoryEntry struct {
	Seq      uint64
	At       time.Time // the entry's stamp
	Kind     string    // "write" or "commit"
	Origin   string
	Keys     []string          // the entry's keys
	Stmts    []string          // each statement's text
	Args     [][]any           // each statement's arguments
	Outcomes map[string]string // backend -> "ok (N rows)", "skipped", "error SQLSTATE: message", or "pending"
}

// History returns, in ledger order, the entries that touched key: a row
// ("table/row", the row being its primary-key values), a whole table
// ("table") or "*". It reads the ledger this connector uses, so with
// ledger=local it knows this process's entries only.
func History(ctx context.Context, c driver.Connector, key string) ([]HistoryEntry, error) {
	cc, ok := c.(*connector)
	if !ok {
		return nil, errors.New("calibrated: History needs a connector from calibrated.NewConnector")
	}
	k, err := ParseKey(key)
	if err != nil {
		return nil, err
	}
	e, err := cc.engine(ctx)
	if err != nil {
		return nil, err
	}
	tail, err := e.Ledger().Tail(ctx)
	if err != nil {
		return nil, &LedgerError{Err: err}
	}
	from := ledger.Seq(1)
	if t, ok := e.Ledger().(interface{ First() ledger.Seq }); ok {
		from = t.First()
	}
	cur, err := e.Ledger().Read(ctx, from)
	if err != nil {
		return nil, &LedgerError{Err: err}
	}
	defer cur.Close()
	var out []HistoryEntry
	at := map[ledger.Seq]int{}
	for pos := ledger.Seq(0); pos < tail; {
		seq, ev, err := cur.Next(ctx)
		if err != nil {
			return nil, &LedgerError{Seq: uint64(pos), Err: err}
		}
		pos = seq
		switch ev.Type {
		case ledger.Write, ledger.Commit:
			if !touches(ev.Keys, k) {
				continue
			}
			h := HistoryEntry{Seq: uint64(seq), At: ev.Stamp, Kind: ev.Type.String(), Origin: ev.Origin, Outcomes: map[string]string{}}
			for _, x := range ev.Keys {
				h.Keys = append(h.Keys, x.String())
			}
			for _, s := range ev.Stmts {
				h.Stmts = append(h.Stmts, s.SQL)
				h.Args = append(h.Args, s.Args)
			}
			for _, b := range e.Backends() {
				h.Outcomes[b.Name] = "pending"
			}
			at[seq] = len(out)
			out = append(out, h)
		case ledger.Applied:
			for i, s := range ev.Seqs {
				j, ok := at[s]
				// The first report counts, as for the calibrator; a restart
				// reports replayed entries again, as skipped.
				if !ok || i >= len(ev.Outcomes) || out[j].Outcomes[ev.Backend] != "pending" {
					continue
				}
				out[j].Outcomes[ev.Backend] = describe(ev.Outcomes[i])
			}
		}
	}
	return out, nil
}

// ParseKey parses a key as History and calibrated log take it.
func ParseKey(s string) (ledger.Key, error) {
	switch {
	case s == "*":
		return ledger.All, nil
	case s == "" || strings.HasPrefix(s, "/"):
		return ledger.Key{}, fmt.Errorf("calibrated: key %q: want TABLE, TABLE/ROW or *", s)
	}
	table, row, _ := strings.Cut(s, "/")
	return ledger.Key{Table: table, Row: row}, nil
}

func touches(keys []ledger.Key, k ledger.Key) bool {
	for _, x := range keys {
		if ledger.Conflicts(x, k) {
			return true
		}
	}
	return false
}

func describe(o ledger.Outcome) string {
	switch {
	case o.Skipped:
		return "skipped (applied by the anchor's transaction)"
	case o.SQLState != "":
		return "error " + o.SQLState + ": " + o.Msg
	}
	return fmt.Sprintf("ok (%d rows)", o.Rows)
}
