package router

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const (
	tz   = GenTimestamptz
	ts   = GenTimestamp
	date = GenDate
	tm   = GenTime
	rnd  = GenRandom
	uid  = GenUUID
)

// rewriteTests pair a statement with its rewrite: Text "" expects nil, and
// refuse names the fragment of the expected *UnsafeError.
var rewriteTests = []struct {
	text   string
	want   string
	gens   []Gen
	refuse string
}{
	// GORM and hand-written statements from the corpus.
	{text: `INSERT INTO "audit_logs" ("action","at") VALUES ($1,now()) RETURNING "id"`,
		want: `INSERT INTO "audit_logs" ("action","at") VALUES ($1,$2::timestamptz) RETURNING "id"`, gens: []Gen{tz}},
	{text: `UPDATE users SET updated_at = CURRENT_TIMESTAMP WHERE id = $1`,
		want: `UPDATE users SET updated_at = $2::timestamptz WHERE id = $1`, gens: []Gen{tz}},
	{text: `UPDATE "users" SET "updated_at"=NOW() WHERE id = $1 AND "users"."deleted_at" IS NULL`,
		want: `UPDATE "users" SET "updated_at"=$2::timestamptz WHERE id = $1 AND "users"."deleted_at" IS NULL`, gens: []Gen{tz}},
	{text: `INSERT INTO users (name, email, created_at) VALUES ($1, $2, NOW()) RETURNING id, created_at`,
		want: `INSERT INTO users (name, email, created_at) VALUES ($1, $2, $3::timestamptz) RETURNING id, created_at`, gens: []Gen{tz}},
	{text: `INSERT INTO "users" ("name","email","age","created_at","updated_at","deleted_at") VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT ("email") DO UPDATE SET "age"=users.age + 1,"updated_at"=CURRENT_TIMESTAMP RETURNING "id"`,
		want: `INSERT INTO "users" ("name","email","age","created_at","updated_at","deleted_at") VALUES ($1,$2,$3,$4,$5,$6) ON CONFLICT ("email") DO UPDATE SET "age"=users.age + 1,"updated_at"=$7::timestamptz RETURNING "id"`, gens: []Gen{tz}},
	{text: `INSERT INTO orders_archive SELECT * FROM orders WHERE created_at < now() - interval '90 days'`,
		want: `INSERT INTO orders_archive SELECT * FROM orders WHERE created_at < $1::timestamptz - interval '90 days'`, gens: []Gen{tz}},

	// Existing placeholders keep their numbers; new ones follow the highest.
	{text: `UPDATE t SET a = $1, b = now(), c = $3 WHERE id = $2`,
		want: `UPDATE t SET a = $1, b = $4::timestamptz, c = $3 WHERE id = $2`, gens: []Gen{tz}},

	// Time functions: one value per statement, so anywhere, and shared.
	{text: `INSERT INTO t (a, b, c, d) VALUES (now(), CURRENT_TIMESTAMP, transaction_timestamp(), pg_catalog.now())`,
		want: `INSERT INTO t (a, b, c, d) VALUES ($1::timestamptz, $1::timestamptz, $1::timestamptz, $1::timestamptz)`, gens: []Gen{tz}},
	{text: `INSERT INTO t (a, b) VALUES (now(), statement_timestamp()), (now(), statement_timestamp())`,
		want: `INSERT INTO t (a, b) VALUES ($1::timestamptz, $2::timestamptz), ($1::timestamptz, $2::timestamptz)`, gens: []Gen{tz, tz}},
	{text: `INSERT INTO t (d, t1, t2, ts) VALUES (CURRENT_DATE, CURRENT_TIME, LOCALTIME, LOCALTIMESTAMP)`,
		want: `INSERT INTO t (d, t1, t2, ts) VALUES ($1::date, $2::time::timetz, $2::time, $3::timestamp)`, gens: []Gen{date, tm, ts}},
	{text: `UPDATE t SET a = CURRENT_TIMESTAMP(3), b = LOCALTIMESTAMP (0), c = current_time(2), d = localtime( 1 ) WHERE x < 5`,
		want: `UPDATE t SET a = $1::timestamptz(3), b = $2::timestamp(0), c = $3::time::timetz(2), d = $3::time(1) WHERE x < 5`, gens: []Gen{tz, ts, tm}},
	{text: `UPDATE t SET n = n + 1 WHERE at < now() AND at > now() - interval '1 day'`,
		want: `UPDATE t SET n = n + 1 WHERE at < $1::timestamptz AND at > $1::timestamptz - interval '1 day'`, gens: []Gen{tz}},
	{text: `DELETE FROM sessions WHERE expires_at < (SELECT now())`,
		want: `DELETE FROM sessions WHERE expires_at < (SELECT $1::timestamptz)`, gens: []Gen{tz}},
	{text: `MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET at = now()`,
		want: `MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET at = $1::timestamptz`, gens: []Gen{tz}},
	{text: `UPDATE t SET a = now /* when */ () WHERE id = 1`,
		want: `UPDATE t SET a = $1::timestamptz WHERE id = 1`, gens: []Gen{tz}},
	{text: `EXPLAIN ANALYZE UPDATE t SET a = now() WHERE id = 1`,
		want: `EXPLAIN ANALYZE UPDATE t SET a = $1::timestamptz WHERE id = 1`, gens: []Gen{tz}},

	// Date/time literals that PostgreSQL reads as the current time.
	{text: `INSERT INTO t VALUES ('now'::timestamptz, 'now'::timestamp, 'now'::date, 'today'::date, 'now'::time, 'now'::timetz)`,
		want: `INSERT INTO t VALUES ($1::timestamptz, $2::timestamp, $3::date, $3::date, $4::time, $4::time::timetz)`, gens: []Gen{tz, ts, date, tm}},
	{text: `INSERT INTO t VALUES ('tomorrow'::date, 'yesterday'::timestamptz, 'today'::timestamp(0))`,
		want: `INSERT INTO t VALUES (($1::date + 1)::date, ($1::date - 1)::timestamptz, $1::date::timestamp(0))`, gens: []Gen{date}},
	{text: `INSERT INTO t VALUES (CAST('now' AS timestamp with time zone), CAST( 'Today' AS date))`,
		want: `INSERT INTO t VALUES (CAST($1 AS timestamp with time zone), CAST( $2 AS date))`, gens: []Gen{tz, date}},
	{text: `INSERT INTO t VALUES (timestamptz 'now', TIMESTAMP(3) WITH TIME ZONE 'now', date 'tomorrow', time with time zone 'now')`,
		want: `INSERT INTO t VALUES ($1::timestamptz, $1::TIMESTAMP(3) WITH TIME ZONE, ($2::date + 1)::date, $3::time::time with time zone)`, gens: []Gen{tz, date, tm}},
	{text: `UPDATE t SET at = $$now$$::timestamptz WHERE id = $1`,
		want: `UPDATE t SET at = $2::timestamptz WHERE id = $1`, gens: []Gen{tz}},
	{text: `UPDATE t SET at = 'today'::time WHERE id = 1`}, // an error on every backend

	// Per-row functions: rewritten where each occurrence is evaluated once.
	{text: `INSERT INTO t (a, b) VALUES ($1, random()), ($2, random())`,
		want: `INSERT INTO t (a, b) VALUES ($1, $3::float8), ($2, $4::float8)`, gens: []Gen{rnd, rnd}},
	{text: `INSERT INTO tokens (id, user_id, at) VALUES (gen_random_uuid(), $1, clock_timestamp())`,
		want: `INSERT INTO tokens (id, user_id, at) VALUES ($2::uuid, $1, $3::timestamptz)`, gens: []Gen{uid, tz}},
	{text: `INSERT INTO t (id, b) VALUES (public.uuid_generate_v4(), uuid_generate_v4()), (uuidv4(), gen_random_uuid())`,
		want: `INSERT INTO t (id, b) VALUES ($1::uuid, $2::uuid), ($3::uuid, $4::uuid)`, gens: []Gen{uid, uid, uid, uid}},
	{text: `INSERT INTO log (note) VALUES (timeofday())`,
		want: `INSERT INTO log (note) VALUES (to_char($1::timestamptz, 'Dy Mon DD HH24:MI:SS.US YYYY TZ'))`, gens: []Gen{tz}},
	{text: `INSERT INTO t (id, n) VALUES ($1, random()) ON CONFLICT (id) DO UPDATE SET n = random() RETURNING random()`,
		want: `INSERT INTO t (id, n) VALUES ($1, $2::float8) ON CONFLICT (id) DO UPDATE SET n = $3::float8 RETURNING $4::float8`, gens: []Gen{rnd, rnd, rnd}},
	{text: `UPDATE users SET token = gen_random_uuid(), seed = random() WHERE id = $1 RETURNING token`,
		want: `UPDATE users SET token = $2::uuid, seed = $3::float8 WHERE id = $1 RETURNING token`, gens: []Gen{uid, rnd}},
	{text: `UPDATE "users" SET "seed"=random() WHERE "users"."id" IN ($1) AND "users"."deleted_at" IS NULL`,
		want: `UPDATE "users" SET "seed"=$2::float8 WHERE "users"."id" IN ($1) AND "users"."deleted_at" IS NULL`, gens: []Gen{rnd}},
	{text: `DELETE FROM sessions WHERE id = $1 AND expires_at < clock_timestamp()`,
		want: `DELETE FROM sessions WHERE id = $1 AND expires_at < $2::timestamptz`, gens: []Gen{tz}},
	{text: `WITH n AS (INSERT INTO t (id) VALUES (gen_random_uuid()) RETURNING id) SELECT id FROM n`,
		want: `WITH n AS (INSERT INTO t (id) VALUES ($1::uuid) RETURNING id) SELECT id FROM n`, gens: []Gen{uid}},

	// ... and refused where they are evaluated once per row.
	{text: `UPDATE users SET seed = random()`, refuse: "random()"},
	{text: `UPDATE users SET seed = random() WHERE id IN ($1, $2)`, refuse: "random()"},
	{text: `UPDATE users SET seed = random() WHERE name LIKE $1`, refuse: "random()"},
	{text: `UPDATE users SET seed = random() FROM orders WHERE users.id = 1 AND orders.user_id = users.id`, refuse: "random()"},
	{text: `DELETE FROM users WHERE random() < 0.5`, refuse: "random()"},
	{text: `INSERT INTO t (a) SELECT random() FROM generate_series(1, 3)`, refuse: "random()"},
	{text: `INSERT INTO t (a) VALUES ((SELECT random()))`, refuse: "random()"},
	{text: `INSERT INTO t (id, n) VALUES (1, 1), (2, 2) ON CONFLICT (id) DO UPDATE SET n = random()`, refuse: "random()"},
	{text: `WITH d AS (DELETE FROM orders WHERE id = $1 RETURNING id) SELECT gen_random_uuid(), id FROM d`, refuse: "gen_random_uuid()"},
	{text: `MERGE INTO t USING s ON t.id = s.id WHEN NOT MATCHED THEN INSERT (id) VALUES (gen_random_uuid())`, refuse: "gen_random_uuid()"},
	{text: `UPDATE t SET at = now(), at2 = clock_timestamp()`, refuse: "clock_timestamp()"},
	{text: `INSERT INTO t (a) VALUES (random(1, 10))`, refuse: "random(1, 10)"},
	{text: `INSERT INTO t (a) VALUES (myschema.now())`, refuse: "myschema.now()"},

	// Values no parameter fixes.
	{text: `INSERT INTO t (id, a) VALUES (nextval('s'), now())`, refuse: "nextval('s')"},
	{text: `UPDATE t SET x = txid_current() WHERE id = 1`, refuse: "txid_current()"},
	{text: `INSERT INTO t (who, pid) VALUES (current_user, pg_backend_pid())`, refuse: "current_user"},
	{text: `INSERT INTO t (v) VALUES (version())`, refuse: "version()"},
	{text: `INSERT INTO t (id) VALUES (uuidv7())`, refuse: "uuidv7()"},
	{text: `INSERT INTO t VALUES (now()); SELECT 1`, refuse: "now()"},
	{text: `COPY t FROM STDIN WHERE at < now()`, refuse: "now()"},
	{text: `INSERT INTO t (at) SELECT * FROM now()`, refuse: "now()"}, // no placeholder in FROM: the check parse fails

	// Nothing to rewrite.
	{text: `UPDATE users SET n = 1 WHERE id = $1`},
	{text: `SELECT * FROM users WHERE created_at < now() AND random() < 0.1`},
	{text: `SELECT gen_random_uuid(), random(), now(), CURRENT_TIMESTAMP, clock_timestamp(), statement_timestamp(), CURRENT_DATE, LOCALTIMESTAMP`},
	{text: `SELECT now(); DELETE FROM users WHERE id = 1`},
	{text: `WITH x AS (INSERT INTO t (id) VALUES (5) RETURNING id) SELECT setval('t_id_seq', 5)`},
	{text: `PREPARE p AS INSERT INTO t (a) VALUES (random())`},

	// DDL: defaults are evaluated by later writes, other expressions now.
	{text: `CREATE TABLE "audit_logs" ("id" bigserial,"at" timestamptz DEFAULT CURRENT_TIMESTAMP,"action" varchar(64),PRIMARY KEY ("id"))`},
	{text: `CREATE TABLE tokens (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), created_at timestamptz NOT NULL DEFAULT now(), CHECK (created_at <= now()))`},
	{text: `ALTER TABLE t ALTER COLUMN at SET DEFAULT now()`},
	{text: `CREATE VIEW v AS SELECT * FROM t WHERE at > now() - interval '1 day'`},
	{text: `CREATE TABLE t (at timestamptz DEFAULT 'now'::timestamptz)`, refuse: "'now'"},
	{text: `ALTER TABLE t ADD COLUMN at timestamptz DEFAULT now()`, refuse: "now()"},
	{text: `CREATE TABLE t2 AS SELECT now() AS at`, refuse: "now()"},
	{text: `CALL p(random())`, refuse: "random()"},
}

