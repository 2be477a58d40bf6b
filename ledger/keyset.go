package ledger

// keySet is a multiset of keys that answers "does any key conflict with k"
// in constant time. Keys are counted, so the same key may be added by
// several holders and removed by each.
type keySet struct {
	n        int            // keys in the set
	all      int            // "*" keys
	tables   map[string]int // whole-table keys
	perTable map[string]int // row keys per table
	rows     map[Key]int    // row keys
}

func newKeySet() *keySet {
	return &keySet{tables: map[string]int{}, perTable: map[string]int{}, rows: map[Key]int{}}
}

func (s *keySet) add(keys []Key) {
	for _, k := range keys {
		s.n++
		switch {
		case k.IsAll():
			s.all++
		case k.Row == "":
			s.tables[k.Table]++
		default:
			s.perTable[k.Table]++
			s.rows[k]++
		}
	}
}

func (s *keySet) remove(keys []Key) {
	for _, k := range keys {
		s.n--
		switch {
		case k.IsAll():
			s.all--
		case k.Row == "":
			dec(s.tables, k.Table)
		default:
			dec(s.perTable, k.Table)
			dec(s.rows, k)
		}
	}
}

func dec[K comparable](m map[K]int, k K) {
	if m[k] <= 1 {
		delete(m, k)
		return
	}
	m[k]--
}

// conflicts reports whether any of keys conflicts with a key in s.
func (s *keySet) conflicts(keys []Key) bool {
	if s.n == 0 {
		return false
	}
	if s.all > 0 {
		return len(keys) > 0
	}
	for _, k := range keys {
		switch {
		case k.IsAll():
			return true
		case s.tables[k.Table] > 0:
			return true
		case k.Row == "":
			if s.perTable[k.Table] > 0 {
				return true
			}
		case s.rows[k] > 0:
			return true
		}
	}
	return false
}

// Overlap reports whether two key lists conflict, pair by pair.
func Overlap(a, b []Key) bool { return overlaps(a, b) }

// overlaps reports whether two key lists conflict, by pairs; for the rare
// slow paths where a holder must be told apart from the others.
func overlaps(a, b []Key) bool {
	for _, x := range a {
		for _, y := range b {
			if Conflicts(x, y) {
				return true
			}
		}
	}
	return false
}
