package calibrated

import (
	"database/sql"
	"database/sql/driver"
	"io"
	"reflect"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/internal/engine"
)

var (
	_ driver.Rows                           = (*rows)(nil)
	_ driver.RowsNextResultSet              = (*rows)(nil)
	_ driver.RowsColumnTypeDatabaseTypeName = (*rows)(nil)
	_ driver.RowsColumnTypeLength           = (*rows)(nil)
	_ driver.RowsColumnTypeNullable         = (*rows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*rows)(nil)
	_ driver.RowsColumnTypeScanType         = (*rows)(nil)
)

// rows is a result set from one backend: streamed from the backend's own
// rows, or buffered (the rows RETURNING gave the anchor's applier).
type rows struct {
	live  *sql.Rows
	buf   *backend.Buffered
	pos   int
	types []*sql.ColumnType
	vals  []any
	ptrs  []any
	done  func()
}

func newRows(r *engine.Rows) *rows {
	return &rows{live: r.Live, buf: r.Buf, done: r.Done}
}

func (r *rows) columnTypes() []*sql.ColumnType {
	if r.types == nil {
		if r.buf != nil {
			r.types = r.buf.Columns
		} else if t, err := r.live.ColumnTypes(); err == nil {
			r.types = t
		}
	}
	return r.types
}

// Columns implements [driver.Rows].
func (r *rows) Columns() []string {
	if r.live != nil {
		if names, err := r.live.Columns(); err == nil {
			return names
		}
	}
	t := r.columnTypes()
	names := make([]string, len(t))
	for i, c := range t {
		names[i] = c.Name()
	}
	return names
}

// Close implements [driver.Rows].
func (r *rows) Close() error {
	var err error
	if r.live != nil {
		err = r.live.Close()
	}
	if r.done != nil {
		r.done()
		r.done = nil
	}
	return err
}

// Next implements [driver.Rows].
func (r *rows) Next(dest []driver.Value) error {
	if r.buf != nil {
		if r.pos >= len(r.buf.Values) {
			return io.EOF
		}
		for i, v := range r.buf.Values[r.pos] {
			dest[i] = v
		}
		r.pos++
		return nil
	}
	if !r.live.Next() {
		if err := r.live.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	if r.ptrs == nil {
		cols, err := r.live.Columns()
		if err != nil {
			return err
		}
		n := len(cols)
		r.vals, r.ptrs = make([]any, n), make([]any, n)
		for i := range r.vals {
			r.ptrs[i] = &r.vals[i]
		}
	}
	if err := r.live.Scan(r.ptrs...); err != nil {
		return err
	}
	for i, v := range r.vals {
		dest[i] = v
	}
	return nil
}

// HasNextResultSet implements [driver.RowsNextResultSet].
func (r *rows) HasNextResultSet() bool { return r.live != nil }

// NextResultSet implements [driver.RowsNextResultSet].
func (r *rows) NextResultSet() error {
	if r.live == nil || !r.live.NextResultSet() {
		return io.EOF
	}
	r.types, r.ptrs = nil, nil
	return nil
}

// ColumnTypeDatabaseTypeName implements [driver.RowsColumnTypeDatabaseTypeName].
func (r *rows) ColumnTypeDatabaseTypeName(i int) string {
	return r.columnTypes()[i].DatabaseTypeName()
}

// ColumnTypeLength implements [driver.RowsColumnTypeLength].
func (r *rows) ColumnTypeLength(i int) (int64, bool) { return r.columnTypes()[i].Length() }

// ColumnTypeNullable implements [driver.RowsColumnTypeNullable].
func (r *rows) ColumnTypeNullable(i int) (bool, bool) { return r.columnTypes()[i].Nullable() }

// ColumnTypePrecisionScale implements [driver.RowsColumnTypePrecisionScale].
func (r *rows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	return r.columnTypes()[i].DecimalSize()
}

// ColumnTypeScanType implements [driver.RowsColumnTypeScanType].
func (r *rows) ColumnTypeScanType(i int) reflect.Type {
	if t := r.columnTypes()[i].ScanType(); t != nil {
		return t
	}
	return reflect.TypeFor[any]()
}