func TestRewritten(t *testing.T) {
	az := newAnalyzer(t)
	for _, tt := range rewriteTests {
		a, err := az.Analyze(tt.text)
		if err != nil {
			t.Errorf("Analyze(%q): %v", tt.text, err)
			continue
		}
		rw, err := a.Rewritten()
		if tt.refuse != "" {
			var ue *UnsafeError
			if !errors.As(err, &ue) || ue.Fragment != tt.refuse || ue.Reason == "" || ue.Fix == "" || rw != nil {
				t.Errorf("%q: Rewritten = %+v, %v; want an *UnsafeError for %q", tt.text, rw, err, tt.refuse)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: Rewritten: %v", tt.text, err)
			continue
		}
		if tt.want == "" {
			if rw != nil {
				t.Errorf("%q: Rewritten = %+v, want nil", tt.text, *rw)
			}
			continue
		}
		if rw == nil || rw.Text != tt.want || !slices.Equal(rw.Gens, tt.gens) {
			t.Errorf("%q: Rewritten =\n\t%+v\nwant\n\t{Text:%s Gens:%v}", tt.text, rw, tt.want, tt.gens)
			continue
		}
		// The rewrite parses, takes the new parameters and needs no rewrite.
		b, err := az.Analyze(rw.Text)
		if err != nil {
			t.Errorf("%q: rewrite does not parse: %v", rw.Text, err)
			continue
		}
		if b.NumParams != a.NumParams+len(rw.Gens) || b.Kind != a.Kind || len(b.Tables) != len(a.Tables) {
			t.Errorf("%q: rewrite has %d params (want %d), kind %v (want %v)", rw.Text, b.NumParams, a.NumParams+len(rw.Gens), b.Kind, a.Kind)
		}
		if rw2, err := b.Rewritten(); rw2 != nil || err != nil {
			t.Errorf("%q: rewrite needs rewriting again: %+v, %v", rw.Text, rw2, err)
		}
		if len(b.Volatile) != 0 {
			t.Errorf("%q: rewrite still has volatile fragments %q", rw.Text, b.Volatile)
		}
		if !slices.Equal(a.Volatile, analyze(t, tt.text).Volatile) {
			t.Errorf("%q: Volatile changed", tt.text)
		}
	}
}

func TestRewrittenCached(t *testing.T) {
	a := analyze(t, `INSERT INTO t (a) VALUES (now())`)
	rw1, err1 := a.Rewritten()
	rw2, err2 := a.Rewritten()
	if rw1 == nil || rw1 != rw2 || err1 != nil || err2 != nil {
		t.Errorf("Rewritten twice = %p, %v and %p, %v; want the same rewrite", rw1, err1, rw2, err2)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = a.Rewritten() }); n != 0 {
		t.Errorf("Rewritten allocates %v times", n)
	}
}

