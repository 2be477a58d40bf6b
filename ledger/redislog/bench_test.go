package redislog

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/ledger/filelog"
	"github.com/calibrated/calibrated/ledger/memlog"
)

// benchEvent is a typical admitted write: one UPDATE by primary key.
func benchEvent(w int, i uint64) *ledger.Event {
	return &ledger.Event{Type: ledger.Write, Stamp: time.Now(), Origin: fmt.Sprintf("host-1/%d", w), Req: i,
		Keys:  []ledger.Key{ledger.RowKey("accounts", fmt.Sprint(i))},
		Stmts: []ledger.Stmt{{SQL: "UPDATE accounts SET balance = balance + $1 WHERE id = $2", Args: []any{int64(1), int64(i)}}}}
}

// benchAppend appends b.N events from appenders goroutines and reports
// appends/s.
func benchAppend(b *testing.B, l ledger.Log, appenders int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, appenders)
	b.ResetTimer()
	start := time.Now()
	for w := range appenders {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, err := l.Append(context.Background(), benchEvent(w, uint64(i))); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
}

// BenchmarkAppend compares Append throughput of the memory and file logs
// with the Redis one on the shared server.
func BenchmarkAppend(b *testing.B) {
	for _, n := range []int{8, 24} {
		b.Run(fmt.Sprintf("mem/appenders=%d", n), func(b *testing.B) {
			benchAppend(b, memlog.New(), n)
		})
		b.Run(fmt.Sprintf("file/appenders=%d", n), func(b *testing.B) {
			l, err := filelog.Open(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			benchAppend(b, l, n)
		})
		b.Run(fmt.Sprintf("redis/appenders=%d", n), func(b *testing.B) {
			srv := dbtest.Redis(b)
			name := dbtest.Name("calibrated_bench_")
			l, err := Open(context.Background(), srv+"/"+name)
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				_ = l.rdb.Del(context.Background(), l.stream, l.meta).Err()
				l.Close()
			}()
			benchAppend(b, l, n)
		})
	}
}

// BenchmarkRead reads b.N events with one cursor from the start of a
// ledger on the shared server, as a backend catching up does.
func BenchmarkRead(b *testing.B) {
	srv := dbtest.Redis(b)
	name := dbtest.Name("calibrated_bench_")
	l, err := Open(context.Background(), srv+"/"+name)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = l.rdb.Del(context.Background(), l.stream, l.meta).Err()
		l.Close()
	}()
	benchAppend(b, l, 24)
	b.ResetTimer()
	start := time.Now()
	cur, err := l.Read(context.Background(), 1)
	if err != nil {
		b.Fatal(err)
	}
	defer cur.Close()
	for i := 1; i <= b.N; i++ {
		if s, _, err := cur.Next(context.Background()); err != nil || s != ledger.Seq(i) {
			b.Fatalf("Next: %d, %v; want %d", s, err, i)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "reads/s")
}
