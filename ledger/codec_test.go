package ledger_test

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/ledger/ledgertest"
)

func roundTrip(t *testing.T, ev *ledger.Event) *ledger.Event {
	t.Helper()
	b, err := ledger.EncodeEvent(ev)
	if err != nil {
		t.Fatalf("EncodeEvent: %v", err)
	}
	got, err := ledger.DecodeEvent(b)
	if err != nil {
		t.Fatalf("DecodeEvent: %v", err)
	}
	return got
}

func TestCodecRoundTrip(t *testing.T) {
	for i, ev := range ledgertest.Events() {
		got := roundTrip(t, ev)
		if !ledgertest.Equal(got, ev) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, ev)
		}
	}
}

func TestCodecArgTypes(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		paris = cet
	}
	args := []any{
		nil, int64(0), int64(-1), int64(math.MinInt64), int64(math.MaxInt64),
		0.0, math.Copysign(0, -1), math.Inf(1), math.SmallestNonzeroFloat64, 1e300,
		true, false, []byte(nil), []byte{}, []byte("\x00\xff"), "", "text \x00 ☃",
		time.Time{}, time.Unix(0, 0).UTC(), time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC),
		time.Date(2024, 7, 1, 12, 0, 0, 1, cet), time.Date(2024, 7, 1, 12, 0, 0, 1, paris),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(9999, 12, 31, 0, 0, 0, 0, time.FixedZone("", -12*3600)),
	}
	got := roundTrip(t, &ledger.Event{Stmts: []ledger.Stmt{{SQL: "x", Args: args}}}).Stmts[0].Args
	if len(got) != len(args) {
		t.Fatalf("%d args, want %d", len(got), len(args))
	}
	for i, want := range args {
		g := got[i]
		if reflect.TypeOf(g) != reflect.TypeOf(want) {
			t.Errorf("arg %d: type %T, want %T", i, g, want)
			continue
		}
		switch w := want.(type) {
		case time.Time:
			gt := g.(time.Time)
			if !gt.Equal(w) || gt.Nanosecond() != w.Nanosecond() {
				t.Errorf("arg %d: %v, want the instant %v", i, gt, w)
			}
			// The wall clock and zone survive, so a "timestamp without time
			// zone" column gets the same value on replay.
			if gt.String() != w.String() {
				t.Errorf("arg %d: %v, want the wall clock %v", i, gt, w)
			}
		case float64:
			if math.Float64bits(g.(float64)) != math.Float64bits(w) {
				t.Errorf("arg %d: %v, want %v", i, g, w)
			}
		case []byte:
			if gb := g.([]byte); (gb == nil) != (w == nil) || !bytes.Equal(gb, w) {
				t.Errorf("arg %d: %#v, want %#v", i, gb, w)
			}
		default:
			if g != want {
				t.Errorf("arg %d: %#v, want %#v", i, g, want)
			}
		}
	}
	// NaN keeps its bits too.
	nan := math.Float64frombits(0x7ff8000000000abc)
	g := roundTrip(t, &ledger.Event{Stmts: []ledger.Stmt{{Args: []any{nan}}}}).Stmts[0].Args[0].(float64)
	if math.Float64bits(g) != math.Float64bits(nan) {
		t.Errorf("NaN: bits %x, want %x", math.Float64bits(g), math.Float64bits(nan))
	}
}

// TestCodecEmptySlices documents the choice: empty and nil slices of the
// event decode as nil, except []byte arguments, where nil (NULL) and empty
// differ.
func TestCodecEmptySlices(t *testing.T) {
	ev := &ledger.Event{Keys: []ledger.Key{}, Stmts: []ledger.Stmt{{Args: []any{}}}, Seqs: []ledger.Seq{}, Outcomes: []ledger.Outcome{}}
	got := roundTrip(t, ev)
	if got.Keys != nil || got.Seqs != nil || got.Outcomes != nil || got.Stmts[0].Args != nil {
		t.Errorf("empty slices decoded as %#v; want nil", got)
	}
	if got := roundTrip(t, &ledger.Event{Stmts: []ledger.Stmt{}}); got.Stmts != nil {
		t.Errorf("empty Stmts decoded as %#v; want nil", got.Stmts)
	}
	if !reflect.DeepEqual(roundTrip(t, &ledger.Event{}), &ledger.Event{}) {
		t.Error("the zero event does not round-trip exactly")
	}
}

