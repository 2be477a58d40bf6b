// Package lincheck records concurrent histories of reads and writes on
// integer registers and checks them for linearizability with porcupine
// (DESIGN §10).
//
// Each key is one register that starts at 0; a history is linearizable if
// every register's is, so [Model] partitions by key. Writers must write
// values that are unique and nonzero, so that a read names the write it saw.
package lincheck

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// Input is one operation on the register Key: a write of Value, or a read.
type Input struct {
	Key   int
	Write bool
	Value int64 // the value written; unused by reads
}

// Model is the porcupine model of registers that start at 0. A read's
// output is the int64 it returned; a write's output is ignored.
var Model = porcupine.Model{
	Partition: partition,
	Init:      func() any { return int64(0) },
	Step: func(state, input, output any) (bool, any) {
		in := input.(Input)
		if in.Write {
			return true, in.Value
		}
		return output.(int64) == state.(int64), state
	},
	Hash: func(state any) uint64 { return uint64(state.(int64)) },
	DescribeOperation: func(input, output any) string {
		in := input.(Input)
		if in.Write {
			return fmt.Sprintf("put(%d, %d)", in.Key, in.Value)
		}
		return fmt.Sprintf("get(%d) -> %d", in.Key, output.(int64))
	},
	DescribeState: func(state any) string { return fmt.Sprint(state.(int64)) },
}

// partition splits a history by key, in key order so that the checker and
// its visualisation are reproducible.
func partition(history []porcupine.Operation) [][]porcupine.Operation {
	byKey := map[int][]porcupine.Operation{}
	for _, op := range history {
		k := op.Input.(Input).Key
		byKey[k] = append(byKey[k], op)
	}
	keys := make([]int, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	out := make([][]porcupine.Operation, len(keys))
	for i, k := range keys {
		out[i] = byKey[k]
	}
	return out
}

// Pending is the Return time of a write whose outcome is unknown: it may
// take effect at any moment after its call, or never (porcupine then
// linearizes it after everything that did not observe it).
const Pending = math.MaxInt64

// History records operations as they happen, safe for concurrent use.
// Times are nanoseconds on the monotonic clock since [NewHistory].
type History struct {
	start time.Time

	mu    sync.Mutex
	ops   []porcupine.Operation
	stats Stats
}

// Stats counts what a [History] recorded.
type Stats struct {
	Reads, FailedReads   int // FailedReads are left out of the history
	Writes, FailedWrites int // Writes includes FailedWrites, kept as possibly applied
}

// String reads like "120 reads (2 failed, left out), 80 writes (1 failed, possibly applied)".
func (s Stats) String() string {
	return fmt.Sprintf("%d reads (%d failed, left out), %d writes (%d failed, possibly applied)",
		s.Reads, s.FailedReads, s.Writes, s.FailedWrites)
}

// NewHistory starts an empty history; its clock starts now.
func NewHistory() *History { return &History{start: time.Now()} }

// now reads the monotonic clock: time.Since uses the monotonic reading
// that time.Now carries, so wall-clock jumps cannot reorder operations.
func (h *History) now() int64 { return int64(time.Since(h.start)) }

// Read records client's read of key, done by read. A read that fails is
// left out: it changed nothing and observed nothing. Read returns read's
// error.
func (h *History) Read(client, key int, read func() (int64, error)) error {
	call := h.now()
	v, err := read()
	ret := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.stats.FailedReads++
		return err
	}
	h.stats.Reads++
	h.ops = append(h.ops, porcupine.Operation{
		ClientId: client,
		Input:    Input{Key: key},
		Call:     call,
		Output:   v,
		Return:   ret,
	})
	return nil
}

// Write records client's write of value to key, done by write. A write
// that fails has an unknown outcome (an error may come after the write was
// admitted, or the write may be applied after its caller stopped waiting),
// so it is kept as possibly applied: its Return is [Pending]. This is
// sound whatever the error meant, at the price of a little search. Write
// returns write's error.
func (h *History) Write(client, key int, value int64, write func() error) error {
	call := h.now()
	err := write()
	ret := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats.Writes++
	if err != nil {
		h.stats.FailedWrites++
		ret = Pending
	}
	h.ops = append(h.ops, porcupine.Operation{
		ClientId: client,
		Input:    Input{Key: key, Write: true, Value: value},
		Call:     call,
		Output:   int64(0),
		Return:   ret,
	})
	return err
}

// Operations returns a copy of the history recorded so far.
func (h *History) Operations() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]porcupine.Operation(nil), h.ops...)
}

// Stats returns the counts so far.
func (h *History) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

// Check checks ops for linearizability within timeout. When it finds a
// violation and vizPath is not empty, it writes porcupine's HTML
// visualisation of the longest linearizable prefixes there.
func Check(ops []porcupine.Operation, timeout time.Duration, vizPath string) (porcupine.CheckResult, error) {
	res := porcupine.CheckOperationsTimeout(Model, ops, timeout)
	if res != porcupine.Illegal || vizPath == "" {
		return res, nil
	}
	// The verbose check explores every partition to the end, which the
	// plain one stops doing at the first violation; it is run only to draw.
	_, info := porcupine.CheckOperationsVerbose(Model, ops, timeout)
	if err := porcupine.VisualizePath(Model, info, vizPath); err != nil {
		return res, fmt.Errorf("lincheck: write visualisation: %w", err)
	}
	return res, nil
}
