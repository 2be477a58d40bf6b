package router

import (
	"database/sql/driver"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/calibrated/calibrated/ledger"
)

// maxKeys bounds the row keys of one table; beyond it the table key is
// cheaper to hold and to compare.
const maxKeys = 1000

// nullKey is the key value of NULL. No row has a NULL primary key, so a
// NULL pin matches nothing; the NUL byte keeps it apart from every string a
// database can store.
const nullKey = "\x00NULL"

// uniqueSep separates the columns of a unique key from its values.
// [ledger.RowKey] writes every backslash as half of "\\" or "\,", so read
// from the left no row encoding holds "\=": a unique key never equals a
// primary-key row key, while two statements that pin the same values of the
// same unique index give the same key.
const uniqueSep = `\=`

// UniqueKey returns the key of the row of table whose unique index (not
// the primary key) on cols holds vals, as [Analysis.Keys] gives it. Its Row
// is the columns and the values each encoded as by [ledger.RowKey], joined
// by `\=`: users/email\=a@b.c, or memberships/org_id,user_id\=1,2.
// Values are key texts as [FormatValue] gives them.
func UniqueKey(table string, cols, vals []string) ledger.Key {
	return ledger.Key{Table: table, Row: ledger.RowKey(table, cols...).Row + uniqueSep + ledger.RowKey(table, vals...).Row}
}

// IsUniqueKey reports whether k is a unique key as [UniqueKey] makes it,
// rather than a primary-key row key or a table key.
func IsUniqueKey(k ledger.Key) bool { return strings.Contains(k.Row, uniqueSep) }

// Keys binds the analysis to the arguments of one execution and returns the
// keys it touches (DESIGN §6). DDL gives [ledger.All]; transaction control
// and Session statements give nil. For reads and writes, each table gives
// row keys when its WHERE clause, or for INSERT each VALUES row, pins every
// column of its primary key (s.PrimaryKey) by an argument or a literal, IN
// lists giving one key per value and several columns their product, up to
// 1000 keys; otherwise, and when an argument's type is not one
// [FormatValue] knows, the table takes its table key. So do an UPDATE that
// assigns a primary-key column, an INSERT ... ON CONFLICT DO UPDATE whose
// conflict target is neither the primary key nor a unique index, and a
// table the statement names more than once. Arguments are matched to $n by
// Ordinal; a missing one is an error.
//
// Unique indexes (s.UniqueKeys) add [UniqueKey]s, so that two writes that
// would collide on one compete in the ledger rather than on each backend in
// a different order:
//   - a WHERE clause that pins every column of a unique index, but not the
//     primary key, gives unique keys instead of the table key;
//   - an INSERT gives, besides its row keys, a unique key per VALUES row for
//     each unique index whose columns it lists (a column it leaves out takes
//     its default, assumed NULL);
//   - an UPDATE, or the DO UPDATE of an upsert, that assigns a column of a
//     unique index gives the unique key of the new values, taking the others
//     from the WHERE clause (or the conflicting row) when it pins them to one
//     value.
//
// A unique value that is NULL gives no key (NULLs never collide). One that
// is unknown before execution (an expression, or an unpinned column beside
// an assigned one) gives the table key.
//
// Foreign keys (s.ForeignKeys) of a table an INSERT, UPDATE or upsert writes
// add a key of the parent row each written row refers to: the parent's row
// key when the constraint references its primary key, its unique key when
// it references a unique index, else its table key; so an insert of a child
// meets the delete of its parent, pinned the same way. A reference with a
// NULL column gives none; one whose value is unknown (an expression,
// INSERT ... SELECT, an INSERT without a column list, MERGE, COPY FROM)
// gives the parent's table key. The keys come grouped by table, in the
// order the tables are first met, a table key replacing that table's row
// keys.
//
// A row pinned by a unique index is keyed by that index only: statements
// naming one row by its primary key and by a unique index do not conflict
// in the ledger.
func (a *Analysis) Keys(s Schema, args []driver.NamedValue) ([]ledger.Key, error) {
	switch a.Kind {
	case DDL:
		return []ledger.Key{ledger.All}, nil
	case Read, Write:
	default:
		return nil, nil
	}
	if len(args) < a.NumParams {
		return nil, fmt.Errorf("calibrated: statement uses $%d but has %d arguments", a.NumParams, len(args))
	}
	if a.all {
		return []ledger.Key{ledger.All}, nil
	}
	keys := make([]ledger.Key, 0, len(a.Tables))
	parents := false
	for i := range a.Tables {
		t := &a.Tables[i]
		var pk []string
		var uniq [][]string
		if s != nil {
			pk, uniq = s.PrimaryKey(t.Name), s.UniqueKeys(t.Name)
		}
		rows, err := t.rowKeys(pk, uniq, args)
		switch {
		case err != nil:
			return nil, err
		case rows == nil:
			keys = append(keys, ledger.TableKey(t.Name))
		default:
			keys = append(keys, rows...)
		}
		if s != nil && t.Target {
			n := len(keys)
			if keys, err = t.parentKeys(s, keys, args); err != nil {
				return nil, err
			}
			parents = parents || len(keys) > n
		}
	}
	if parents {
		keys = byTable(keys)
	}
	return keys, nil
}

