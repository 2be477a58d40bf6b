package redislog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/ledger/ledgertest"
)

func bg() context.Context { return context.Background() }

// admin returns a plain client of the server at srv, for the test's own
// operations on keys.
func admin(t *testing.T, srv string) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(srv)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// cleanName deletes ledger name's keys on srv when t ends.
func cleanName(t *testing.T, srv, name string) string {
	t.Helper()
	c := admin(t, srv)
	t.Cleanup(func() {
		if err := c.Del(bg(), "calibrated:{"+name+"}", "calibrated:{"+name+"}:meta").Err(); err != nil {
			t.Errorf("delete test keys of %s: %v", name, err)
		}
	})
	return name
}

func shared(t *testing.T) (string, string) {
	t.Helper()
	srv := dbtest.Redis(t)
	return srv, cleanName(t, srv, dbtest.Name("calibrated_test_"))
}

func openLog(t *testing.T, rawURL string, opts ...Option) *Log {
	t.Helper()
	l, err := Open(bg(), rawURL, opts...)
	if err != nil {
		t.Fatalf("Open(%s): %v", rawURL, err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestLog(t *testing.T) {
	srv := dbtest.Redis(t)
	ledgertest.Run(t, func(t *testing.T) ledger.Log {
		return openLog(t, srv+"/"+cleanName(t, srv, dbtest.Name("calibrated_test_")))
	})
}

func TestDurable(t *testing.T) {
	srv := dbtest.Redis(t)
	prefix := dbtest.Name("calibrated_test_")
	ledgertest.RunDurable(t, func(t *testing.T, dir string) ledger.Log {
		h := sha256.Sum256([]byte(dir))
		name := cleanName(t, srv, prefix+"_"+hex.EncodeToString(h[:6])) // deleting twice is harmless
		return openLog(t, srv+"/"+name)
	})
}

func appendN(t *testing.T, l ledger.Log, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		s, err := l.Append(bg(), &ledger.Event{Type: ledger.Tick, Req: uint64(i)})
		if err != nil {
			t.Fatalf("Append %d: %v", i, err)
		}
		if s != ledger.Seq(i) {
			t.Fatalf("Append %d got seq %d", i, s)
		}
	}
}

func nextOK(t *testing.T, cur ledger.Cursor, want ledger.Seq) {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg(), 10*time.Second)
	defer cancel()
	s, ev, err := cur.Next(ctx)
	if err != nil || s != want || ev.Req != uint64(want) {
		t.Fatalf("Next: seq %d, %v; want seq %d", s, err, want)
	}
}

func broken(t *testing.T, cur ledger.Cursor, words ...string) {
	t.Helper()
	for range 2 {
		ctx, cancel := context.WithTimeout(bg(), 10*time.Second)
		s, _, err := cur.Next(ctx)
		cancel()
		if err == nil {
			t.Fatalf("Next delivered seq %d past a broken history", s)
		}
		if !errors.Is(err, ledger.ErrUnavailable) || !errors.Is(err, ledger.ErrHistory) {
			t.Fatalf("Next: %v; want a ledger.ErrHistory that is ledger.ErrUnavailable", err)
		}
		for _, w := range words {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("Next: %q; want it to say %q", err, w)
			}
		}
	}
}

