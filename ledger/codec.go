package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"time"
)

// The encoding of an Event, version 1. It is a compact binary form because
// events are written once per statement and read once per participant and
// backend: varints keep small numbers small, and a tag per argument keeps
// each argument's Go type exact (JSON would turn int64 into float64 and
// []byte into string).
//
//	event   = version(1) type(byte) flags(byte: 1=Reject) time origin:str req:uvarint
//	          tx:str n:uvarint key*n n:uvarint stmt*n target:uvarint backend:str
//	          n:uvarint seq*n n:uvarint outcome*n lease:varint(ns) state:str
//	key     = table:str row:str
//	stmt    = sql:str flags(byte: 1=Query) n:uvarint arg*n
//	arg     = tag(byte) payload (see the tag constants)
//	time    = sec:varint nsec:uvarint zone(byte: 0=UTC, 1=fixed) [offset:varint name:str]
//	seq     = varint of the difference to the previous seq (the first to 0)
//	outcome = rows:varint sqlstate:str msg:str skipped(byte)
//	str     = len:uvarint bytes
//
// A new version gets a new first byte; DecodeEvent rejects versions it does
// not know rather than guess.
const codecVersion = 1

// Argument tags.
const (
	tagNil      byte = iota // untyped nil: NULL
	tagInt64                // varint
	tagFloat64              // 8 bytes, IEEE 754 bits, little endian
	tagFalse                // bool
	tagTrue                 // bool
	tagBytes                // len:uvarint bytes, a non-nil []byte (possibly empty)
	tagNilBytes             // []byte(nil), which drivers send as NULL
	tagString               // len:uvarint bytes
	tagTime                 // time
)

// ArgError reports a statement argument whose type is not one of the
// [driver.Value] types an event can carry: nil, int64, float64, bool,
// []byte, string and time.Time.
type ArgError struct {
	Stmt int          // index into Event.Stmts
	Arg  int          // index into Stmt.Args; the placeholder is $(Arg+1)
	Type reflect.Type // the argument's dynamic type
}

func (e *ArgError) Error() string {
	return fmt.Sprintf("calibrated: statement %d, argument %d has type %v; "+
		"supported: nil, int64, float64, bool, []byte, string, time.Time", e.Stmt+1, e.Arg+1, e.Type)
}

// errMalformed is wrapped by every decoding error.
var errMalformed = errors.New("calibrated: malformed ledger event")

// EncodeEvent returns the binary encoding of ev, which [DecodeEvent] turns
// back into an equal Event.
//
// Every argument keeps its exact Go type, []byte(nil) stays distinct from
// []byte{}, and a time keeps its instant to the nanosecond and its zone
// offset (a named location becomes a fixed zone with the same name and
// offset, so the wall clock is unchanged; UTC stays UTC). Empty slices other
// than []byte arguments (Keys, Stmts, Args, Seqs, Outcomes) decode as nil.
// An argument of any other type is an [*ArgError].
func EncodeEvent(ev *Event) ([]byte, error) {
	if ev == nil {
		return nil, errors.New("calibrated: cannot encode a nil ledger event")
	}
	b := make([]byte, 0, estimate(ev))
	b = append(b, codecVersion, byte(ev.Type))
	var flags byte
	if ev.Reject {
		flags |= 1
	}
	b = append(b, flags)
	b = appendTime(b, ev.Stamp)
	b = appendString(b, ev.Origin)
	b = binary.AppendUvarint(b, ev.Req)
	b = appendString(b, ev.Tx)
	b = binary.AppendUvarint(b, uint64(len(ev.Keys)))
	for _, k := range ev.Keys {
		b = appendString(b, k.Table)
		b = appendString(b, k.Row)
	}
	b = binary.AppendUvarint(b, uint64(len(ev.Stmts)))
	for i, s := range ev.Stmts {
		b = appendString(b, s.SQL)
		flags = 0
		if s.Query {
			flags |= 1
		}
		b = append(b, flags)
		b = binary.AppendUvarint(b, uint64(len(s.Args)))
		for j, a := range s.Args {
			var ok bool
			if b, ok = appendArg(b, a); !ok {
				return nil, &ArgError{Stmt: i, Arg: j, Type: reflect.TypeOf(a)}
			}
		}
	}
	b = binary.AppendUvarint(b, uint64(ev.Target))
	b = appendString(b, ev.Backend)
	b = binary.AppendUvarint(b, uint64(len(ev.Seqs)))
	var prev Seq
	for _, s := range ev.Seqs {
		b = binary.AppendVarint(b, int64(uint64(s)-uint64(prev)))
		prev = s
	}
	b = binary.AppendUvarint(b, uint64(len(ev.Outcomes)))
	for _, o := range ev.Outcomes {
		b = binary.AppendVarint(b, o.Rows)
		b = appendString(b, o.SQLState)
		b = appendString(b, o.Msg)
		b = appendBool(b, o.Skipped)
	}
	b = binary.AppendVarint(b, int64(ev.Lease))
	b = appendString(b, ev.State)
	return b, nil
}

// estimate guesses the encoded size of ev so that encoding allocates once.
func estimate(ev *Event) int {
	n := 64 + len(ev.Origin) + len(ev.Tx) + len(ev.Backend) + 10*len(ev.Seqs)
	for _, k := range ev.Keys {
		n += 2 + len(k.Table) + len(k.Row)
	}
	for _, s := range ev.Stmts {
		n += 4 + len(s.SQL) + 10*len(s.Args)
		for _, a := range s.Args {
			switch a := a.(type) {
			case string:
				n += len(a)
			case []byte:
				n += len(a)
			}
		}
	}
	for _, o := range ev.Outcomes {
		n += 12 + len(o.SQLState) + len(o.Msg)
	}
	return n
}