func TestCodecDoesNotAlias(t *testing.T) {
	b, err := ledger.EncodeEvent(&ledger.Event{Origin: "o", Stmts: []ledger.Stmt{{Args: []any{[]byte("abc")}}}})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := ledger.DecodeEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if got := ev.Stmts[0].Args[0].([]byte); string(got) != "abc" || ev.Origin != "o" {
		t.Errorf("decoded event changed with its input: %q, %q", got, ev.Origin)
	}
}

func TestCodecBadArg(t *testing.T) {
	type myString string
	for _, a := range []any{1, int32(1), uint64(1), float32(1), myString("x"), &struct{}{}, []string{"a"}, time.Second} {
		ev := &ledger.Event{Stmts: []ledger.Stmt{{SQL: "a"}, {SQL: "b", Args: []any{int64(1), "x", a}}}}
		_, err := ledger.EncodeEvent(ev)
		var ae *ledger.ArgError
		if !errors.As(err, &ae) {
			t.Fatalf("%T: error %v; want *ledger.ArgError", a, err)
		}
		if ae.Stmt != 1 || ae.Arg != 2 || ae.Type != reflect.TypeOf(a) {
			t.Errorf("%T: %+v; want statement 1, argument 2", a, ae)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "calibrated: ") || !strings.Contains(msg, "argument 3") || !strings.Contains(msg, reflect.TypeOf(a).String()) {
			t.Errorf("%T: message %q does not name the position and type", a, msg)
		}
	}
	if _, err := ledger.EncodeEvent(nil); err == nil {
		t.Error("EncodeEvent(nil) succeeded")
	}
}

func TestDecodeRejects(t *testing.T) {
	good, err := ledger.EncodeEvent(ledgertest.Events()[0])
	if err != nil {
		t.Fatal(err)
	}
	for n := range len(good) {
		if _, err := ledger.DecodeEvent(good[:n]); err == nil {
			t.Errorf("DecodeEvent of the first %d of %d bytes succeeded", n, len(good))
		}
	}
	if _, err := ledger.DecodeEvent(append(good[:len(good):len(good)], 0)); err == nil {
		t.Error("DecodeEvent with a trailing byte succeeded")
	}
	v2 := append([]byte{2}, good[1:]...)
	if _, err := ledger.DecodeEvent(v2); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("DecodeEvent of version 2: %v; want an error naming the version", err)
	}
}

func TestCodecCompact(t *testing.T) {
	ev := &ledger.Event{
		Type: ledger.Write, Stamp: time.Now(), Origin: "host/123", Req: 1000,
		Keys:  []ledger.Key{ledger.RowKey("accounts", "42")},
		Stmts: []ledger.Stmt{{SQL: "UPDATE accounts SET balance = balance + $1 WHERE id = $2", Args: []any{int64(10), int64(42)}}},
	}
	b, err := ledger.EncodeEvent(ev)
	if err != nil {
		t.Fatal(err)
	}
	payload := len(ev.Origin) + len("accounts") + len("42") + len(ev.Stmts[0].SQL)
	if len(b) > payload+40 {
		t.Errorf("a simple write takes %d bytes for %d bytes of text", len(b), payload)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	for _, ev := range ledgertest.Events() {
		b, err := ledger.EncodeEvent(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, err := ledger.DecodeEvent(b)
		if err != nil {
			return
		}
		// What decodes re-encodes, and its encoding is a fixed point
		// (compared as bytes: DeepEqual fails on NaN).
		b2, err := ledger.EncodeEvent(ev)
		if err != nil {
			t.Fatalf("re-encoding a decoded event: %v", err)
		}
		ev2, err := ledger.DecodeEvent(b2)
		if err != nil {
			t.Fatalf("decoding a re-encoded event: %v", err)
		}
		b3, err := ledger.EncodeEvent(ev2)
		if err != nil {
			t.Fatalf("re-encoding: %v", err)
		}
		if !bytes.Equal(b2, b3) {
			t.Fatalf("not a fixed point:\n%+v\n%+v", ev, ev2)
		}
	})
}
