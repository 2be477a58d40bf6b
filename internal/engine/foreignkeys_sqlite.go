package engine

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/ledger"
)

// SQLite's PRAGMA foreign_keys is a setting of one connection, as it is in
// SQLite: a conn that turns enforcement on or off keeps that setting for
// the writes it sends (across database/sql's reuse of it, as a SQLite
// connection would), and each backend applies those writes with that
// setting (backend.ForeignKeysSQL). Every backend's own connections start
// with the setting of its URL (_pragma=foreign_keys(1)); Start refuses
// backends that disagree.

// liteFKPragma matches PRAGMA foreign_keys, PRAGMA foreign_keys = v and
// PRAGMA foreign_keys(v).
var liteFKPragma = regexp.MustCompile(`(?i)^\s*PRAGMA\s+(?:main\s*\.\s*)?foreign_keys\s*(?:=\s*['"]?(\w+)['"]?|\(\s*['"]?(\w+)['"]?\s*\))?\s*;?\s*$`)

// parseLiteFK reports whether query is PRAGMA foreign_keys, whether it sets
// a value, and which; a value SQLite would not read as a boolean is not
// taken (the statement then goes the way of other session statements).
func parseLiteFK(query string) (ok, set, on bool) {
	m := liteFKPragma.FindStringSubmatch(query)
	if m == nil {
		return false, false, false
	}
	v := strings.ToLower(m[1] + m[2])
	switch v {
	case "":
		return true, false, false
	case "1", "on", "true", "yes":
		return true, true, true
	case "0", "off", "false", "no":
		return true, true, false
	}
	return false, false, false
}

// setLiteFK records a PRAGMA foreign_keys = v sent outside a transaction
// to a SQLite engine, and reports whether query was one.
func (c *Session) setLiteFK(query string) bool {
	if c.e.cfg.Dialect != "sqlite" {
		return false
	}
	ok, set, on := parseLiteFK(query)
	if !ok || !set {
		return false
	}
	c.fkSet, c.fkOn = true, on
	return true
}

// liteFKQuery answers PRAGMA foreign_keys (without a value) for a conn that
// set it: with the conn's setting, not that of whichever backend
// connection a read would borrow. ok is false for any other statement.
func (c *Session) liteFKQuery(ctx context.Context, query string) (_ *Rows, ok bool, err error) {
	if c.e.cfg.Dialect != "sqlite" || !c.fkSet {
		return nil, false, nil
	}
	if ok, set, _ := parseLiteFK(query); !ok || set {
		return nil, false, nil
	}
	text := "SELECT 0 AS foreign_keys"
	if c.fkOn {
		text = "SELECT 1 AS foreign_keys"
	}
	a, err := c.e.an.Analyze(text)
	if err != nil {
		return nil, true, err
	}
	r, err := c.e.read(ctx, a, text, nil)
	return r, true, err
}

// liteFKMarker returns the marker statement for the writes of c, when c
// set SQLite's foreign key enforcement other than the backends' URLs do.
func (c *Session) liteFKMarker() (string, bool) {
	if c.e.cfg.Dialect != "sqlite" || !c.fkSet || c.fkOn == c.e.fkBase {
		return "", false
	}
	return backend.ForeignKeysSQL(c.fkOn), true
}

// foreignKeys makes an autocommit write of c start with the marker of its
// foreign key setting, if it needs one, so that every backend applies it
// with that setting.
func (c *Session) foreignKeys(p *plan) {
	if m, ok := c.liteFKMarker(); ok {
		p.pre = append([]ledger.Stmt{{SQL: m}}, p.pre...)
	}
}

// liteFKBase reads PRAGMA foreign_keys on every SQLite backend and returns
// it; backends that disagree would apply the same entry differently (a
// row without its parent accepted on one, refused on another), so they are
// refused.
func liteFKBase(ctx context.Context, bs []*backend.Backend) (bool, error) {
	var base bool
	var seen []string
	for i, b := range bs {
		on, err := backend.ReadForeignKeys(ctx, b.DB)
		if err != nil {
			return false, &BackendError{Backend: b.Name, Op: "read PRAGMA foreign_keys", Err: err}
		}
		seen = append(seen, fmt.Sprintf("%s: %v", b.Name, on))
		if i == 0 {
			base = on
		} else if on != base {
			return false, &UnsupportedError{
				What: "SQLite backends whose connections disagree on PRAGMA foreign_keys (" + strings.Join(seen, ", ") + ")",
				Fix:  "give every backend URL the same setting, e.g. ?_pragma=foreign_keys(1) on all of them",
			}
		}
	}
	return base, nil
}
