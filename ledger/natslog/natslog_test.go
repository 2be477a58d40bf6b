package natslog

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
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/ledger/ledgertest"
)

func bg() context.Context { return context.Background() }

// admin connects to server for the test's own stream operations.
func admin(t *testing.T, server string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(server)
	if err != nil {
		t.Fatalf("connect to %s: %v", server, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// shared returns the shared server's URL and a unique stream name that is
// deleted when t ends.
func shared(t *testing.T) (string, string) {
	t.Helper()
	srv := dbtest.NATS(t)
	return srv, cleanName(t, srv, dbtest.Name("calibrated_test_"))
}

// cleanName deletes stream name on srv when t ends.
func cleanName(t *testing.T, srv, name string) string {
	js := admin(t, srv)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(bg(), 5*time.Second)
		defer cancel()
		if err := js.DeleteStream(ctx, name); err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
			t.Errorf("delete test stream %s: %v", name, err)
		}
	})
	return name
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

// modes are the stream formats: one event per message, and packed.
var modes = []struct{ name, query string }{{"direct", ""}, {"packed", "&group=64"}}

// The shared server syncs every two minutes, so its tests are relaxed.
func TestLog(t *testing.T) {
	srv := dbtest.NATS(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			ledgertest.Run(t, func(t *testing.T) ledger.Log {
				name := cleanName(t, srv, dbtest.Name("calibrated_test_"))
				return openLog(t, srv+"/"+name+"?durability=relaxed"+m.query)
			})
		})
	}
}

func TestDurable(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testDurable(t, m.query) })
	}
}

