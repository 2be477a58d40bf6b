package natslog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/calibrated/calibrated/ledger"
)

func runEmbedded(t *testing.T, syncAlways bool) *embedded {
	t.Helper()
	e := &embedded{t: t, dir: t.TempDir(), syncAlways: syncAlways}
	e.start()
	t.Cleanup(func() {
		if e.s != nil && e.s.Running() {
			e.stop()
		}
	})
	return e
}

// TestRefusedDefaultSync: one replica on a server that syncs every two
// minutes (the default) is refused, with what was found and the fix; with
// durability=relaxed it opens.
func TestRefusedDefaultSync(t *testing.T) {
	e := runEmbedded(t, false)
	_, err := Open(bg(), e.url()+"/L?monitor="+e.monitor())
	if err == nil {
		t.Fatal("Open of a one-replica stream on a server with the default sync_interval succeeded; want a refusal")
	}
	for _, w := range []string{"1 replica", "every 2m0s", "sync_interval: always", "replicas=3", "durability=relaxed"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("refusal %q does not say %q", err, w)
		}
	}
	openLog(t, e.url()+"/L?monitor="+e.monitor()+"&durability=relaxed")
}

// TestSyncAlwaysRestart appends from several goroutines while a reader
// follows, stops the server (sync_interval: always) in the middle and
// starts it again on the same store: every acknowledged append is there
// once, at the position Append returned, and nothing else is twice.
func TestSyncAlwaysRestart(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testSyncAlwaysRestart(t, m.query) })
	}
}