func TestRewrittenByHand(t *testing.T) {
	if rw, err := (&Analysis{Text: "SELECT 1", Kind: Read}).Rewritten(); rw != nil || err != nil {
		t.Errorf("Rewritten of a hand-built analysis = %v, %v", rw, err)
	}
	var ue *UnsafeError
	_, err := (&Analysis{Text: "x", Kind: Write, Volatile: []string{"now()"}}).Rewritten()
	if !errors.As(err, &ue) || ue.Fragment != "now()" {
		t.Errorf("Rewritten of a hand-built volatile analysis: %v, want an *UnsafeError", err)
	}
}

func TestUnsafeError(t *testing.T) {
	_, err := analyze(t, `UPDATE users SET seed = random()`).Rewritten()
	want := "calibrated: unsafe statement: random() is evaluated once per row, differently on every backend; compute the values in the application and pass them as parameters"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
	_, err = analyze(t, `INSERT INTO t (id) VALUES (nextval('s'))`).Rewritten()
	if err == nil || !strings.Contains(err.Error(), "give the id explicitly; generated ids are captured from the anchor for INSERT into serial columns") {
		t.Errorf("nextval error = %v", err)
	}
}

func TestGenString(t *testing.T) {
	if GenTimestamptz.String() != "timestamptz" || GenUUID.String() != "uuid" || Gen(0).String() != "Gen(0)" || Gen(99).String() != "Gen(99)" {
		t.Error("unexpected Gen names")
	}
}