func testDurable(t *testing.T, query string) {
	srv := dbtest.NATS(t)
	prefix := dbtest.Name("calibrated_test_")
	var mu sync.Mutex
	seen := map[string]bool{}
	ledgertest.RunDurable(t, func(t *testing.T, dir string) ledger.Log {
		h := sha256.Sum256([]byte(dir))
		name := prefix + "_" + hex.EncodeToString(h[:6])
		mu.Lock()
		if !seen[name] {
			seen[name] = true
			cleanName(t, srv, name)
		}
		mu.Unlock()
		return openLog(t, srv+"/"+name+"?durability=relaxed"+query)
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

// broken checks that Next stops with a history error that mentions each
// of words, and keeps stopping there.
func broken(t *testing.T, cur ledger.Cursor, words ...string) {
	t.Helper()
	for range 2 {
		ctx, cancel := context.WithTimeout(bg(), 10*time.Second)
		s, ev, err := cur.Next(ctx)
		cancel()
		if err == nil {
			t.Fatalf("Next delivered seq %d (req %d) past a broken history", s, ev.Req)
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

// TestGap deletes a message from the stream: a cursor delivers what comes
// before it and stops there, whether it reads the gap from the history or
// meets it at the tail.
func TestGap(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testGap(t, m.query) })
	}
}

func testGap(t *testing.T, query string) {
	srv, name := shared(t)
	l := openLog(t, srv+"/"+name+"?durability=relaxed"+query)
	appendN(t, l, 1, 5)
	js := admin(t, srv)
	st, err := js.Stream(bg(), name)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteMsg(bg(), 3); err != nil {
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

	// A cursor that starts after the gap does not see it.
	after, err := l.Read(bg(), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	nextOK(t, after, 4)
	nextOK(t, after, 5)

	// A cursor that starts on a deleted position.
	at3, err := l.Read(bg(), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer at3.Close()
	broken(t, at3, "expected seq 3, got 4")
}

// TestRecreated deletes the stream and creates it again under the same
// name, with new messages: cursors stop, Tail and Read refuse it.
func TestRecreated(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) { testRecreated(t, m.query) })
	}
}

func testRecreated(t *testing.T, query string) {
	srv, name := shared(t)
	l := openLog(t, srv+"/"+name+"?durability=relaxed"+query)
	appendN(t, l, 1, 3)
	cur, err := l.Read(bg(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	for s := ledger.Seq(1); s <= 3; s++ {
		nextOK(t, cur, s)
	}
	// A second cursor that has read only the start.
	early, err := l.Read(bg(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Close()
	nextOK(t, early, 1)

	js := admin(t, srv)
	if err := js.DeleteStream(bg(), name); err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(bg(), jetstream.StreamConfig{Name: name, Subjects: []string{SubjectPrefix + name}}); err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		p, _ := ledger.EncodeEvent(&ledger.Event{Type: ledger.Tick, Req: uint64(100 + i)})
		if _, err := js.Publish(bg(), SubjectPrefix+name, p); err != nil {
			t.Fatal(err)
		}
	}
	broken(t, cur, "recreated")
	// early may still deliver what it had received from the old stream
	// (2 and 3), never anything of the new one.
	for {
		ctx, cancel := context.WithTimeout(bg(), 10*time.Second)
		s, ev, err := early.Next(ctx)
		cancel()
		if err != nil {
			break
		}
		if s > 3 || ev.Req != uint64(s) {
			t.Fatalf("after the stream was recreated, a cursor delivered seq %d req %d", s, ev.Req)
		}
	}
	broken(t, early, "recreated")
	if s, err := l.Tail(bg()); !errors.Is(err, ledger.ErrHistory) || !strings.Contains(err.Error(), "recreated") {
		t.Fatalf("Tail of a recreated stream: %d, %v; want a history error saying recreated", s, err)
	}
	if _, err := l.Read(bg(), 1); !errors.Is(err, ledger.ErrHistory) {
		t.Fatalf("Read of a recreated stream: %v; want a history error", err)
	}
	// Reopened, it is a new ledger with a new ID.
	l2 := openLog(t, srv+"/"+name+"?durability=relaxed")
	if l2.ID() == l.ID() {
		t.Fatalf("recreated stream has the old ID %q", l.ID())
	}
}

// TestDeleted: a stream deleted under a reader at the tail.
func TestDeleted(t *testing.T) {
	srv, name := shared(t)
	l := openLog(t, srv+"/"+name+"?durability=relaxed")
	appendN(t, l, 1, 2)
	cur, err := l.Read(bg(), 3)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	if err := admin(t, srv).DeleteStream(bg(), name); err != nil {
		t.Fatal(err)
	}
	broken(t, cur, "deleted")
}

// TestRefusedOnShared: the shared server's sync setting cannot be read
// without a monitoring endpoint, and one replica is not enough alone.
func TestRefusedOnShared(t *testing.T) {
	srv, name := shared(t)
	_, err := Open(bg(), srv+"/"+name)
	if err == nil || !strings.Contains(err.Error(), "sync_interval is unknown") || !strings.Contains(err.Error(), "durability=relaxed") {
		t.Fatalf("Open with one replica and an unknown sync setting: %v; want a refusal that names the fix", err)
	}
	if _, err := admin(t, srv).Stream(bg(), name); !errors.Is(err, jetstream.ErrStreamNotFound) {
		t.Fatalf("a refused Open left a stream behind: %v", err)
	}
}

// TestOptions checks the URL's options and their errors.
func TestOptions(t *testing.T) {
	for _, c := range []struct{ url, err string }{
		{"nats://h:4222/", "NATS ledger name"},
		{"nats://h:4222/a.b", "NATS ledger name"},
		{"http://h:4222/x", "scheme"},
		{"nats://h:4222/x?replicas=7", `"replicas": 7; supported: 1 to 5`},
		{"nats://h:4222/x?replicas=x", `"replicas"`},
		{"nats://h:4222/x?durability=lax", `"durability": "lax"; supported: strict, relaxed`},
		{"nats://h:4222/x?monitor=h:8222", `"monitor"`},
		{"nats://h:4222/x?timeout=-1s", `"timeout"`},
		{"nats://h:4222/x?colour=red", `unknown NATS ledger option "colour"`},
	} {
		_, err := Open(bg(), c.url)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("Open(%s): %v; want an error containing %s", c.url, err, c.err)
		}
	}
	servers, name, opts, err := parseURL("nats://u:p@h1:4222,h2:4223/L?replicas=3&durability=relaxed&timeout=1s&monitor=http://h1:8222")
	if err != nil || servers != "nats://u:p@h1:4222,nats://u:p@h2:4223" || name != "L" || len(opts) != 4 {
		t.Fatalf("parseURL: %q %q %d options, %v", servers, name, len(opts), err)
	}
}

// embedded runs a JetStream server on a loopback port with its store in
// dir; port and httpPort 0 pick free ones.
type embedded struct {
	t          testing.TB
	dir        string
	port, http int
	syncAlways bool
	s          *server.Server
}

func (e *embedded) start() {
	e.t.Helper()
	port, http := e.port, e.http
	if port == 0 {
		port, http = -1, -1
	}
	opts := &server.Options{
		ServerName: "embedded", Host: "127.0.0.1", Port: port, HTTPHost: "127.0.0.1", HTTPPort: http,
		JetStream: true, StoreDir: e.dir, SyncAlways: e.syncAlways, NoLog: true, NoSigs: true,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		e.t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		e.t.Fatal("embedded NATS server did not start")
	}
	e.s = s
	e.port, e.http = s.Addr().(*net.TCPAddr).Port, s.MonitorAddr().Port
}

func (e *embedded) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", e.port) }

func (e *embedded) monitor() string { return fmt.Sprintf("http://127.0.0.1:%d", e.http) }

func (e *embedded) stop() {
	e.s.Shutdown()
	e.s.WaitForShutdown()
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
			t.Errorf("importing natslog defined the flag -%s", f.Name)
		}
	})
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	for _, g := range strings.Split(stacks, "\n\n") {
		if (strings.Contains(g, "nats-io") || strings.Contains(g, "calibrated/calibrated")) && !strings.Contains(g, "TestImportHasNoSideEffects") {
			t.Errorf("a goroutine runs at import:\n%s", g)
		}
	}
}

// TestTwoWriters: two Logs on one stream, as two processes would open it,
// pass ledgertest.RunShared, packed or not (a Read may then start in the
// middle of a packed message).
func TestTwoWriters(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			var logs []*Log
			ledgertest.RunShared(t, func(t *testing.T) (ledger.Log, ledger.Log) {
				srv, name := shared(t)
				u := srv + "/" + name + "?durability=relaxed" + m.query
				logs = []*Log{openLog(t, u), openLog(t, u)}
				return logs[0], logs[1]
			})
			if logs[0].pack != nil {
				t.Logf("packed: %d and %d publishes lost a race to the other writer", logs[0].pack.conflicts.Load(), logs[1].pack.conflicts.Load())
			}
		})
	}
}