func testSyncAlwaysRestart(t *testing.T, query string) {
	e := runEmbedded(t, true)
	l := openLog(t, e.url()+"/L?monitor="+e.monitor()+query)

	type rec struct {
		origin string
		req    uint64
	}
	var (
		mu       sync.Mutex
		acked    = map[ledger.Seq]rec{}
		failed   atomic.Int64
		badErr   atomic.Value
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		writers  = 8
		lastSeen atomic.Uint64
	)
	for w := range writers {
		wg.Go(func() {
			for i := uint64(1); ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(bg(), 3*time.Second)
				r := rec{fmt.Sprintf("w%d", w), i}
				s, err := l.Append(ctx, &ledger.Event{Type: ledger.Tick, Origin: r.origin, Req: r.req})
				cancel()
				if err != nil {
					if !errors.Is(err, ledger.ErrUnavailable) {
						badErr.Store(err)
					}
					failed.Add(1)
					if failed.Load() == 1 {
						t.Logf("first failed append: %v", err)
					}
					time.Sleep(20 * time.Millisecond)
					continue
				}
				mu.Lock()
				acked[s] = r
				mu.Unlock()
			}
		})
	}
	// A reader follows throughout, retrying when the server is away.
	readerDone := make(chan error, 1)
	go func() {
		cur, err := l.Read(bg(), 1)
		for err != nil {
			time.Sleep(50 * time.Millisecond)
			cur, err = l.Read(bg(), 1)
		}
		defer cur.Close()
		want := ledger.Seq(1)
		for {
			select {
			case <-stop:
				readerDone <- nil
				return
			default:
			}
			ctx, cancel := context.WithTimeout(bg(), time.Second)
			s, _, err := cur.Next(ctx)
			cancel()
			switch {
			case err == nil:
				if s != want {
					readerDone <- fmt.Errorf("reader got seq %d, want %d", s, want)
					return
				}
				want++
				lastSeen.Store(uint64(s))
			case errors.Is(err, ledger.ErrHistory):
				readerDone <- err
				return
			case errors.Is(err, ledger.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
				time.Sleep(20 * time.Millisecond)
			default:
				readerDone <- err
				return
			}
		}
	}()

	time.Sleep(400 * time.Millisecond)
	e.stop()
	// Down: calls fail fast, as unavailable.
	start := time.Now()
	_, aerr := l.Append(bg(), &ledger.Event{Type: ledger.Tick, Origin: "probe"})
	_, terr := l.Tail(bg())
	_, rerr := l.Read(bg(), 1)
	took := time.Since(start)
	for what, err := range map[string]error{"Append": aerr, "Tail": terr, "Read": rerr} {
		if !errors.Is(err, ledger.ErrUnavailable) || errors.Is(err, ledger.ErrHistory) {
			t.Errorf("%s with the server down: %v; want ledger.ErrUnavailable", what, err)
		}
	}
	if took > 3*DefaultTimeout {
		t.Errorf("Append, Tail and Read with the server down took %v", took)
	}
	time.Sleep(200 * time.Millisecond)
	e.start()
	// Back: the client reconnects by itself.
	deadline := time.Now().Add(15 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(bg(), time.Second)
		_, err := l.Tail(ctx)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Tail still failing 15s after the server came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(400 * time.Millisecond)
	close(stop)
	wg.Wait()
	if err := <-readerDone; err != nil {
		t.Fatalf("reader: %v", err)
	}
	if v := badErr.Load(); v != nil {
		t.Fatalf("an Append failed with an error that is not ledger.ErrUnavailable: %v", v)
	}

	tail, err := l.Tail(bg())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d appends acknowledged, %d failed, tail %d, reader reached %d", len(acked), failed.Load(), tail, lastSeen.Load())
	if len(acked) == 0 || int(tail) < len(acked) {
		t.Fatalf("tail %d with %d acknowledged appends", tail, len(acked))
	}
	cur, err := l.Read(bg(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	seen := map[rec]ledger.Seq{}
	for s := ledger.Seq(1); s <= tail; s++ {
		ctx, cancel := context.WithTimeout(bg(), 10*time.Second)
		got, ev, err := cur.Next(ctx)
		cancel()
		if err != nil || got != s {
			t.Fatalf("reading back seq %d: got %d, %v", s, got, err)
		}
		r := rec{ev.Origin, ev.Req}
		if prev, dup := seen[r]; dup {
			t.Fatalf("%v is in the log twice: at %d and %d", r, prev, s)
		}
		seen[r] = s
		if want, ok := acked[s]; ok && want != r {
			t.Fatalf("seq %d holds %v; Append returned it for %v", s, r, want)
		}
	}
	for s, r := range acked {
		if seen[r] != s {
			t.Fatalf("acknowledged %v at seq %d is not there", r, s)
		}
	}
}

// TestRefusedStreams: on a server that syncs every write, an existing
// stream is still refused when it is kept in memory, drops old events by
// limits, or has fewer replicas than asked.
func TestRefusedStreams(t *testing.T) {
	e := runEmbedded(t, true)
	js := admin(t, e.url())
	for _, c := range []struct {
		cfg  jetstream.StreamConfig
		opts string
		want string
	}{
		{jetstream.StreamConfig{Name: "M", Storage: jetstream.MemoryStorage}, "", "kept in memory"},
		{jetstream.StreamConfig{Name: "X", MaxMsgs: 1000}, "", "max_msgs 1000"},
		{jetstream.StreamConfig{Name: "R"}, "&replicas=3", "has 1 replica(s), and replicas=3"},
		{jetstream.StreamConfig{Name: "S", Subjects: []string{"other"}}, "", `holds exactly "calibrated.ledger.S"`},
	} {
		if len(c.cfg.Subjects) == 0 {
			c.cfg.Subjects = []string{SubjectPrefix + c.cfg.Name}
		}
		if _, err := js.CreateStream(bg(), c.cfg); err != nil {
			t.Fatal(err)
		}
		_, err := Open(bg(), e.url()+"/"+c.cfg.Name+"?monitor="+e.monitor()+c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open of stream %s: %v; want a refusal saying %q", c.cfg.Name, err, c.want)
		}
	}
	// Accepted: created by Open on this server, and reopened.
	openLog(t, e.url()+"/OK?monitor="+e.monitor()).Close()
	openLog(t, e.url()+"/OK?monitor="+e.monitor())
	// A packed stream is refused to a group=0 option, and the other way.
	openLog(t, e.url()+"/P?group=8&monitor="+e.monitor())
	if _, err := Open(bg(), e.url()+"/P?group=0&monitor="+e.monitor()); err == nil || !strings.Contains(err.Error(), "several events") {
		t.Errorf("Open of a packed stream with group=0: %v; want a refusal", err)
	}
	if _, err := Open(bg(), e.url()+"/OK?group=8&monitor="+e.monitor()); err == nil || !strings.Contains(err.Error(), "one event") {
		t.Errorf("Open of a direct stream with group=8: %v; want a refusal", err)
	}
}
