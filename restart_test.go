package calibrated

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/internal/engine"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/ledger/filelog"
)

// TestRestartChild is the child process of TestKillAndRestart: with
// CALIBRATED_CHILD_DSN set it writes until killed, printing the id of every
// acknowledged write.
func TestRestartChild(t *testing.T) {
	dsn := os.Getenv("CALIBRATED_CHILD_DSN")
	if dsn == "" {
		t.Skip("run by TestKillAndRestart")
	}
	db, err := sql.Open("calibrated", dsn)
	if err != nil {
		t.Fatal(err)
	}
	start, _ := strconv.Atoi(os.Getenv("CALIBRATED_CHILD_START"))
	for id := start; ; id++ {
		err := func() error {
			tx, err := db.Begin()
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if _, err := tx.Exec(`INSERT INTO acked (id) VALUES ($1)`, id); err != nil {
				return err
			}
			if _, err := tx.Exec(`UPDATE counter SET n = n + 1 WHERE id = 1`); err != nil {
				return err
			}
			return tx.Commit()
		}()
		if err == nil {
			_, err = db.Exec(`UPDATE counter SET n = n + 1 WHERE id = 2`)
		}
		if err != nil {
			fmt.Printf("error %v\n", err)
			continue
		}
		fmt.Printf("acked %d\n", id)
	}
}

// TestKillAndRestart: a process writing through ledger=file:// is killed
// with SIGKILL mid-run and restarted on the same directory; every
// acknowledged write is then present exactly once on every backend.
func TestKillAndRestart(t *testing.T) {
	urls := dbtest.Postgres(t, 3)
	dir := t.TempDir()
	dsn := dbtest.DSN(urls, "ledger=file://"+dir, "ack=anchor")
	direct := dbtest.Open(t, urls)
	for _, db := range direct {
		for _, q := range []string{`CREATE TABLE acked (id int PRIMARY KEY)`, `CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)`, `INSERT INTO counter VALUES (1, 0), (2, 0)`} {
			if _, err := db.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
	}
	acked := map[int]bool{}
	for round, start := range []int{1, 100000} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRestartChild$", "-test.v")
		cmd.Env = append(os.Environ(), "CALIBRATED_CHILD_DSN="+dsn, "CALIBRATED_CHILD_START="+strconv.Itoa(start))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		n := 0
		deadline := time.Now().Add(60 * time.Second)
		for n < 150 && time.Now().Before(deadline) && sc.Scan() {
			line := sc.Text()
			if id, ok := strings.CutPrefix(line, "acked "); ok {
				v, _ := strconv.Atoi(id)
				acked[v] = true
				n++
			} else if strings.HasPrefix(line, "error ") {
				t.Logf("child round %d: %s", round, line)
			}
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()
		if n < 150 {
			t.Fatalf("round %d: only %d writes acknowledged before the deadline", round, n)
		}
	}
	// Restart once more here, on the same directory, and let it finish. A
	// transaction the kill cut short holds its keys until its lease (the
	// default 30s) lapses in log time, so wait longer than that.
	db, err := sql.Open("calibrated", dsn+" lock_timeout=45s")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS barrier (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	var rows []int64
	for i, d := range direct {
		var count, n1, n2 int64
		if err := d.QueryRow(`SELECT (SELECT count(*) FROM acked), (SELECT n FROM counter WHERE id = 1), (SELECT n FROM counter WHERE id = 2)`).Scan(&count, &n1, &n2); err != nil {
			t.Fatal(err)
		}
		// Each transaction inserted one row and counted once: exactly once.
		if n1 != count {
			t.Errorf("backend %c: %d rows but the counter says %d", 'a'+i, count, n1)
		}
		if n2 < int64(len(acked)) || n2 > count {
			t.Errorf("backend %c: second counter %d outside [%d acknowledged, %d committed]", 'a'+i, n2, len(acked), count)
		}
		for id := range acked {
			var one int
			if err := d.QueryRow(`SELECT count(*) FROM acked WHERE id = $1`, id).Scan(&one); err != nil || one != 1 {
				t.Fatalf("backend %c: acknowledged write %d present %d times, %v", 'a'+i, id, one, err)
			}
		}
		rows = append(rows, count)
	}
	t.Logf("%d acknowledged writes; rows on each backend: %v", len(acked), rows)
	dbtest.Converged(t, direct, "acked")
	dbtest.Converged(t, direct, "counter")
}

// TestLocalRestartMarksStale: with ledger=local a restart loses the
// history; a backend that had not applied all of it is marked stale, and
// serves nothing until resynced.
func TestLocalRestartMarksStale(t *testing.T) {
	urls := dbtest.Postgres(t, 2)
	cl := openCluster(t, urls, "ack=anchor")
	mustExec(t, cl.db, `CREATE TABLE t (id int PRIMARY KEY)`)
	waitApplied(t, cl)
	cl.engine(t).StopApplier("b")
	mustExec(t, cl.db, `INSERT INTO t VALUES (1)`)
	cl.db.Close()

	again := openCluster(t, urls)
	e := again.engine(t)
	if s := e.Calibrator().State("b"); s != ledger.Stale {
		t.Fatalf("b is %v after a restart that lost its pending entry, want stale", s)
	}
	if s := e.Calibrator().State("a"); s != ledger.Active {
		t.Fatalf("a is %v, want active", s)
	}
	ctx, cancel := context.WithTimeout(ReadFrom(context.Background(), "b"), 200*time.Millisecond)
	defer cancel()
	var n int
	if err := again.db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&n); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read from a stale backend: %d, %v; want it to wait", n, err)
	}
}

