package router

import "slices"

// occurrences is what every dialect's walker keeps as it goes: the tables
// it has met and the WITH names in scope.
type occurrences struct {
	tables      []Table  // one entry per occurrence of a table
	ctes        []string // WITH names in scope
	limitOrders []LimitOrder
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