// rowKeys returns the row and unique keys t's pins and values give for
// primary key pk and unique indexes uniq, or nil when t takes its table key.
func (t *Table) rowKeys(pk []string, uniq [][]string, args []driver.NamedValue) ([]ledger.Key, error) {
	if t.wide || slices.ContainsFunc(t.SetCols, func(c string) bool { return slices.Contains(pk, c) }) {
		return nil, nil
	}
	var keys []ledger.Key
	var ok bool
	var err error
	if t.InsertCols != nil {
		keys, ok, err = t.insertKeys(pk, uniq, args)
	} else {
		keys, ok, err = t.pinKeys(pk, uniq, args)
	}
	if ok && err == nil && len(t.SetCols) > 0 {
		keys, ok, err = t.setKeys(uniq, keys, args)
	}
	if !ok || err != nil {
		return nil, err
	}
	return compact(keys), nil
}

// insertKeys returns the row keys and unique keys of the VALUES rows; ok is
// false when the table key is needed.
func (t *Table) insertKeys(pk []string, uniq [][]string, args []driver.NamedValue) (keys []ledger.Key, ok bool, err error) {
	if len(pk) == 0 || len(t.InsertRows) == 0 || len(t.InsertRows) > maxKeys {
		return nil, false, nil
	}
	// ON CONFLICT DO UPDATE updates the row that conflicts on the arbiter:
	// the proposed row's key names that row only when the arbiter is the
	// primary key or a unique index whose columns the INSERT lists.
	if t.upsert && !sameSet(t.arbiter, pk) && !slices.ContainsFunc(uniq, func(u []string) bool {
		_, all := positions(t.InsertCols, u)
		return all && sameSet(t.arbiter, u)
	}) {
		return nil, false, nil
	}
	pkPos, all := positions(t.InsertCols, pk)
	if !all {
		return nil, false, nil
	}
	uPos := make([][]int, len(uniq))
	for i, u := range uniq {
		// A unique column the INSERT leaves out takes its default: NULL
		// in all but odd schemas, which collides with nothing.
		if p, all := positions(t.InsertCols, u); all {
			uPos[i] = p
		}
	}
	keys = make([]ledger.Key, 0, len(t.InsertRows))
	var vals []string
	for _, row := range t.InsertRows {
		if len(row) != len(t.InsertCols) {
			return nil, false, nil
		}
		if vals, ok, err = bindAt(row, pkPos, args, vals[:0]); !ok || err != nil {
			return nil, false, err
		}
		keys = append(keys, ledger.RowKey(t.Name, vals...))
		for i, p := range uPos {
			if p == nil {
				continue
			}
			if vals, ok, err = bindAt(row, p, args, vals[:0]); !ok || err != nil {
				return nil, false, err
			}
			if !slices.Contains(vals, nullKey) {
				keys = append(keys, UniqueKey(t.Name, uniq[i], vals))
			}
		}
	}
	return keys, true, nil
}

// pinKeys returns the row keys of the WHERE pins of the primary key; ok is
// false when it is not pinned. A row pinned only by a unique index takes
// the table key: its primary key is unknown before execution, and a key of
// its unique value would not meet the key of the same row named by its
// primary key (a read by email would not wait for an update by id).
// TODO(v2): learn the primary key during execution (DESIGN §5 step 3).
func (t *Table) pinKeys(pk []string, _ [][]string, args []driver.NamedValue) ([]ledger.Key, bool, error) {
	return t.pinned(pk, args, func(vals []string) ledger.Key { return ledger.RowKey(t.Name, vals...) })
}

