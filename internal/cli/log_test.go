package cli

import (
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/calibrated/calibrated"
	"github.com/calibrated/calibrated/internal/dbtest"
)

func TestLog(t *testing.T) {
	t.Parallel()
	urls := dbtest.Postgres(t, 2)
	dsn := dbtest.DSN(urls, "ledger=file://"+t.TempDir())

	db, err := sql.Open("calibrated", dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`CREATE TABLE kv (k int PRIMARY KEY, v text NOT NULL)`, nil},
		{`INSERT INTO kv (k, v) VALUES ($1, $2)`, []any{1, "one"}},
		{`INSERT INTO kv (k, v) VALUES ($1, $2)`, []any{2, "other"}},
		{`UPDATE kv SET v = $1 WHERE k = $2`, []any{"two", 1}},
		{`UPDATE kv SET v = $1 WHERE k = $2`, []any{"it's three", 1}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			db.Close()
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// status replays the ledger in a new process, as log will, and finds
	// what the writer left: every backend active. A restart must not
	// change the history: log below runs after it.
	if code, out, errs := runCLI(t, "status", dsn); code != ExitOK {
		t.Fatalf("status after the writes: exit %d\n%s%s", code, out, errs)
	}

	code, out, errs := runCLI(t, "log", "--json", dsn, "kv/1")
	if code != ExitOK {
		t.Fatalf("log --json: exit %d\n%s%s", code, out, errs)
	}
	var entries []calibrated.HistoryEntry
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatalf("log --json output: %v\n%s", err, out)
	}
	// The row's own entries, leaving out those that touched it by holding
	// the whole table or everything (the CREATE TABLE).
	var own []calibrated.HistoryEntry
	for i, e := range entries {
		if i > 0 && e.Seq <= entries[i-1].Seq {
			t.Errorf("log --json: entry %d at %d after %d: not in ledger order", i, e.Seq, entries[i-1].Seq)
		}
		if slices.Contains(e.Keys, "kv/1") {
			own = append(own, e)
		}
		if slices.Contains(e.Keys, "kv/2") {
			t.Errorf("log --json: entry %d of row kv/2 in the history of kv/1: %+v", e.Seq, e)
		}
	}
	wantStmt := []string{"INSERT", "UPDATE", "UPDATE"}
	wantArg := []string{"one", "two", "it's three"}
	if len(own) != len(wantStmt) {
		t.Fatalf("log --json: %d entries of kv/1, want %d: %+v", len(own), len(wantStmt), entries)
	}
	for i, e := range own {
		if e.Kind != "write" || e.At.IsZero() || e.Origin == "" || len(e.Stmts) != 1 || len(e.Args) != 1 ||
			!strings.HasPrefix(e.Stmts[0], wantStmt[i]) || !slices.Contains(e.Args[0], any(wantArg[i])) {
			t.Errorf("log --json: entry %d: %+v; want a write %s with argument %q", i, e, wantStmt[i], wantArg[i])
		}
		for _, b := range []string{"a", "b"} {
			if got := e.Outcomes[b]; got != "ok (1 rows)" {
				t.Errorf("log --json: entry %d on %s: outcome %q, want ok (1 rows)", e.Seq, b, got)
			}
		}
		if i > 0 && !own[i-1].At.Before(e.At) && !own[i-1].At.Equal(e.At) {
			t.Errorf("log --json: entry %d stamped %v, before entry %d at %v", e.Seq, e.At, own[i-1].Seq, own[i-1].At)
		}
	}

	// Text: the statements, their arguments as SQL literals, each outcome.
	code, out, errs = runCLI(t, "log", dsn, "kv/1")
	if code != ExitOK {
		t.Fatalf("log: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"kv/1: ", "UPDATE kv SET v = $1 WHERE k = $2", "$1 = 'it''s three', $2 = 1", "ok (1 rows)"} {
		if !strings.Contains(out, want) {
			t.Errorf("log: no %q in\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "'two'"), strings.Index(out, "'it''s three'"); i < 0 || j < i {
		t.Errorf("log: versions not in order:\n%s", out)
	}

	// The whole table holds both rows.
	code, out, _ = runCLI(t, "log", "--json", dsn, "kv")
	entries = nil
	if err := json.Unmarshal([]byte(out), &entries); code != ExitOK || err != nil {
		t.Fatalf("log --json kv: exit %d, %v\n%s", code, err, out)
	}
	if n := len(entries); n < 4 {
		t.Errorf("log --json kv: %d entries, want at least the 4 writes", n)
	}

	// ledger=local: a new process has no history, and says why.
	code, out, errs = runCLI(t, "log", dbtest.DSN(urls), "kv/1")
	if code != ExitOK || !strings.Contains(out, "no entries") || !strings.Contains(errs, "ledger=file:///DIR") {
		t.Errorf("log, ledger=local: exit %d\n%s%s", code, out, errs)
	}
}

func TestLogUsage(t *testing.T) {
	t.Parallel()
	const dsn = "db.a=postgres://h/x"
	for _, args := range [][]string{
		nil,
		{dsn},
		{dsn, "kv/1", "kv/2"},
		{dsn, ""},
		{dsn, "/7"},
		{dsn, "kv/"},
		{dsn, "*/7"},
		{dsn, "my table/7"},
		{"db.a=http://u:pw@h/x", "kv/1"},
		{"-nope", dsn, "kv/1"},
	} {
		code, _, errs := runCLI(t, append([]string{"log"}, args...)...)
		if code != ExitUsage || errs == "" {
			t.Errorf("log %q: exit %d, stderr %q; want %d and a message", args, code, errs, ExitUsage)
		}
		if strings.Contains(errs, ":pw@") {
			t.Errorf("log %q: password shown: %q", args, errs)
		}
	}
	code, _, errs := runCLI(t, "log", "-h")
	if code != ExitOK || !strings.Contains(errs, "usage: calibrated log") || !strings.Contains(errs, "ledger=local") || !strings.Contains(errs, "-json") {
		t.Errorf("log -h: exit %d, %q", code, errs)
	}
}