// TestTrimAndRestart: the file ledger is trimmed at quiescent points, and
// a restart from the trimmed ledger goes on where the backends are.
func TestTrimAndRestart(t *testing.T) {
	engine.FileLogOptions = []filelog.Option{filelog.SegmentSize(4 << 10)}
	defer func() { engine.FileLogOptions = nil }()
	urls := dbtest.Postgres(t, 2)
	dir := t.TempDir()
	cl := openCluster(t, urls, "ledger=file://"+dir)
	e := cl.engine(t)
	e.SetTrimEvery(0)
	countTo(t, cl.db, 300)
	tr, ok := e.Ledger().(interface{ First() ledger.Seq })
	if !ok {
		t.Fatal("the file ledger cannot be trimmed")
	}
	waitFor(t, func() bool { return tr.First() > 100 }, "the ledger to be trimmed")
	first := tr.First()
	cl.db.Close()

	again := openCluster(t, urls, "ledger=file://"+dir)
	for i := 0; i < 10; i++ {
		mustExec(t, again.db, `UPDATE counter SET n = n + 1 WHERE id = 1`)
	}
	waitApplied(t, again)
	countsAre(t, again.direct, 310)
	if _, err := History(context.Background(), again.c, "counter/1"); err != nil {
		t.Fatalf("history of a trimmed ledger: %v", err)
	}
	t.Logf("trimmed before %d", first)
}

// TestLocalLedgerTrimmed: the in-process ledger drops what it no longer
// needs, so a long-running process does not keep every write it made: it
// is trimmed at the latest point where nothing was pending, even while a
// backend has writes still to apply.
func TestLocalLedgerTrimmed(t *testing.T) {
	cl := openCluster(t, dbtest.Postgres(t, 2), "ack=anchor")
	e := cl.engine(t)
	e.SetTrimEvery(0)
	countTo(t, cl.db, 300)
	waitApplied(t, cl)
	tail, err := e.Ledger().Tail(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e.StopApplier("b")
	for i := 0; i < 10; i++ {
		mustExec(t, cl.db, `UPDATE counter SET n = n + 1 WHERE id = 1`)
	}
	tr, ok := e.Ledger().(interface{ First() ledger.Seq })
	if !ok {
		t.Fatal("the in-process ledger cannot be trimmed")
	}
	waitFor(t, func() bool { return tr.First() > tail }, "the in-process ledger to be trimmed while b lags")
	e.StartApplier("b")
	waitApplied(t, cl)
	countsAre(t, cl.direct, 310)

	// The backends' marks of the trimmed entries are folded too, and still
	// count what each backend applied: a restart, on a new in-process
	// ledger, finds no backend behind another.
	marks := func(db *sql.DB) (rows, applied int) {
		t.Helper()
		if err := db.QueryRow(`SELECT count(*), `+backend.AppliedCount+` FROM `+backend.AppliedTable+` WHERE ledger = $1`, e.Ledger().ID()).Scan(&rows, &applied); err != nil {
			t.Fatal(err)
		}
		return rows, applied
	}
	waitFor(t, func() bool {
		for _, db := range cl.direct {
			if rows, _ := marks(db); rows > 50 {
				return false
			}
		}
		return true
	}, "the marks of the trimmed entries to be folded")
	_, want := marks(cl.direct[0])
	if _, got := marks(cl.direct[1]); got != want || want < 310 {
		t.Fatalf("applied entries counted by the marks: a %d, b %d; want the same, at least 310", want, got)
	}
	cl.db.Close()
	again := openCluster(t, cl.urls)
	for _, b := range []string{"a", "b"} {
		if s := again.engine(t).Calibrator().State(b); s != ledger.Active {
			t.Errorf("after a restart, %s is %v; want active", b, s)
		}
	}
}

// countTo creates table counter with one row and counts it up to n, one
// autocommit UPDATE at a time: a ledger of n entries on one row.
func countTo(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	mustExec(t, db, `CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)`)
	mustExec(t, db, `INSERT INTO counter VALUES (1, 0)`)
	for range n {
		mustExec(t, db, `UPDATE counter SET n = n + 1 WHERE id = 1`)
	}
}