// TestGap deletes entries with XDEL: cursors stop before them, from the
// history and at the tail.
func TestGap(t *testing.T) {
	srv, name := shared(t)
	l := openLog(t, srv+"/"+name)
	appendN(t, l, 1, 5)
	c := admin(t, srv)
	if err := c.XDel(bg(), l.stream, "0-3").Err(); err != nil {
		t.Fatal(err)
	}
	cur, err := l.Read(bg(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	nextOK(t, cur, 1)
	nextOK(t, cur, 2)
	broken(t, cur, "expected seq 3, got 4", "deleted")

	at3, err := l.Read(bg(), 3)
	if err != nil {
		t.Fatal(err)
	}
	broken(t, at3, "expected seq 3, got 4")

	// At the tail: 6 is deleted before the cursor reads it; Redis has no
	// push, so a cursor that is not in Next cannot have it already.
	tail, err := l.Read(bg(), 4)
	if err != nil {
		t.Fatal(err)
	}
	nextOK(t, tail, 4)
	nextOK(t, tail, 5)
	appendN(t, l, 6, 2)
	if err := c.XDel(bg(), l.stream, "0-6").Err(); err != nil {
		t.Fatal(err)
	}
	broken(t, tail, "expected seq 6, got 7")
	// The ledger's positions stay dense for appends: the next is 8.
	appendN(t, l, 8, 1)
}

// TestRecreated deletes the ledger's keys and opens it anew, with new
// entries: the old Log's cursors, Tail and Append refuse it.
func TestRecreated(t *testing.T) {
	srv, name := shared(t)
	l := openLog(t, srv+"/"+name)
	appendN(t, l, 1, 3)
	cur, err := l.Read(bg(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	for s := ledger.Seq(1); s <= 3; s++ {
		nextOK(t, cur, s)
	}
	early, err := l.Read(bg(), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()
	waiting, err := l.Read(bg(), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer waiting.Close()

	if err := admin(t, srv).Del(bg(), l.stream, l.meta).Err(); err != nil {
		t.Fatal(err)
	}
	l2 := openLog(t, srv+"/"+name)
	if l2.ID() == l.ID() {
		t.Fatalf("a recreated ledger has the old ID %q", l.ID())
	}
	appendN(t, l2, 1, 6)

	broken(t, cur, "created anew")
	broken(t, early, "created anew")
	broken(t, waiting, "created anew")
	if s, err := l.Tail(bg()); !errors.Is(err, ledger.ErrHistory) || !strings.Contains(err.Error(), "created anew") {
		t.Fatalf("Tail of a recreated ledger: %d, %v; want a history error", s, err)
	}
	if s, err := l.Append(bg(), &ledger.Event{Type: ledger.Tick}); !errors.Is(err, ledger.ErrHistory) {
		t.Fatalf("Append to a recreated ledger: %d, %v; want a history error", s, err)
	}
	if _, err := l.Read(bg(), 1); !errors.Is(err, ledger.ErrHistory) {
		t.Fatalf("Read of a recreated ledger: %v; want a history error", err)
	}
	if s, err := l2.Tail(bg()); err != nil || s != 6 {
		t.Fatalf("Tail of the new ledger: %d, %v; want 6", s, err)
	}
}

// TestStreamDeleted: the stream goes, the hash stays; a reader waiting at
// the tail notices, and appends are refused rather than start again at 1.
func TestStreamDeleted(t *testing.T) {
	srv, name := shared(t)
	l := openLog(t, srv+"/"+name)
	appendN(t, l, 1, 2)
	cur, err := l.Read(bg(), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	if err := admin(t, srv).Del(bg(), l.stream).Err(); err != nil {
		t.Fatal(err)
	}
	broken(t, cur, "was deleted")
	if s, err := l.Append(bg(), &ledger.Event{Type: ledger.Tick}); !errors.Is(err, ledger.ErrHistory) {
		t.Fatalf("Append after the stream was deleted: %d, %v; want a history error", s, err)
	}
}

// TestOrphan: a stream key without the ledger's hash is not taken over.
func TestOrphan(t *testing.T) {
	srv, name := shared(t)
	if err := admin(t, srv).XAdd(bg(), &redis.XAddArgs{Stream: "calibrated:{" + name + "}", Values: []string{"x", "y"}}).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(bg(), srv+"/"+name); err == nil || !strings.Contains(err.Error(), "exists without") {
		t.Fatalf("Open over a foreign stream: %v; want a refusal", err)
	}
}

// TestWait: with wait=1 on a server without replicas, Append says the
// write was not replicated.
func TestWait(t *testing.T) {
	srv, name := shared(t)
	l := openLog(t, srv+"/"+name+"?wait=1") // the default timeout leaves WAIT's reply 0.5 s to arrive, even on a loaded machine
	s, err := l.Append(bg(), &ledger.Event{Type: ledger.Tick})
	if !errors.Is(err, ledger.ErrUnavailable) || !strings.Contains(err.Error(), "acknowledged by 0 of 1 replicas") {
		t.Fatalf("Append with wait=1 and no replica: %d, %v; want an unavailable error naming the replicas", s, err)
	}
	l0 := openLog(t, srv+"/"+name+"?wait=0")
	if s, err := l0.Append(bg(), &ledger.Event{Type: ledger.Tick}); err != nil || s != 2 {
		t.Fatalf("Append with wait=0 after one unreplicated append: %d, %v; want seq 2", s, err)
	}
}

func TestOptions(t *testing.T) {
	for _, c := range []struct{ url, err string }{
		{"redis://h:6379/", "Redis ledger name"},
		{"redis://h:6379/a{b}", "Redis ledger name"},
		{"nats://h:6379/x", "scheme"},
		{"redis://h:6379/x?wait=-1", `"wait": -1`},
		{"redis://h:6379/x?wait=x", `"wait"`},
		{"redis://h:6379/x?timeout=0s", `"timeout"`},
		{"redis://h:6379/x?colour=red", "colour"},
	} {
		_, err := Open(bg(), c.url)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("Open(%s): %v; want an error containing %s", c.url, err, c.err)
		}
	}
	o, name, opts, err := parseURL("redis://u:p@h:6380/L?db=2&wait=1&timeout=1s&dial_timeout=3s")
	if err != nil || name != "L" || o.DB != 2 || o.Addr != "h:6380" || o.Password != "p" || len(opts) != 2 {
		t.Fatalf("parseURL: %+v %q %d options, %v", o, name, len(opts), err)
	}
}

// TestUnavailable runs a private redis-server, stops it under the log and
// starts it again: calls fail fast as unavailable, then work again.
func TestUnavailable(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CALIBRATED_TEST_REQUIRE") == "1" {
			t.Fatal("redis-server not found, and CALIBRATED_TEST_REQUIRE=1")
		}
		t.Skip("redis-server not found")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dir := t.TempDir()
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--dir", dir,
			"--appendonly", "yes", "--appendfsync", "always", "--save", "")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for i := 0; ; i++ {
			if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
				c.Close()
				break
			}
			if i == 100 {
				t.Fatal("redis-server did not start")
			}
			time.Sleep(50 * time.Millisecond)
		}
		return cmd
	}
	stop := func(cmd *exec.Cmd) {
		_ = cmd.Process.Signal(os.Interrupt) // SIGINT: save and exit
		_ = cmd.Wait()
	}
	cmd := start()
	defer func() { stop(cmd) }()
	srv := fmt.Sprintf("redis://127.0.0.1:%d/L", port)
	l := openLog(t, srv)
	appendN(t, l, 1, 3)
	cur, err := l.Read(bg(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	nextOK(t, cur, 1)

	stop(cmd)
	began := time.Now()
	_, aerr := l.Append(bg(), &ledger.Event{Type: ledger.Tick})
	_, terr := l.Tail(bg())
	_, rerr := l.Read(bg(), 1)
	ctx, cancel := context.WithTimeout(bg(), 5*time.Second)
	last := ledger.Seq(1)
	s, _, nerr := cur.Next(ctx) // 2 and 3 may be buffered: read until an error
	for nerr == nil {
		if last++; s != last {
			t.Fatalf("Next with Redis down: seq %d, want %d", s, last)
		}
		s, _, nerr = cur.Next(ctx)
	}
	cancel()
	if took := time.Since(began); took > 3*DefaultTimeout {
		t.Errorf("calls with Redis down took %v", took)
	}
	for what, err := range map[string]error{"Append": aerr, "Tail": terr, "Read": rerr, "Next": nerr} {
		if !errors.Is(err, ledger.ErrUnavailable) || errors.Is(err, ledger.ErrHistory) {
			t.Errorf("%s with Redis down: %v; want ledger.ErrUnavailable", what, err)
		}
	}

	cmd = start()
	appendN(t, l, 4, 2)
	for s := last + 1; s <= 5; s++ {
		nextOK(t, cur, s)
	}
}

func TestImportHasNoSideEffects(t *testing.T) {
	if os.Getenv("CALIBRATED_IMPORT_CHECK") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestImportHasNoSideEffects$", "-test.count=1")
		cmd.Env = append(os.Environ(), "CALIBRATED_IMPORT_CHECK=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return
	}
	flag.CommandLine.VisitAll(func(f *flag.Flag) {
		if !strings.HasPrefix(f.Name, "test.") {
			t.Errorf("importing redislog defined the flag -%s", f.Name)
		}
	})
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, g := range strings.Split(stacks, "\n\n") {
		if (strings.Contains(g, "go-redis") || strings.Contains(g, "calibrated/calibrated")) && !strings.Contains(g, "TestImportHasNoSideEffects") {
			t.Errorf("a goroutine runs at import:\n%s", g)
		}
	}
}

// TestTwoWriters: two Logs on one stream, as two processes would open it,
// pass ledgertest.RunShared.
func TestTwoWriters(t *testing.T) {
	ledgertest.RunShared(t, func(t *testing.T) (ledger.Log, ledger.Log) {
		srv, name := shared(t)
		return openLog(t, srv+"/"+name), openLog(t, srv+"/"+name)
	})
}