// pinned returns key of every combination of the values the WHERE clause
// pins cols to; ok is false when one of cols is not pinned by arguments or
// literals, or when there are more than 1000 combinations.
func (t *Table) pinned(cols []string, args []driver.NamedValue, key func(vals []string) ledger.Key) (keys []ledger.Key, ok bool, err error) {
	if len(cols) == 0 {
		return nil, false, nil
	}
	n := 1
	for _, c := range cols {
		if n *= len(t.Eq[c]); n == 0 || n > maxKeys {
			return nil, false, nil
		}
	}
	vals := make([][]string, len(cols))
	for j, c := range cols {
		for _, src := range t.Eq[c] {
			v, ok, err := src.value(args)
			if !ok || err != nil {
				return nil, false, err
			}
			vals[j] = append(vals[j], v)
		}
	}
	keys = make([]ledger.Key, 0, n)
	row := make([]string, len(cols))
	for idx := make([]int, len(cols)); ; {
		for j := range cols {
			row[j] = vals[j][idx[j]]
		}
		keys = append(keys, key(row))
		j := len(idx) - 1
		for ; j >= 0; j-- { // next combination, last column fastest
			if idx[j]++; idx[j] < len(vals[j]) {
				break
			}
			idx[j] = 0
		}
		if j < 0 {
			return keys, true, nil
		}
	}
}

// setKeys appends to keys the unique keys of the values an UPDATE or the
// DO UPDATE of an upsert gives the unique indexes it assigns a column of;
// ok is false when the table key is needed.
func (t *Table) setKeys(uniq [][]string, keys []ledger.Key, args []driver.NamedValue) ([]ledger.Key, bool, error) {
	rows := [][]Source{nil}
	if t.upsert {
		rows = t.InsertRows
	}
	var vals []string
	var ok bool
	var err error
	for _, u := range uniq {
		if !slices.ContainsFunc(u, t.assigns) {
			continue
		}
		for _, row := range rows {
			if vals, ok, err = t.newValues(u, row, args, vals[:0]); !ok || err != nil {
				return nil, false, err
			}
			if !slices.Contains(vals, nullKey) {
				keys = append(keys, UniqueKey(t.Name, u, vals))
			}
		}
	}
	return keys, true, nil
}

// parentKeys appends to keys a key of each parent row the rows the
// statement writes to t refer to by a foreign key.
func (t *Table) parentKeys(s Schema, keys []ledger.Key, args []driver.NamedValue) ([]ledger.Key, error) {
	if !t.insert && !t.opaque && len(t.Set) == 0 {
		return keys, nil
	}
	for _, fk := range s.ForeignKeys(t.Name) {
		if len(fk.Columns) == 0 || len(fk.Columns) != len(fk.ParentColumns) || fk.Parent == "" {
			continue
		}
		ks, ok, err := t.foreignKeys(s, fk, args)
		switch {
		case err != nil:
			return nil, err
		case ok:
			keys = append(keys, ks...)
		default:
			keys = append(keys, ledger.TableKey(fk.Parent))
		}
	}
	return keys, nil
}

// foreignKeys returns the keys of the parent rows that the rows written to
// t refer to by fk; ok is false when the parent's table key is needed.
func (t *Table) foreignKeys(s Schema, fk ForeignKey, args []driver.NamedValue) (keys []ledger.Key, ok bool, err error) {
	if t.opaque || t.wide && t.insert {
		return nil, false, nil
	}
	parent := parentKey(s, fk)
	var vals []string
	if t.insert {
		pos, all := positions(t.InsertCols, fk.Columns)
		switch {
		case t.InsertCols == nil || t.InsertRows == nil && slices.ContainsFunc(pos, func(p int) bool { return p >= 0 }):
			return nil, false, nil
		case !all && slices.ContainsFunc(pos, func(p int) bool { return p >= 0 }):
			return nil, false, nil // the rest take defaults the router does not know
		case all:
			if len(t.InsertRows) > maxKeys {
				return nil, false, nil
			}
			for _, row := range t.InsertRows {
				if len(row) != len(t.InsertCols) {
					return nil, false, nil
				}
				if vals, ok, err = bindAt(row, pos, args, vals[:0]); !ok || err != nil {
					return nil, false, err
				}
				if !slices.Contains(vals, nullKey) {
					keys = append(keys, parent(vals))
				}
			}
		}
	}
	if !slices.ContainsFunc(fk.Columns, t.assigns) {
		return keys, true, nil
	}
	rows := [][]Source{nil}
	if t.upsert {
		if rows = t.InsertRows; len(rows) == 0 || len(rows) > maxKeys {
			return nil, false, nil
		}
	}
	for _, row := range rows {
		if vals, ok, err = t.newValues(fk.Columns, row, args, vals[:0]); !ok || err != nil {
			return nil, false, err
		}
		if !slices.Contains(vals, nullKey) {
			keys = append(keys, parent(vals))
		}
	}
	return keys, true, nil
}

