package router

import (
	"strings"

	"github.com/calibrated/calibrated/ledger"
)

// FoldKeys rewrites the values in row keys and unique keys as fold gives
// them, so that values a column's collation holds equal give one key (MySQL:
// 'A@x' and 'a@x' under a _ci collation). pk gives a table's primary-key
// columns, as [Schema.PrimaryKey]; fold returns a value of a table's column
// as that column compares it, and ok false for a column compared byte for
// byte. Keys whose values need no folding are returned as they are.
func FoldKeys(keys []ledger.Key, pk func(table string) []string, fold func(table, col, v string) (string, bool)) []ledger.Key {
	var out []ledger.Key
	for i, k := range keys {
		nk, changed := foldKey(k, pk, fold)
		if changed && out == nil {
			out = append(make([]ledger.Key, 0, len(keys)), keys[:i]...)
		}
		if out != nil {
			out = append(out, nk)
		}
	}
	if out == nil {
		return keys
	}
	return compact(out)
}

func foldKey(k ledger.Key, pk func(string) []string, fold func(table, col, v string) (string, bool)) (ledger.Key, bool) {
	if k.Row == "" || k.IsAll() {
		return k, false
	}
	var cols, vals []string
	unique := false
	if c, v, ok := strings.Cut(k.Row, uniqueSep); ok {
		cols, vals, unique = splitRow(c), splitRow(v), true
	} else {
		cols, vals = pk(k.Table), splitRow(k.Row)
	}
	if len(cols) != len(vals) {
		return k, false
	}
	changed := false
	for i, c := range cols {
		if vals[i] == nullKey {
			continue
		}
		if f, ok := fold(k.Table, c, vals[i]); ok && f != vals[i] {
			vals[i], changed = f, true
		}
	}
	if !changed {
		return k, false
	}
	if unique {
		return UniqueKey(k.Table, cols, vals), true
	}
	return ledger.RowKey(k.Table, vals...), true
}

// splitRow undoes [ledger.RowKey]'s joining of values.
func splitRow(row string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(row); i++ {
		switch row[i] {
		case '\\':
			if i+1 < len(row) {
				i++
				b.WriteByte(row[i])
			}
		case ',':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(row[i])
		}
	}
	return append(out, b.String())
}
