package router

import "slices"

// occurrences is what every dialect's walker keeps as it goes: the tables
// it has met, the WITH names in scope, and what it saw that matters to the
// write path.
type occurrences struct {
	tables      []Table  // one entry per occurrence of a table
	ctes        []string // WITH names in scope
	volatile    []string
	limitOrders []LimitOrder

	onConflict, locking, limit, skipLocked, insertSelect bool
}

// finish fills in a what the walk found, once every statement is visited
// and a.Kind is known.
func (o *occurrences) finish(a *Analysis) {
	a.Tables = merge(o.tables)
	a.Volatile = o.volatile
	a.OnConflict = o.onConflict
	a.Locking = o.locking
	if a.Kind != Write {
		return
	}
	switch {
	case o.insertSelect:
		a.Unordered = "INSERT ... SELECT without ORDER BY"
	case o.limit:
		a.Unordered = "LIMIT without ORDER BY"
	case o.skipLocked:
		a.Unordered = "SKIP LOCKED"
	}
	a.LimitOrders = o.limitOrders
}

// record notes one occurrence of the table schema.name, spelt full as keys
// spell it, and returns its index in tables; -1 when name is empty or is a
// WITH name in scope.
func (o *occurrences) record(schema, name, full string, target bool) int {
	if name == "" {
		return -1
	}
	if !target && schema == "" && slices.Contains(o.ctes, name) {
		return -1
	}
	o.tables = append(o.tables, Table{Name: full, Target: target})
	return len(o.tables) - 1
}