// parentKey returns how fk's parent row is keyed from the values of
// fk.Columns: by its primary key or unique key when fk references either,
// so that the key equals the one a statement pinning the parent row that
// way gives; else by the parent's table key.
func parentKey(s Schema, fk ForeignKey) func(vals []string) ledger.Key {
	reorder := func(cols, vals []string) []string {
		out := make([]string, len(cols))
		for i, c := range cols {
			out[i] = vals[slices.Index(fk.ParentColumns, c)]
		}
		return out
	}
	if pk := s.PrimaryKey(fk.Parent); sameSet(pk, fk.ParentColumns) {
		return func(vals []string) ledger.Key { return ledger.RowKey(fk.Parent, reorder(pk, vals)...) }
	}
	for _, u := range s.UniqueKeys(fk.Parent) {
		if sameSet(u, fk.ParentColumns) {
			return func(vals []string) ledger.Key { return UniqueKey(fk.Parent, u, reorder(u, vals)) }
		}
	}
	return func([]string) ledger.Key { return ledger.TableKey(fk.Parent) }
}

// assigns reports whether an UPDATE or DO UPDATE assigns col.
func (t *Table) assigns(col string) bool {
	_, ok := lookup(t.Set, col)
	return ok
}

// newValues appends to dst the key texts of the values cols have in a row
// the statement writes: for an upsert's DO UPDATE, row is the proposed row.
// ok is false when one is unknown before execution.
func (t *Table) newValues(cols []string, row []Source, args []driver.NamedValue, dst []string) ([]string, bool, error) {
	for _, c := range cols {
		v, ok, err := t.newSource(c, row).value(args)
		if !ok || err != nil {
			return nil, false, err
		}
		dst = append(dst, v)
	}
	return dst, true, nil
}

// newSource returns where the value col has after an UPDATE or DO UPDATE
// comes from: its assignment; else, for an upsert, the proposed row where
// the arbiter makes them equal; else the one value the WHERE clause pins
// it to.
func (t *Table) newSource(col string, row []Source) Source {
	if src, ok := lookup(t.Set, col); ok {
		if other, ok := lookup(t.excluded, col); ok {
			return proposed(t.InsertCols, other, row)
		}
		return src
	}
	if t.upsert {
		if slices.ContainsFunc(t.arbiter, func(a string) bool { return strings.EqualFold(a, col) }) {
			return proposed(t.InsertCols, col, row)
		}
		return Source{Expr: true}
	}
	if srcs, _ := lookup(t.Eq, col); len(srcs) == 1 {
		return srcs[0]
	}
	return Source{Expr: true}
}

// proposed returns the source of col in a VALUES row.
func proposed(cols []string, col string, row []Source) Source {
	if i := index(cols, col); i >= 0 && i < len(row) {
		return row[i]
	}
	return Source{Expr: true} // a default
}

// bindAt appends to dst the key texts of row[p] for each p in pos; ok is
// false when one is unknown before execution.
func bindAt(row []Source, pos []int, args []driver.NamedValue, dst []string) ([]string, bool, error) {
	for _, p := range pos {
		v, ok, err := row[p].value(args)
		if !ok || err != nil {
			return nil, false, err
		}
		dst = append(dst, v)
	}
	return dst, true, nil
}

// positions returns the index of each of cols in list, -1 for a missing
// one, and whether all are there.
func positions(list, cols []string) (pos []int, all bool) {
	pos = make([]int, len(cols))
	all = true
	for j, c := range cols {
		if pos[j] = index(list, c); pos[j] < 0 {
			all = false
		}
	}
	return pos, all
}

