package lincheck

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

func put(client, key int, v, call, ret int64) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: Input{Key: key, Write: true, Value: v}, Call: call, Output: int64(0), Return: ret}
}

func get(client, key int, v, call, ret int64) porcupine.Operation {
	return porcupine.Operation{ClientId: client, Input: Input{Key: key}, Call: call, Output: v, Return: ret}
}

func TestModel(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"empty", nil, porcupine.Ok},
		{"initial zero", []porcupine.Operation{get(0, 1, 0, 0, 1)}, porcupine.Ok},
		{"sequential", []porcupine.Operation{put(0, 1, 5, 0, 1), get(1, 1, 5, 2, 3)}, porcupine.Ok},
		{"stale read", []porcupine.Operation{put(0, 1, 5, 0, 1), get(1, 1, 0, 2, 3)}, porcupine.Illegal},
		{"value never written", []porcupine.Operation{get(0, 1, 7, 0, 1)}, porcupine.Illegal},
		{"concurrent read sees old", []porcupine.Operation{put(0, 1, 5, 0, 10), get(1, 1, 0, 2, 3)}, porcupine.Ok},
		{"concurrent read sees new", []porcupine.Operation{put(0, 1, 5, 0, 10), get(1, 1, 5, 2, 3)}, porcupine.Ok},
		{"new then old", []porcupine.Operation{put(0, 1, 5, 0, 10), get(1, 1, 5, 2, 3), get(1, 1, 0, 4, 5)}, porcupine.Illegal},
		{"keys are independent", []porcupine.Operation{put(0, 1, 5, 0, 1), get(1, 2, 0, 2, 3), get(1, 1, 5, 4, 5)}, porcupine.Ok},
		{"stale on one key of two", []porcupine.Operation{put(0, 1, 5, 0, 1), put(0, 2, 6, 2, 3), get(1, 2, 6, 4, 5), get(1, 1, 0, 6, 7)}, porcupine.Illegal},
		{"pending write never seen", []porcupine.Operation{put(0, 1, 5, 0, Pending), get(1, 1, 0, 2, 3)}, porcupine.Ok},
		{"pending write seen late", []porcupine.Operation{put(0, 1, 5, 0, Pending), get(1, 1, 0, 2, 3), get(1, 1, 5, 100, 101)}, porcupine.Ok},
		{"pending write seen then unseen", []porcupine.Operation{put(0, 1, 5, 0, Pending), get(1, 1, 5, 2, 3), get(1, 1, 0, 4, 5)}, porcupine.Illegal},
		{"pending write before its call", []porcupine.Operation{get(1, 1, 5, 0, 1), put(0, 1, 5, 2, Pending)}, porcupine.Illegal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Check(tc.ops, 10*time.Second, "")
			if err != nil || got != tc.want {
				t.Fatalf("Check = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	h := NewHistory()
	boom := errors.New("boom")
	if err := h.Write(0, 1, 5, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := h.Write(1, 1, 6, func() error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("Write returned %v, want the write's error", err)
	}
	if err := h.Read(2, 1, func() (int64, error) { return 5, nil }); err != nil {
		t.Fatal(err)
	}
	if err := h.Read(2, 1, func() (int64, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("Read returned %v, want the read's error", err)
	}
	want := Stats{Reads: 1, FailedReads: 1, Writes: 2, FailedWrites: 1}
	if got := h.Stats(); got != want {
		t.Fatalf("Stats = %+v, want %+v", got, want)
	}
	ops := h.Operations()
	if len(ops) != 3 {
		t.Fatalf("%d operations recorded, want 3 (the failed read left out)", len(ops))
	}
	var last int64
	for i, op := range ops {
		if op.Call < last || op.Return < op.Call {
			t.Errorf("operation %d: call %d, return %d after %d: the clock went back", i, op.Call, op.Return, last)
		}
		last = op.Call
	}
	if ops[1].Return != Pending {
		t.Errorf("failed write returns at %d, want Pending", ops[1].Return)
	}
	if ops[0].Return == Pending || ops[2].Return == Pending {
		t.Error("a successful operation is recorded as pending")
	}
	if res, err := Check(ops, 10*time.Second, ""); err != nil || res != porcupine.Ok {
		t.Fatalf("Check = %s, %v; want Ok", res, err)
	}
}

func TestVisualisation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "viz.html")
	ops := []porcupine.Operation{put(0, 1, 5, 0, 1), get(1, 1, 0, 2, 3), put(0, 2, 6, 0, Pending)}
	res, err := Check(ops, 10*time.Second, path)
	if err != nil || res != porcupine.Illegal {
		t.Fatalf("Check = %s, %v; want Illegal", res, err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "get(1)") {
		t.Error("the visualisation does not describe the stale read")
	}
}
