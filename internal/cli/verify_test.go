package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/verify"
)

// runVerify runs "calibrated verify args…" and returns its exit code and output.
func runVerify(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errb bytes.Buffer
	code = Main(ctx, append([]string{"verify"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestVerify(t *testing.T) {
	t.Parallel()
	urls := dbtest.Postgres(t, 2)
	dbs := dbtest.Open(t, urls)
	for i, db := range dbs {
		for _, q := range []string{
			`CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL)`,
			`INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 20) g`,
			`CREATE TABLE logs (line text)`,
			`CREATE TABLE calibrated_applied (ledger text, seq bigint, PRIMARY KEY (ledger, seq))`,
			`INSERT INTO logs VALUES ('private to ` + string(rune('a'+i)) + `')`,
			`INSERT INTO calibrated_applied VALUES ('l', ` + string(rune('1'+i)) + `)`,
		} {
			if _, err := db.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	dsn := dbtest.DSN(urls, "private=logs")

	code, out, errs := runVerify(t, dsn)
	if code != ExitOK {
		t.Fatalf("identical: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "OK: 1 tables identical on 2 backends") || strings.Contains(out, "logs") || strings.Contains(out, "calibrated_applied") {
		t.Errorf("identical: output\n%s", out)
	}

	if _, err := dbs[1].Exec(`UPDATE accounts SET balance = 99 WHERE id = 7`); err != nil {
		t.Fatal(err)
	}
	code, out, errs = runVerify(t, "--json", "--keys", dsn)
	if code != ExitFailed {
		t.Fatalf("changed row, --json: exit %d, want %d\n%s%s", code, ExitFailed, out, errs)
	}
	var rep verify.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, out)
	}
	if got := rep.DifferingTables(); !slices.Equal(got, []string{"accounts"}) || len(rep.Tables) != 1 {
		t.Fatalf("--json: differing %v in %+v", got, rep.Tables)
	}
	acc := rep.Tables[0]
	if acc.Rows["a"] != 20 || acc.Rows["b"] != 20 || acc.Checksums["a"] == acc.Checksums["b"] {
		t.Errorf("--json: accounts %+v", acc)
	}
	if len(acc.Keys) != 1 || acc.Keys[0].Key != "7" || acc.Keys[0].Backends["a"] == acc.Keys[0].Backends["b"] || acc.Keys[0].Backends["b"] == "" {
		t.Errorf("--json: keys %+v, want key 7 differing", acc.Keys)
	}

	// Flags may follow the DSN.
	code, out, _ = runVerify(t, dsn, "-keys")
	if code != ExitFailed {
		t.Errorf("changed row, text: exit %d, want %d", code, ExitFailed)
	}
	lines := strings.Split(out, "\n")
	for _, b := range []string{"a", "b"} {
		if !slices.ContainsFunc(lines, func(l string) bool {
			f := strings.Fields(l)
			return len(f) == 5 && f[0] == "accounts" && f[1] == b && f[2] == "20" && f[4] == "DIFFERS"
		}) {
			t.Errorf("text: no DIFFERS line for accounts on %s:\n%s", b, out)
		}
	}
	if !slices.ContainsFunc(lines, func(l string) bool { f := strings.Fields(l); return len(f) == 3 && f[0] == "7" }) ||
		!strings.Contains(out, "DIFFERS: 1 of 1 tables differ across 2 backends: accounts") {
		t.Errorf("text: no key 7 or verdict:\n%s", out)
	}

	for _, table := range []string{"nope", "logs"} {
		if code, _, errs := runVerify(t, "--table", table, dsn); code != ExitUsage || !strings.Contains(errs, table) {
			t.Errorf("--table %s: exit %d, %q; want %d", table, code, errs, ExitUsage)
		}
	}
}

func TestVerifyUnreachable(t *testing.T) {
	t.Parallel()
	dsn := `db.a=postgres://app:s3cretpw@127.0.0.1:1/x?sslmode=disable db.b='pq:postgres://app:0th3rpw@127.0.0.1:1/x?sslmode=disable'`
	code, out, errs := runVerify(t, "--json", dsn)
	if code != ExitError {
		t.Fatalf("unreachable: exit %d, want %d\n%s%s", code, ExitError, out, errs)
	}
	if !strings.Contains(errs, `backend "a"`) || !strings.Contains(errs, `backend "b"`) {
		t.Errorf("unreachable: message does not name the backends: %q", errs)
	}
	if strings.Contains(errs+out, "s3cretpw") || strings.Contains(errs+out, "0th3rpw") {
		t.Errorf("unreachable: password shown: %q", errs+out)
	}
}

func TestVerifyUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		nil,
		{"db.a=postgres://h/x", "db.b=postgres://h/y"},
		{"db.a=http://u:pw@h/x"},
		{"-max-keys", "0", "db.a=postgres://h/x"},
		{"-nope", "db.a=postgres://h/x"},
		{"-table", "", "db.a=postgres://h/x"},
	} {
		code, _, errs := runVerify(t, args...)
		if code != ExitUsage || errs == "" {
			t.Errorf("verify %q: exit %d, stderr %q; want %d and a message", args, code, errs, ExitUsage)
		}
	}
	if code, _, errs := runVerify(t, "-h"); code != ExitOK || !strings.Contains(errs, "usage: calibrated verify") || !strings.Contains(errs, "-keys") {
		t.Errorf("verify -h: exit %d, %q", code, errs)
	}
	var out, errb bytes.Buffer
	if Main(context.Background(), []string{"help"}, &out, &errb); !strings.Contains(out.String(), "verify") {
		t.Errorf("help does not list verify:\n%s", out.String())
	}
}