// TestRewrittenCorpus checks that every corpus statement either needs no
// rewrite, gets one that parses, or is refused.
func TestRewrittenCorpus(t *testing.T) {
	az := newAnalyzer(t)
	for _, line := range corpusLines(t) {
		a, err := az.Analyze(line)
		if err != nil {
			continue // TestCorpus reports it
		}
		rw, err := a.Rewritten()
		var ue *UnsafeError
		switch {
		case err != nil && !errors.As(err, &ue):
			t.Errorf("%s: Rewritten error %v is not an *UnsafeError", line, err)
		case rw != nil:
			if _, err := az.Analyze(rw.Text); err != nil {
				t.Errorf("%s: rewrite %s: %v", line, rw.Text, err)
			}
		}
	}
}

// BenchmarkRewritten reads the rewrite of a cached analysis: no parse.
func BenchmarkRewritten(b *testing.B) {
	az := newAnalyzer(b)
	const text = `INSERT INTO "audit_logs" ("action","at") VALUES ($1,now()) RETURNING "id"`
	if _, err := az.Analyze(text); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		a, err := az.Analyze(text)
		if err != nil {
			b.Fatal(err)
		}
		if rw, err := a.Rewritten(); rw == nil || err != nil {
			b.Fatal(rw, err)
		}
	}
}

// BenchmarkAnalyzeRewrite analyses a distinct volatile text each time: the
// parse, the rewrite and the parse that checks it.
func BenchmarkAnalyzeRewrite(b *testing.B) {
	az := newAnalyzer(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		a, err := az.Analyze(`INSERT INTO "audit_logs" ("action","at") VALUES ($1,now()) RETURNING "id" /* ` + strconv.Itoa(i) + ` */`)
		if err != nil {
			b.Fatal(err)
		}
		if rw, err := a.Rewritten(); rw == nil || err != nil {
			b.Fatal(rw, err)
		}
	}
}
