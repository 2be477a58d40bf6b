package ledger

import (
	"strings"
)

// Key names what an event touches: one row of a table, a whole table, or
// everything (see DESIGN §2). The zero Row means the whole table; the table
// "*" means everything, as DDL takes.
type Key struct {
	Table string // table name as the router normalises it; "*" for everything
	Row   string // encoded primary-key values; "" for the whole table
}

// All is the key that conflicts with every other key.
var All = Key{Table: "*"}

// TableKey returns the key of a whole table.
func TableKey(table string) Key { return Key{Table: table} }

// RowKey returns the key of one row, from its primary-key values in
// primary-key column order. Values are joined with a separator that cannot
// appear in the encoding, so ("a,b") and ("a","b") stay distinct.
func RowKey(table string, vals ...string) Key {
	if len(vals) == 1 {
		return Key{Table: table, Row: escapeRow(vals[0])}
	}
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(escapeRow(v))
	}
	return Key{Table: table, Row: b.String()}
}

func escapeRow(v string) string {
	if !strings.ContainsAny(v, `,\`) {
		return v
	}
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`).Replace(v)
}

// IsAll reports whether k is the everything key.
func (k Key) IsAll() bool { return k.Table == "*" }

// IsTable reports whether k is a whole-table key.
func (k Key) IsTable() bool { return k.Table != "*" && k.Row == "" }

// String formats k as "table/row", "table" or "*".
func (k Key) String() string {
	if k.Row == "" {
		return k.Table
	}
	return k.Table + "/" + k.Row
}

// Conflicts reports whether a and b cannot be held at once: equal keys, a
// table key against any key of its table, and "*" against everything.
func Conflicts(a, b Key) bool {
	if a.IsAll() || b.IsAll() {
		return true
	}
	if a.Table != b.Table {
		return false
	}
	return a.Row == "" || b.Row == "" || a.Row == b.Row
}
