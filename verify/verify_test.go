package verify

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calibrated/calibrated"
	"github.com/calibrated/calibrated/internal/dbtest"
)

// schema is what every backend starts with: tables in two schemas, with and
// without primary keys, composite and text keys, a column named t, names
// that need quoting, the private table logs and the driver's own table.
const schema = `
CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2) NOT NULL,
	opened timestamptz NOT NULL, born date, cash money);
CREATE SCHEMA shop;
CREATE TABLE shop.items ("Sku" text, n int, t text, PRIMARY KEY (n, "Sku"));
CREATE TABLE events (kind text, at timestamptz);
CREATE TABLE "Odd ""Name""" (id int PRIMARY KEY);
CREATE TABLE empty (id int PRIMARY KEY);
CREATE TABLE logs (id int PRIMARY KEY, line text);
CREATE TABLE calibrated_applied (ledger text NOT NULL, seq bigint NOT NULL, PRIMARY KEY (ledger, seq));
INSERT INTO accounts SELECT g, 'owner ' || g, g * 10.5, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 hour',
	date '2000-01-01' + g, g FROM generate_series(1, 50) g;
INSERT INTO shop.items VALUES ('é-1', 1, 'x'), ('a-1', 1, 'y'), ('Z', 2, NULL), ('b', 10, 'z');
INSERT INTO events VALUES ('open', '2024-05-01 12:00+02'), ('open', '2024-05-01 12:00+02'), ('close', NULL);
INSERT INTO "Odd ""Name""" VALUES (1), (2);
`

// sharedTables are the tables verify compares in schema.
var sharedTables = []string{`Odd "Name"`, "accounts", "empty", "events", "shop.items"}