// TestPackedFind: the writer of a packed stream finds its own message
// after a lost acknowledgement by its message id.
func TestPackedFind(t *testing.T) {
	srv, name := shared(t)
	l := openLog(t, srv+"/"+name+"?durability=relaxed&group=8")
	appendN(t, l, 1, 3) // one at a time: messages 1, 2, 3 hold events 1, 2, 3
	seq, first, found, err := l.pack.find(bg(), 1, l.msgID+"b3")
	if err != nil || !found || seq != 3 || first != 3 {
		t.Fatalf("find of the third batch after 1: seq %d first %d found %v, %v; want 3 3 true", seq, first, found, err)
	}
	if _, _, found, err := l.pack.find(bg(), 1, l.msgID+"b9"); err != nil || found {
		t.Fatalf("find of a batch never sent: found %v, %v", found, err)
	}
}

// TestPackedGap deletes a message that holds several events: a cursor
// delivers every event before it and stops at its first.
func TestPackedGap(t *testing.T) {
	srv, name := shared(t)
	l := openLog(t, srv+"/"+name+"?durability=relaxed&group=64")
	var wg sync.WaitGroup
	for w := range 24 {
		wg.Go(func() {
			for i := range 10 {
				if _, err := l.Append(bg(), &ledger.Event{Type: ledger.Tick, Origin: fmt.Sprint(w), Req: uint64(i)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	st, err := admin(t, srv).Stream(bg(), name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(bg())
	if err != nil {
		t.Fatal(err)
	}
	var victim uint64
	var first ledger.Seq
	for seq := info.State.LastSeq / 2; seq < info.State.LastSeq && victim == 0; seq++ {
		m, err := st.GetMsg(bg(), seq)
		if err != nil {
			t.Fatal(err)
		}
		if f, n, err := packHeader(m.Header); err == nil && n > 1 && f > 1 {
			victim, first = seq, f
		}
	}
	if victim == 0 {
		t.Skipf("no message of several events in the second half of %d messages", info.State.LastSeq)
	}
	if err := st.DeleteMsg(bg(), victim); err != nil {
		t.Fatal(err)
	}
	cur, err := l.Read(bg(), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer cur.Close()
	for s := ledger.Seq(1); s < first; s++ {
		ctx, cancel := context.WithTimeout(bg(), 10*time.Second)
		got, _, err := cur.Next(ctx)
		cancel()
		if err != nil || got != s {
			t.Fatalf("before the deleted message (events from %d): seq %d, %v; want %d", first, got, err, s)
		}
	}
	broken(t, cur, fmt.Sprintf("expected seq %d", first))
	// From inside the deleted message, too.
	in, err := l.Read(bg(), first+1)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	broken(t, in, fmt.Sprintf("expected seq %d", first+1))
}
