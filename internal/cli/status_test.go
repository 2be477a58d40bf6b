package cli

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calibrated/calibrated"
	"github.com/calibrated/calibrated/internal/dbtest"
)

// runCLI runs "calibrated args…" and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code = Main(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestStatus(t *testing.T) {
	t.Parallel()
	urls := dbtest.Postgres(t, 3)
	dsn := dbtest.DSN(urls)

	code, out, errs := runCLI(t, "status", "--json", dsn)
	if code != ExitOK {
		t.Fatalf("status --json: exit %d\n%s%s", code, out, errs)
	}
	var st calibrated.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json output: %v\n%s", err, out)
	}
	if st.Anchor != "a" || st.Ledger == "" || len(st.Backends) != 3 {
		t.Fatalf("status --json: %+v", st)
	}
	for i, b := range st.Backends {
		if want := string(rune('a' + i)); b.Name != want || b.State != "active" || b.Queued != 0 || b.Reading != 0 {
			t.Errorf("status --json: backend %d is %+v, want %s active and idle", i, b, want)
		}
	}

	// Flags may follow the DSN; the text form has a line per backend.
	code, out, errs = runCLI(t, "status", dsn, "-wait", "0s")
	if code != ExitOK {
		t.Fatalf("status: exit %d\n%s%s", code, out, errs)
	}
	lines := strings.Split(out, "\n")
	for _, b := range []string{"a", "b", "c"} {
		if !slices.ContainsFunc(lines, func(l string) bool {
			return slices.Equal(strings.Fields(l), []string{b, "active", "0", "0", "this", "process"})
		}) {
			t.Errorf("status: no line for %s active:\n%s", b, out)
		}
	}
	if !strings.Contains(out, "anchor   a") || !strings.Contains(out, "OK: 3 of 3 backends active") {
		t.Errorf("status: no anchor or verdict:\n%s", out)
	}

	// a applied an entry of a ledger that is gone, b and c did not: with
	// ledger=local, b and c are stale at start, and status says so.
	dbs := dbtest.Open(t, urls)
	if _, err := dbs[0].Exec(`INSERT INTO calibrated_applied (ledger, seq) VALUES ('gone', 1)`); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runCLI(t, "status", "--json", dsn)
	if code != ExitFailed {
		t.Fatalf("stale backends, --json: exit %d, want %d\n%s%s", code, ExitFailed, out, errs)
	}
	st = calibrated.Status{}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json output: %v\n%s", err, out)
	}
	var states []string
	for _, b := range st.Backends {
		states = append(states, b.Name+":"+b.State)
	}
	if !slices.Equal(states, []string{"a:active", "b:stale", "c:stale"}) {
		t.Errorf("stale backends: states %v", states)
	}
	code, out, _ = runCLI(t, "status", dsn)
	if code != ExitFailed || !strings.Contains(out, "NOT OK: 2 of 3 backends not active") ||
		!strings.Contains(out, "calibrated resync --from a --to b") || !strings.Contains(out, "calibrated resync --from a --to c") {
		t.Errorf("stale backends, text: exit %d\n%s", code, out)
	}
}

func TestStatusUnreachable(t *testing.T) {
	t.Parallel()
	dsn := `db.a=postgres://app:s3cretpw@127.0.0.1:1/x?sslmode=disable db.b='postgres://app:0th3rpw@127.0.0.1:1/y?sslmode=disable'`
	code, out, errs := runCLI(t, "status", "--json", dsn)
	if code != ExitError {
		t.Fatalf("unreachable: exit %d, want %d\n%s%s", code, ExitError, out, errs)
	}
	if !strings.Contains(errs, `backend "a"`) {
		t.Errorf("unreachable: message does not name the backend: %q", errs)
	}
	if strings.Contains(errs+out, "s3cretpw") || strings.Contains(errs+out, "0th3rpw") {
		t.Errorf("unreachable: password shown: %q", errs+out)
	}
}

func TestStatusUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		nil,
		{"db.a=postgres://h/x", "db.b=postgres://h/y"},
		{"db.a=postgres://h/x", "read=sideways"},
		{"-wait", "-1s", "db.a=postgres://h/x"},
		{"-nope", "db.a=postgres://h/x"},
	} {
		code, _, errs := runCLI(t, append([]string{"status"}, args...)...)
		if code != ExitUsage || errs == "" {
			t.Errorf("status %q: exit %d, stderr %q; want %d and a message", args, code, errs, ExitUsage)
		}
	}
	code, _, errs := runCLI(t, "status", "-h")
	if code != ExitOK || !strings.Contains(errs, "usage: calibrated status") || !strings.Contains(errs, "calibrated.StatusOf") || !strings.Contains(errs, "-json") {
		t.Errorf("status -h: exit %d, %q", code, errs)
	}
	if code, out, _ := runCLI(t, "help"); code != ExitOK || !strings.Contains(out, "status") || !strings.Contains(out, "log") || !strings.Contains(out, "resync") {
		t.Errorf("help does not list status, log and resync:\n%s", out)
	}
}

// TestStatusRemote: on a NATS ledger, status lists the processes that
// share it and names the one applying to each backend: the running
// application, not the status command, which finds the leases held.
func TestStatusRemote(t *testing.T) {
	urls := dbtest.Postgres(t, 2)
	ledger, _ := dbtest.NATSLedger(t)
	dsn := dbtest.DSN(urls, "ledger='"+ledger+"?durability=relaxed'")
	cfg, err := calibrated.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	app, err := calibrated.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(app)
	defer db.Close()
	st, err := calibrated.StatusOf(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "status", "--json", dsn)
	if code != ExitOK {
		t.Fatalf("status --json: exit %d\n%s%s", code, out, errs)
	}
	var got calibrated.Status
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if !got.Shared || got.Process == st.Process {
		t.Fatalf("status ran as %q (shared %v), the application as %q", got.Process, got.Shared, st.Process)
	}
	names := map[string]bool{}
	for _, p := range got.Processes {
		names[p.Name] = true
	}
	if !names[st.Process] || !names[got.Process] {
		t.Errorf("processes %+v do not list both the application %q and status %q", got.Processes, st.Process, got.Process)
	}
	for _, b := range got.Backends {
		if b.Applier != st.Process {
			t.Errorf("backend %s applied by %q, want the application %q", b.Name, b.Applier, st.Process)
		}
	}
	code, out, errs = runCLI(t, "status", dsn, "-wait", "0s")
	if code != ExitOK || !strings.Contains(out, "process  "+st.Process+", last seen") || !strings.Contains(out, "(this one)") {
		t.Errorf("status text does not list the processes: exit %d\n%s%s", code, out, errs)
	}
	for _, b := range []string{"a", "b"} {
		if !slices.ContainsFunc(strings.Split(out, "\n"), func(l string) bool {
			return slices.Equal(strings.Fields(l), []string{b, "active", "0", "0", st.Process})
		}) {
			t.Errorf("status text: no line for %s applied by %s:\n%s", b, st.Process, out)
		}
	}
}