func appendArg(b []byte, a any) ([]byte, bool) {
	switch a := a.(type) {
	case nil:
		return append(b, tagNil), true
	case int64:
		return binary.AppendVarint(append(b, tagInt64), a), true
	case float64:
		return binary.LittleEndian.AppendUint64(append(b, tagFloat64), math.Float64bits(a)), true
	case bool:
		if a {
			return append(b, tagTrue), true
		}
		return append(b, tagFalse), true
	case []byte:
		if a == nil {
			return append(b, tagNilBytes), true
		}
		b = binary.AppendUvarint(append(b, tagBytes), uint64(len(a)))
		return append(b, a...), true
	case string:
		return appendString(append(b, tagString), a), true
	case time.Time:
		return appendTime(append(b, tagTime), a), true
	}
	return b, false
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	name, offset := t.Zone()
	if isUTC(name, offset) {
		return append(b, 0)
	}
	b = binary.AppendVarint(append(b, 1), int64(offset))
	return appendString(b, name)
}

func isUTC(name string, offset int) bool { return offset == 0 && name == "UTC" }

// DecodeEvent decodes an event written by [EncodeEvent]. It does not retain
// b. Malformed input is an error, never a panic.
func DecodeEvent(b []byte) (*Event, error) {
	d := decoder{b: b}
	if v := d.byte(); d.err == nil && v != codecVersion {
		return nil, fmt.Errorf("%w: unknown encoding version %d; supported: %d", errMalformed, v, codecVersion)
	}
	ev := &Event{Type: Type(d.byte())}
	switch flags := d.byte(); flags {
	case 0:
	case 1:
		ev.Reject = true
	default:
		d.fail("event flags")
	}
	ev.Stamp = d.time()
	ev.Origin = d.string()
	ev.Req = d.uvarint()
	ev.Tx = d.string()
	if n := d.count(2); n > 0 {
		ev.Keys = make([]Key, n)
		for i := range ev.Keys {
			ev.Keys[i] = Key{Table: d.string(), Row: d.string()}
		}
	}
	if n := d.count(3); n > 0 {
		ev.Stmts = make([]Stmt, n)
		for i := range ev.Stmts {
			s := &ev.Stmts[i]
			s.SQL = d.string()
			switch flags := d.byte(); flags {
			case 0:
			case 1:
				s.Query = true
			default:
				d.fail("statement flags")
			}
			if n := d.count(1); n > 0 {
				s.Args = make([]any, n)
				for j := range s.Args {
					s.Args[j] = d.arg()
				}
			}
		}
	}
	ev.Target = Seq(d.uvarint())
	ev.Backend = d.string()
	if n := d.count(1); n > 0 {
		ev.Seqs = make([]Seq, n)
		var prev Seq
		for i := range ev.Seqs {
			prev = Seq(uint64(prev) + uint64(d.varint()))
			ev.Seqs[i] = prev
		}
	}
	if n := d.count(4); n > 0 {
		ev.Outcomes = make([]Outcome, n)
		for i := range ev.Outcomes {
			o := &ev.Outcomes[i]
			o.Rows = d.varint()
			o.SQLState = d.string()
			o.Msg = d.string()
			o.Skipped = d.bool()
		}
	}
	ev.Lease = time.Duration(d.varint())
	ev.State = d.string()
	if d.err == nil && len(d.b) > 0 {
		d.fail(fmt.Sprintf("%d trailing bytes", len(d.b)))
	}
	if d.err != nil {
		return nil, d.err
	}
	return ev, nil
}

// decoder reads from b; after the first error every read returns a zero
// value, so callers check err once at the end.
type decoder struct {
	b   []byte
	off int // bytes consumed, for error messages
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad %s at byte %d", errMalformed, what, d.off)
	}
	d.b = nil
}

func (d *decoder) advance(n int) {
	d.b = d.b[n:]
	d.off += n
}

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail("length: input ends early")
		return 0
	}
	v := d.b[0]
	d.advance(1)
	return v
}

func (d *decoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bool")
	return false
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.advance(n)
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.advance(n)
	return v
}

// count reads a number of elements that take at least size bytes each, and
// so cannot be more than the remaining input allows; this bounds every
// allocation by the input's length.
func (d *decoder) count(size int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/size) {
		d.fail("count")
		return 0
	}
	return int(n)
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length")
		return nil
	}
	v := d.b[:n:n]
	d.advance(int(n))
	return v
}

func (d *decoder) string() string { return string(d.bytes()) }

func (d *decoder) time() time.Time {
	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= 1e9 {
		d.fail("nanoseconds")
		return time.Time{}
	}
	t := time.Unix(sec, int64(nsec)).UTC()
	switch d.byte() {
	case 0:
		return t
	case 1:
		offset := d.varint()
		name := d.string()
		if offset < math.MinInt32 || offset > math.MaxInt32 || isUTC(name, int(offset)) {
			d.fail("time zone")
			return time.Time{}
		}
		return t.In(time.FixedZone(name, int(offset)))
	}
	d.fail("time zone")
	return time.Time{}
}

func (d *decoder) arg() any {
	switch tag := d.byte(); tag {
	case tagNil:
		return nil
	case tagInt64:
		return d.varint()
	case tagFloat64:
		if len(d.b) < 8 {
			d.fail("float64")
			return nil
		}
		v := math.Float64frombits(binary.LittleEndian.Uint64(d.b))
		d.advance(8)
		return v
	case tagFalse:
		return false
	case tagTrue:
		return true
	case tagBytes:
		return append([]byte{}, d.bytes()...)
	case tagNilBytes:
		return []byte(nil)
	case tagString:
		return d.string()
	case tagTime:
		return d.time()
	default:
		d.fail(fmt.Sprintf("argument tag %d", tag))
		return nil
	}
}