// setup creates three identical backends a, b and c, except for the tables
// verify must ignore (logs, private, and calibrated_applied) and for the
// settings that change a row's text, and returns their Config and handles.
// Backend b goes through lib/pq when the URL allows it.
func setup(t *testing.T) (*calibrated.Config, []*sql.DB) {
	t.Helper()
	urls := dbtest.Postgres(t, 3)
	dbs := dbtest.Open(t, urls)
	for i, db := range dbs {
		exec(t, db, schema)
		exec(t, db, fmt.Sprintf(`INSERT INTO logs VALUES (%d, 'only on %c')`, i, 'a'+i))
		exec(t, db, fmt.Sprintf(`INSERT INTO calibrated_applied VALUES ('ledger', %d)`, i+1))
	}
	exec(t, dbs[1], `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET TimeZone = %L', current_database(), 'Asia/Tokyo'); END $$`)
	exec(t, dbs[2], `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET DateStyle = %L', current_database(), 'German, DMY'); END $$`)
	exec(t, dbs[2], `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET extra_float_digits = 0', current_database()); END $$`)
	dsnURLs := slices.Clone(urls)
	if strings.Contains(urls[1], "sslmode=") {
		dsnURLs[1] = "pq:" + urls[1]
	}
	cfg, err := calibrated.ParseDSN(dbtest.DSN(dsnURLs, "private=logs"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg, dbs
}

func exec(t *testing.T, db *sql.DB, q string) {
	t.Helper()
	if _, err := db.Exec(q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func mustRun(t *testing.T, cfg *calibrated.Config, opts Options) *Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// tableReport returns the report on name, failing t if there is none.
func tableReport(t *testing.T, rep *Report, name string) TableReport {
	t.Helper()
	for _, tr := range rep.Tables {
		if tr.Table == name {
			return tr
		}
	}
	t.Fatalf("no report on table %q in %+v", name, rep.Tables)
	return TableReport{}
}

func names(rep *Report) []string {
	var n []string
	for _, tr := range rep.Tables {
		n = append(n, tr.Table)
	}
	return n
}

func TestIdentical(t *testing.T) {
	t.Parallel()
	cfg, _ := setup(t)
	rep := mustRun(t, cfg, Options{Keys: true})
	if rep.Differs() || rep.DifferingTables() != nil {
		t.Fatalf("identical backends reported as differing: %v\n%+v", rep.DifferingTables(), rep.Tables)
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(rep.Backends, want) {
		t.Errorf("Backends = %v, want %v", rep.Backends, want)
	}
	// logs (private) and calibrated_applied differ, and are not compared.
	if got := names(rep); !slices.Equal(got, sharedTables) {
		t.Errorf("tables = %q, want %q", got, sharedTables)
	}
	wantRows := map[string]int64{"accounts": 50, "shop.items": 4, "events": 3, `Odd "Name"`: 2, "empty": 0}
	for _, tr := range rep.Tables {
		sum := tr.Checksums["a"]
		if len(tr.Checksums) != 3 || len(tr.Keys) != 0 {
			t.Errorf("%s: checksums %v, keys %v", tr.Table, tr.Checksums, tr.Keys)
		}
		for b, s := range tr.Checksums {
			if s != sum || tr.Rows[b] != wantRows[tr.Table] {
				t.Errorf("%s on %s: %d rows, checksum %q; want %d rows, checksum %q", tr.Table, b, tr.Rows[b], s, wantRows[tr.Table], sum)
			}
		}
		if (sum == ChecksumEmpty) != (tr.Table == "empty") || len(sum) != 32 && sum != ChecksumEmpty {
			t.Errorf("%s: checksum %q", tr.Table, sum)
		}
	}
}

func TestChangedRow(t *testing.T) {
	t.Parallel()
	cfg, dbs := setup(t)
	exec(t, dbs[1], `UPDATE accounts SET balance = balance + 0.01 WHERE id = 7`)
	exec(t, dbs[2], `UPDATE shop.items SET t = 'changed' WHERE "Sku" = 'é-1'`)
	rep := mustRun(t, cfg, Options{Keys: true})
	if !rep.Differs() {
		t.Fatal("a changed row went unnoticed")
	}
	if got, want := rep.DifferingTables(), []string{"accounts", "shop.items"}; !slices.Equal(got, want) {
		t.Fatalf("DifferingTables = %v, want %v", got, want)
	}
	acc := tableReport(t, rep, "accounts")
	if acc.Checksums["a"] != acc.Checksums["c"] || acc.Checksums["a"] == acc.Checksums["b"] {
		t.Errorf("accounts checksums %v: want only b to differ", acc.Checksums)
	}
	if acc.Rows["b"] != 50 {
		t.Errorf("accounts rows on b = %d, want 50", acc.Rows["b"])
	}
	checkKeys(t, acc, "7", "b")
	checkKeys(t, tableReport(t, rep, "shop.items"), "1,é-1", "c")
	if tr := tableReport(t, rep, "events"); tr.Differs || tr.Keys != nil {
		t.Errorf("events: %+v", tr)
	}

	// Without Keys no key is listed; Tables limits the comparison.
	rep = mustRun(t, cfg, Options{Tables: []string{"ACCOUNTS", "events"}})
	if got := names(rep); !slices.Equal(got, []string{"accounts", "events"}) {
		t.Errorf("Tables accounts, events: compared %q", got)
	}
	if tr := tableReport(t, rep, "accounts"); !tr.Differs || tr.Keys != nil {
		t.Errorf("accounts without Keys: %+v", tr)
	}
}

// checkKeys checks that tr lists key alone, present everywhere, with only
// backend odd's row differing.
func checkKeys(t *testing.T, tr TableReport, key, odd string) {
	t.Helper()
	if len(tr.Keys) != 1 || tr.Keys[0].Key != key {
		t.Fatalf("%s: keys %+v, want just %q", tr.Table, tr.Keys, key)
	}
	k := tr.Keys[0].Backends
	ref := "a"
	if odd == "a" {
		ref = "b"
	}
	for b, h := range k {
		if len(h) != 32 || (b == odd) != (h != k[ref]) {
			t.Errorf("%s key %s: digests %v, want only %s's to differ", tr.Table, key, k, odd)
		}
	}
	if len(k) != 3 {
		t.Errorf("%s key %s: digests %v, want one per backend", tr.Table, key, k)
	}
}

func TestMissingRow(t *testing.T) {
	t.Parallel()
	cfg, dbs := setup(t)
	exec(t, dbs[2], `DELETE FROM shop.items WHERE n = 2`)
	exec(t, dbs[0], `INSERT INTO accounts VALUES (51, 'late', 0, '2024-01-01', NULL, 0)`)
	exec(t, dbs[0], `INSERT INTO events VALUES ('close', NULL)`) // a duplicate, in a table without a key
	rep := mustRun(t, cfg, Options{Keys: true})
	if got, want := rep.DifferingTables(), []string{"accounts", "events", "shop.items"}; !slices.Equal(got, want) {
		t.Fatalf("DifferingTables = %v, want %v", got, want)
	}
	items := tableReport(t, rep, "shop.items")
	if items.Rows["c"] != 3 || items.Rows["a"] != 4 {
		t.Errorf("shop.items rows %v", items.Rows)
	}
	wantAbsent(t, items, "2,Z", "c")
	acc := tableReport(t, rep, "accounts")
	wantAbsent(t, acc, "51", "b", "c")
	ev := tableReport(t, rep, "events")
	if len(ev.Keys) != 1 || ev.Keys[0].Key != "(close,)" || !strings.HasSuffix(ev.Keys[0].Backends["a"], "*2") ||
		ev.Keys[0].Backends["b"] != strings.TrimSuffix(ev.Keys[0].Backends["a"], "*2") {
		t.Errorf("events keys %+v, want (close,) twice on a, once elsewhere", ev.Keys)
	}
}

// wantAbsent checks that tr lists key alone, absent from the backends named.
func wantAbsent(t *testing.T, tr TableReport, key string, absent ...string) {
	t.Helper()
	if len(tr.Keys) != 1 || tr.Keys[0].Key != key {
		t.Fatalf("%s: keys %+v, want just %q", tr.Table, tr.Keys, key)
	}
	for b, h := range tr.Keys[0].Backends {
		if (h == "") != slices.Contains(absent, b) {
			t.Errorf("%s key %s: digests %v, want it absent from %v only", tr.Table, key, tr.Keys[0].Backends, absent)
		}
	}
}

func TestMissingTable(t *testing.T) {
	t.Parallel()
	cfg, dbs := setup(t)
	exec(t, dbs[0], `DROP TABLE events`)
	exec(t, dbs[1], `CREATE TABLE extra (id int PRIMARY KEY)`)
	exec(t, dbs[1], `CREATE TABLE shop.logs (id int PRIMARY KEY)`) // not private: another schema
	rep := mustRun(t, cfg, Options{Keys: true, MaxKeys: 1})
	if got, want := rep.DifferingTables(), []string{"events", "extra", "shop.logs"}; !slices.Equal(got, want) {
		t.Fatalf("DifferingTables = %v, want %v", got, want)
	}
	ev := tableReport(t, rep, "events")
	if ev.Checksums["a"] != ChecksumMissing || ev.Checksums["b"] != ev.Checksums["c"] || len(ev.Checksums["b"]) != 32 {
		t.Errorf("events checksums %v", ev.Checksums)
	}
	if _, ok := ev.Rows["a"]; ok || ev.Rows["b"] != 3 {
		t.Errorf("events rows %v", ev.Rows)
	}
	// MaxKeys 1: the first of the two keys, in byte order.
	wantAbsent(t, ev, "(close,)", "a")
	extra := tableReport(t, rep, "extra")
	want := map[string]string{"a": ChecksumMissing, "b": ChecksumEmpty, "c": ChecksumMissing}
	if !maps.Equal(extra.Checksums, want) || extra.Keys != nil {
		t.Errorf("extra: %+v, want checksums %v and no keys", extra, want)
	}
}

func TestTables(t *testing.T) {
	t.Parallel()
	cfg, _ := setup(t)
	ctx := context.Background()
	for _, name := range []string{"logs", "calibrated_applied", "nope", "shop"} {
		if _, err := Run(ctx, cfg, Options{Tables: []string{name}}); !errors.Is(err, ErrUnknownTable) || !strings.Contains(err.Error(), name) {
			t.Errorf("Tables %q: err %v, want ErrUnknownTable", name, err)
		}
	}
	rep := mustRun(t, cfg, Options{Tables: []string{"shop.items", `Odd "Name"`, "shop.items"}})
	if got, want := names(rep), []string{`Odd "Name"`, "shop.items"}; !slices.Equal(got, want) {
		t.Errorf("compared %q, want %q", got, want)
	}
}

// TestBlocks checks the block-wise checksum with blocks of 3 rows: a change
// in a later block is found, and the result is the same on every backend.
func TestBlocks(t *testing.T) {
	t.Parallel()
	cfg, dbs := setup(t)
	ctx := context.Background()
	rep, err := run(ctx, cfg, Options{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Differs() {
		t.Fatalf("identical: %v", rep.DifferingTables())
	}
	small := tableReport(t, rep, "accounts").Checksums["a"]
	if big := tableReport(t, mustRun(t, cfg, Options{}), "accounts").Checksums["a"]; big == small {
		t.Errorf("blocks of 3 and of %d rows give the same checksum %s", defaultBlockRows, big)
	}
	exec(t, dbs[2], `UPDATE accounts SET owner = 'x' WHERE id = 49`)
	if rep, err = run(ctx, cfg, Options{}, 3); err != nil {
		t.Fatal(err)
	}
	if got := rep.DifferingTables(); !slices.Equal(got, []string{"accounts"}) {
		t.Errorf("DifferingTables = %v, want [accounts]", got)
	}
}

// TestUnreachable needs no server: nothing listens on port 1.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	cfg, err := calibrated.ParseDSN(`db.a=postgres://app:hunter2secret@127.0.0.1:1/x?sslmode=disable db.b=pq:postgres://app:pqsecret9@127.0.0.1:1/x?sslmode=disable&connect_timeout=5`)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg, Options{})
	if err == nil {
		t.Fatalf("Run on closed ports: report %+v", rep)
	}
	var be *calibrated.BackendError
	if !errors.As(err, &be) || be.Op != "connect" {
		t.Errorf("err %v (%T), want a *BackendError from connect", err, err)
	}
	msg := err.Error()
	for _, s := range []string{`backend "a"`, `backend "b"`} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not name %s", msg, s)
		}
	}
	for _, pw := range []string{"hunter2secret", "pqsecret9"} {
		if strings.Contains(msg, pw) {
			t.Errorf("error %q contains a password", msg)
		}
	}
}

func TestNotPostgres(t *testing.T) {
	cfg, err := calibrated.ParseDSN(`db.a=sqlite:/tmp/x.db`)
	if err != nil {
		t.Fatal(err)
	}
	var ue *calibrated.UnsupportedError
	if _, err := Run(context.Background(), cfg, Options{}); !errors.As(err, &ue) {
		t.Errorf("sqlite: err %v, want *UnsupportedError", err)
	}
	if _, err := Run(context.Background(), nil, Options{}); err == nil {
		t.Error("nil Config: no error")
	}
}

func TestMerge(t *testing.T) {
	s := func(kv ...string) stream {
		var ss sliceStream
		for i := 0; i < len(kv); i += 2 {
			ss = append(ss, [2]string{kv[i], kv[i+1]})
		}
		return &ss
	}
	names := []string{"a", "b", "c"}
	got, err := merge(names, []stream{
		s("1", "x", "2", "x", "3", "x", "5", "x"),
		s("1", "x", "3", "y", "4", "x", "5", "x"),
		s("1", "x", "2", "x", "3", "x", "5", "x", "6", "x"),
	}, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []KeyDiff{
		{"2", map[string]string{"a": "x", "b": "", "c": "x"}},
		{"3", map[string]string{"a": "x", "b": "y", "c": "x"}},
		{"4", map[string]string{"a": "", "b": "x", "c": ""}},
		{"6", map[string]string{"a": "", "b": "", "c": "x"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merge = %+v\nwant %+v", got, want)
	}
	if got, _ := merge(names, []stream{s("1", "x", "2", "x"), s("1", "y", "2", "y"), s()}, 1); len(got) != 1 || got[0].Key != "1" {
		t.Errorf("limit 1: %+v", got)
	}
	if _, err := merge(names[:1], []stream{s("2", "x", "1", "x")}, 10); err == nil {
		t.Error("keys out of order: no error")
	}
}
