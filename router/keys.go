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

// Keys binds the analysis to the arguments of one execution and returns the
// keys it touches (DESIGN §6). DDL gives [ledger.All]; transaction control
// and Session statements give nil. For reads and writes, each table gives
// row keys when its WHERE clause, or for INSERT each VALUES row, pins every
// column of its primary key (s.PrimaryKey) by an argument or a literal, IN
// lists giving one key per value and several columns their product, up to
// 1000 keys; otherwise, and when an argument's type is not one
// [FormatValue] knows, the table takes its table key. So do an UPDATE that
// assigns a primary-key column, an INSERT ... ON CONFLICT DO UPDATE whose
// conflict target is not the primary key, and a table the statement names
// more than once. Arguments are matched to $n by Ordinal; a missing one is an
// error.
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
	for i := range a.Tables {
		t := &a.Tables[i]
		var pk []string
		if s != nil {
			pk = s.PrimaryKey(t.Name)
		}
		rows, err := t.rowKeys(pk, args)
		switch {
		case err != nil:
			return nil, err
		case rows == nil:
			keys = append(keys, ledger.TableKey(t.Name))
		default:
			keys = append(keys, rows...)
		}
	}
	return keys, nil
}

// rowKeys returns the row keys t's pins give for primary key pk, or nil
// when t takes its table key.
func (t *Table) rowKeys(pk []string, args []driver.NamedValue) ([]ledger.Key, error) {
	if len(pk) == 0 || t.wide || slices.ContainsFunc(t.SetCols, func(c string) bool { return slices.Contains(pk, c) }) {
		return nil, nil
	}
	vals := make([]string, len(pk))
	if t.InsertCols != nil {
		// ON CONFLICT DO UPDATE on another unique key updates a row these
		// values do not name.
		if t.upsert && !sameSet(t.arbiter, pk) || len(t.InsertRows) == 0 || len(t.InsertRows) > maxKeys {
			return nil, nil
		}
		pos := make([]int, len(pk))
		for j, c := range pk {
			if pos[j] = slices.Index(t.InsertCols, c); pos[j] < 0 {
				return nil, nil
			}
		}
		keys := make([]ledger.Key, 0, len(t.InsertRows))
		for _, row := range t.InsertRows {
			if len(row) != len(t.InsertCols) {
				return nil, nil
			}
			for j, p := range pos {
				v, ok, err := row[p].value(args)
				if !ok || err != nil {
					return nil, err
				}
				vals[j] = v
			}
			keys = append(keys, ledger.RowKey(t.Name, vals...))
		}
		return compact(keys), nil
	}

	n := 1
	for _, c := range pk {
		if n *= len(t.Eq[c]); n == 0 || n > maxKeys {
			return nil, nil
		}
	}
	cols := make([][]string, len(pk))
	for j, c := range pk {
		for _, src := range t.Eq[c] {
			v, ok, err := src.value(args)
			if !ok || err != nil {
				return nil, err
			}
			cols[j] = append(cols[j], v)
		}
	}
	keys := make([]ledger.Key, 0, n)
	for idx := make([]int, len(pk)); ; {
		for j := range pk {
			vals[j] = cols[j][idx[j]]
		}
		keys = append(keys, ledger.RowKey(t.Name, vals...))
		j := len(idx) - 1
		for ; j >= 0; j-- { // next combination, last column fastest
			if idx[j]++; idx[j] < len(cols[j]) {
				break
			}
			idx[j] = 0
		}
		if j < 0 {
			return compact(keys), nil
		}
	}
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