// index returns the index of col in list, matched exactly or else ignoring
// case: the schema reports columns lower-cased, while a quoted name in the
// text keeps its case, and missing an assigned column would lose a key.
func index(list []string, col string) int {
	if i := slices.Index(list, col); i >= 0 {
		return i
	}
	return slices.IndexFunc(list, func(c string) bool { return strings.EqualFold(c, col) })
}

// lookup is m[col], matched like index.
func lookup[V any](m map[string]V, col string) (V, bool) {
	if v, ok := m[col]; ok {
		return v, true
	}
	for c, v := range m {
		if strings.EqualFold(c, col) {
			return v, true
		}
	}
	var zero V
	return zero, false
}

// byTable groups keys by table in the order the tables first appear, each
// table's row keys sorted, and a table key replacing its table's row keys.
func byTable(keys []ledger.Key) []ledger.Key {
	out := make([]ledger.Key, 0, len(keys))
	for i, k := range keys {
		if slices.ContainsFunc(keys[:i], func(p ledger.Key) bool { return p.Table == k.Table }) {
			continue
		}
		start := len(out)
		for _, r := range keys[i:] {
			if r.Table == k.Table {
				out = append(out, r)
			}
		}
		if slices.ContainsFunc(out[start:], ledger.Key.IsTable) {
			out = append(out[:start], ledger.TableKey(k.Table))
			continue
		}
		out = append(out[:start], compact(out[start:])...)
	}
	return out
}

// value returns the key text of s for args; ok is false when the value is
// unknown before execution.
func (s Source) value(args []driver.NamedValue) (v string, ok bool, err error) {
	switch {
	case s.Expr:
		return "", false, nil
	case s.Param == 0:
		return s.Const, true, nil
	}
	i := s.Param - 1
	if i >= len(args) || args[i].Ordinal != s.Param {
		if i = slices.IndexFunc(args, func(a driver.NamedValue) bool { return a.Ordinal == s.Param }); i < 0 {
			return "", false, fmt.Errorf("calibrated: statement uses $%d but no argument has that ordinal", s.Param)
		}
	}
	v, ok = formatValue(args[i].Value, true)
	return v, ok, nil
}

// FormatValue returns the text a key holds for v, so that an argument and a
// literal of the same value give the same key: integers and integral floats
// in decimal (5, int32(5), 5.0 and the literal 5 all give "5"), other floats
// in the shortest decimal form without exponent, bools as "true"/"false",
// strings and []byte as they are, time.Time in UTC as RFC 3339 with
// nanoseconds, nil as "\x00NULL", a [driver.Valuer] as its value. Any other
// type gives fmt.Sprint(v), which [Analysis.Keys] does not trust: it takes the
// table key instead.
func FormatValue(v driver.Value) string {
	if s, ok := formatValue(v, true); ok {
		return s
	}
	return fmt.Sprint(v)
}

func formatValue(v any, valuer bool) (string, bool) {
	switch x := v.(type) {
	case nil:
		return nullKey, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.FormatInt(int64(x), 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case int16:
		return strconv.FormatInt(int64(x), 10), true
	case int8:
		return strconv.FormatInt(int64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case uint:
		return strconv.FormatUint(uint64(x), 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	case uint16:
		return strconv.FormatUint(uint64(x), 10), true
	case uint8:
		return strconv.FormatUint(uint64(x), 10), true
	case float64:
		return formatFloat(x), true
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), true
	case bool:
		return strconv.FormatBool(x), true
	case string:
		return x, true
	case []byte:
		return string(x), true
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), true
	case driver.Valuer:
		if rv := reflect.ValueOf(x); !valuer || rv.Kind() == reflect.Pointer && rv.IsNil() {
			return "", false
		}
		dv, err := x.Value()
		if err != nil {
			return "", false
		}
		return formatValue(dv, false)
	}
	return "", false
}

// formatFloat spells f without exponent, so that 5.0 and 1e3 match the
// integer literals 5 and 1000.
func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// compact sorts the row keys of one table and drops duplicates.
func compact(keys []ledger.Key) []ledger.Key {
	if len(keys) < 2 {
		return keys
	}
	slices.SortFunc(keys, func(a, b ledger.Key) int { return strings.Compare(a.Row, b.Row) })
	return slices.Compact(keys)
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.Contains(b, x) {
			return false
		}
	}
	return true
}
