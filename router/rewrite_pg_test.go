package router

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
)

// TestRewrittenPostgres runs statements and their rewrites on a real server
// (opt-in: CALIBRATED_TEST_POSTGRES). Inside one transaction PostgreSQL's
// time functions are fixed, so a rewrite given those values must write the
// same rows as the original; per-row functions must write the values given.
func TestRewrittenPostgres(t *testing.T) {
	db := dbtest.Open(t, dbtest.Postgres(t, 1))[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, q := range []string{
		`CREATE TABLE a (k int, tz timestamptz, ts timestamp, d date, tm time, ttz timetz, note text)`,
		`CREATE TABLE b (LIKE a)`,
		`CREATE TABLE c (k int PRIMARY KEY, f float8, u uuid, tz timestamptz, note text)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	same := []struct {
		text string // {t} names the table
		args []any
	}{
		{text: `INSERT INTO {t} (k, tz, ts, d, tm, ttz) VALUES (1, now(), LOCALTIMESTAMP, CURRENT_DATE, LOCALTIME, CURRENT_TIME)`},
		{text: `INSERT INTO {t} (k, tz, ts, d, tm, ttz) VALUES ($1, CURRENT_TIMESTAMP(2), LOCALTIMESTAMP(0), 'tomorrow'::date, LOCALTIME(3), CURRENT_TIME(1))`, args: []any{2}},
		{text: `INSERT INTO {t} (k, tz, ts, d, tm, ttz) VALUES (3, 'now'::timestamptz, timestamp 'today', date 'yesterday', 'now'::time, 'now'::timetz)`},
		{text: `INSERT INTO {t} (k, tz, ts, d) VALUES (4, CAST('yesterday' AS timestamptz), 'tomorrow'::timestamp(0), CAST('now' AS date))`},
		{text: `INSERT INTO {t} (k, tz, ts, note) VALUES (5, transaction_timestamp(), 'now'::timestamp, now()::text || CURRENT_DATE)`},
		{text: `UPDATE {t} SET ts = LOCALTIMESTAMP(1), note = CURRENT_DATE::text WHERE k = $1 AND tz <= now()`, args: []any{1}},
	}
	for _, tt := range same {
		orig := analyze(t, strings.ReplaceAll(tt.text, "{t}", "a"))
		a := analyze(t, strings.ReplaceAll(tt.text, "{t}", "b"))
		rw, err := a.Rewritten()
		if rw == nil || err != nil {
			t.Fatalf("%s: Rewritten = %v, %v", a.Text, rw, err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var (
			now             time.Time
			local, day, tod string
			exec            = func(q string, args ...any) {
				if _, err := tx.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		)
		exec(`SET LOCAL TimeZone = 'America/New_York'`)
		if err := tx.QueryRowContext(ctx, `SELECT now(), localtimestamp::text, current_date::text, localtime::text`).Scan(&now, &local, &day, &tod); err != nil {
			t.Fatal(err)
		}
		args := tt.args
		for _, g := range rw.Gens {
			switch g {
			case GenTimestamptz:
				args = append(args, now)
			case GenTimestamp:
				args = append(args, local)
			case GenDate:
				args = append(args, day)
			case GenTime:
				args = append(args, tod)
			default:
				t.Fatalf("%s: unexpected %v", rw.Text, g)
			}
		}
		exec(orig.Text, tt.args...)
		exec(rw.Text, args...)
		var diff int
		if err := tx.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM (TABLE a EXCEPT TABLE b) x) + (SELECT count(*) FROM (TABLE b EXCEPT TABLE a) y)`).Scan(&diff); err != nil {
			t.Fatal(err)
		}
		if diff != 0 {
			t.Errorf("%s\n and %s %v\nwrote different rows", orig.Text, rw.Text, args)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}

	at := time.Date(2024, 2, 29, 23, 30, 15, 123456000, time.UTC)
	const u = "5f0c6a1e-8a4b-4c2d-9e1f-0123456789ab"
	a := analyze(t, `INSERT INTO c (k, f, u, tz, note) VALUES ($1, random(), gen_random_uuid(), clock_timestamp(), timeofday()) RETURNING k`)
	rw, err := a.Rewritten()
	if err != nil {
		t.Fatal(err)
	}
	var k int
	if err := db.QueryRowContext(ctx, rw.Text, 7, 0.25, u, at, at).Scan(&k); err != nil {
		t.Fatalf("%s: %v", rw.Text, err)
	}
	var ok bool
	q := `SELECT f = 0.25 AND u = $1 AND tz = $2 AND note::timestamptz = $2 AND note ~ '^\w{3} \w{3} \d\d \d\d:\d\d:\d\d\.\d{6} \d{4} \w+$' FROM c WHERE k = 7`
	if err := db.QueryRowContext(ctx, q, u, at).Scan(&ok); err != nil || !ok {
		t.Errorf("%s wrote other values: %v, %v", rw.Text, ok, err)
	}
	a = analyze(t, `UPDATE c SET f = random(), u = uuid_generate_v4() WHERE k = $1`)
	if rw, err = a.Rewritten(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, rw.Text, 7, 0.5, u); err != nil {
		t.Fatalf("%s: %v", rw.Text, err)
	}
}
