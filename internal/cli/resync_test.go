package cli

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/calibrated/calibrated/internal/dbtest"
)

func TestResync(t *testing.T) {
	t.Parallel()
	urls := dbtest.Postgres(t, 2)
	dsn := dbtest.DSN(urls)
	db, err := sql.Open("calibrated", dsn)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE kv (k int PRIMARY KEY, v text NOT NULL)`,
		`INSERT INTO kv SELECT g, 'v' || g FROM generate_series(1, 50) g ORDER BY g`,
	} {
		if _, err := db.Exec(q); err != nil {
			db.Close()
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	dbs := dbtest.Open(t, urls)
	for _, q := range []string{`UPDATE kv SET v = 'drifted' WHERE k = 7`, `DELETE FROM kv WHERE k = 8`} {
		if _, err := dbs[1].Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if dbtest.Checksum(t, dbs[0], "kv") == dbtest.Checksum(t, dbs[1], "kv") {
		t.Fatal("b does not differ before the resync")
	}

	code, out, errs := runCLI(t, "resync", "--from", "a", "--to", "b", dsn)
	if code != ExitOK {
		t.Fatalf("resync: exit %d\n%s%s", code, out, errs)
	}
	if !strings.Contains(out, "kv: 50 rows copied") || !strings.Contains(out, "OK: b rebuilt from a") {
		t.Errorf("resync: output\n%s", out)
	}
	dbtest.Converged(t, dbs, "kv")
	var v string
	if err := dbs[1].QueryRow(`SELECT v FROM kv WHERE k = 7`).Scan(&v); err != nil || v != "v7" {
		t.Errorf("b after resync: k=7 is %q, %v; want v7", v, err)
	}

	// b rebuilt is identical, so status finds every backend active.
	if code, out, errs := runCLI(t, "status", dsn); code != ExitOK {
		t.Errorf("status after resync: exit %d\n%s%s", code, out, errs)
	}
}

func TestResyncFails(t *testing.T) {
	t.Parallel()
	urls := dbtest.Postgres(t, 2)
	// Resync copies with pgx; a lib/pq backend cannot be rebuilt.
	dsn := dbtest.DSN(urls[:1]) + " db.b='pq:" + urls[1] + "'"
	code, out, errs := runCLI(t, "resync", "--from", "a", "--to", "b", dsn)
	if code != ExitError {
		t.Fatalf("resync to lib/pq: exit %d, want %d\n%s%s", code, ExitError, out, errs)
	}
	if !strings.Contains(errs, "pgx") || !strings.Contains(errs, "b was not rebuilt and stays stale") {
		t.Errorf("resync to lib/pq: message %q", errs)
	}

	unreachable := `db.a=postgres://app:s3cretpw@127.0.0.1:1/x?sslmode=disable db.b=postgres://app:s3cretpw@127.0.0.1:1/y?sslmode=disable`
	code, out, errs = runCLI(t, "resync", "--from", "a", "--to", "b", unreachable)
	if code != ExitError || !strings.Contains(errs, `backend "a"`) || strings.Contains(out+errs, "s3cretpw") {
		t.Errorf("resync, unreachable: exit %d, want %d, backend named, password hidden\n%s%s", code, ExitError, out, errs)
	}
}

func TestResyncUsage(t *testing.T) {
	t.Parallel()
	const dsn = "db.a=postgres://h/x db.b=postgres://h/y"
	for _, args := range [][]string{
		nil,
		{dsn},
		{"--from", "a", dsn},
		{"--to", "b", dsn},
		{"--from", "a", "--to", "a", dsn},
		{"--from", "a", "--to", "c", dsn},
		{"--from", "a", "--to", "b"},
		{"--from", "a", "--to", "b", dsn, dsn},
		{"--from", "a", "--to", "b", "db.a=http://u:pw@h/x"},
		{"-nope", dsn},
	} {
		code, _, errs := runCLI(t, append([]string{"resync"}, args...)...)
		if code != ExitUsage || errs == "" {
			t.Errorf("resync %q: exit %d, stderr %q; want %d and a message", args, code, errs, ExitUsage)
		}
		if strings.Contains(errs, ":pw@") {
			t.Errorf("resync %q: password shown: %q", args, errs)
		}
	}
	if _, _, errs := runCLI(t, "resync", "--from", "a", "--to", "c", dsn); !strings.Contains(errs, `no backend "c"`) || !strings.Contains(errs, `"a", "b"`) {
		t.Errorf("resync --to c: %q does not name the backend and list the DSN's", errs)
	}
	code, _, errs := runCLI(t, "resync", "-h")
	if code != ExitOK || !strings.Contains(errs, "usage: calibrated resync") || !strings.Contains(errs, "-from") {
		t.Errorf("resync -h: exit %d, %q", code, errs)
	}
}
