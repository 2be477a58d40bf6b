package router

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/calibrated/calibrated/ledger"
)

// fakeSchema maps a table to its primary key.
type fakeSchema map[string][]string

func (s fakeSchema) PrimaryKey(table string) []string { return s[table] }

var schema = fakeSchema{
	"users":          {"id"},
	"user_languages": {"user_id", "language_id"},
	"orders":         {"id"},
}

func newAnalyzer(t testing.TB) *Analyzer {
	t.Helper()
	az, err := NewAnalyzer("postgres", 256)
	if err != nil {
		t.Fatal(err)
	}
	return az
}

func analyze(t testing.TB, text string) *Analysis {
	t.Helper()
	a, err := newAnalyzer(t).Analyze(text)
	if err != nil {
		t.Fatalf("Analyze(%q): %v", text, err)
	}
	return a
}

// args returns positional arguments $1, $2, ... holding vals.
func args(vals ...any) []driver.NamedValue {
	nv := make([]driver.NamedValue, len(vals))
	for i, v := range vals {
		nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return nv
}

func keyStrings(keys []ledger.Key) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.String()
	}
	return out
}

func TestKeys(t *testing.T) {
	in1200 := make([]string, 40)
	for i := range in1200 {
		in1200[i] = fmt.Sprint(i)
	}
	tests := []struct {
		text string
		args []driver.NamedValue
		want []string // nil: no keys
	}{
		{"UPDATE users SET n = n + 1 WHERE id = $1", args(int64(7)), []string{"users/7"}},
		{"DELETE FROM users WHERE id IN ($1,$2)", args(int64(1), int64(2)), []string{"users/1", "users/2"}},
		{"DELETE FROM users WHERE id IN ($1,$2)", args(int64(2), int64(2)), []string{"users/2"}},
		{"UPDATE users SET x=1 WHERE name = $1", args("ann"), []string{"users"}},
		{"SELECT * FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = $1", args(int64(5)), []string{"users/5", "orders"}},
		{`SELECT * FROM "users" WHERE "users"."id" = $1 AND "users"."deleted_at" IS NULL`, args(int64(5)), []string{"users/5"}},
		{"INSERT INTO users (id, name) VALUES ($1,$2),($3,$4)", args(int64(1), "a", int64(2), "b"), []string{"users/1", "users/2"}},
		{"INSERT INTO users (name) VALUES ($1)", args("a"), []string{"users"}},
		{"INSERT INTO users VALUES ($1, $2)", args(int64(1), "a"), []string{"users"}},
		{"INSERT INTO users (id, name) VALUES (DEFAULT, $1)", args("a"), []string{"users"}},
		{"INSERT INTO users (id, name) SELECT id, name FROM orders", nil, []string{"users", "orders"}},
		{"SELECT * FROM users WHERE id = 1 OR id = 2", nil, []string{"users"}},
		{"SELECT * FROM users WHERE id = 5", nil, []string{"users/5"}},
		{"SELECT * FROM users WHERE id = $1", args(5.0), []string{"users/5"}},
		{"SELECT * FROM users WHERE id = $1::bigint", args("5"), []string{"users/5"}},
		{"SELECT * FROM users WHERE id = $1 + 1", args(int64(5)), []string{"users"}},
		{"SELECT * FROM users WHERE id = $1", args(struct{}{}), []string{"users"}},
		{"SELECT * FROM users WHERE id = $1", args(nil), []string{"users/\x00NULL"}},
		{"SELECT * FROM users WHERE id = $1", args("a,b"), []string{`users/a\,b`}},
		{"SELECT * FROM users WHERE id = (SELECT max(id) FROM users)", nil, []string{"users"}},
		{"SELECT * FROM users WHERE age > (SELECT avg(age) FROM users) AND id = 1", nil, []string{"users"}},
		{"SELECT * FROM audit WHERE id = 1", nil, []string{"audit"}},
		{"CREATE INDEX i ON users (name)", nil, []string{"*"}},
		{"ALTER TABLE users ADD COLUMN n int", nil, []string{"*"}},
		{"UPDATE users SET id = 3 WHERE id = 1", nil, []string{"users"}},
		{"WITH d AS (DELETE FROM orders WHERE id = $1 RETURNING user_id) UPDATE users SET n = 0 WHERE id IN (SELECT user_id FROM d)",
			args(int64(9)), []string{"orders/9", "users"}},
		{"WITH users AS (SELECT * FROM users WHERE id = 1) SELECT * FROM users", nil, []string{"users/1"}},
		{"DELETE FROM user_languages WHERE user_id = $1 AND language_id IN ($2, $3)",
			args(int64(1), int64(2), int64(3)), []string{"user_languages/1,2", "user_languages/1,3"}},
		{"DELETE FROM user_languages WHERE user_id = $1", args(int64(1)), []string{"user_languages"}},
		{"DELETE FROM user_languages WHERE user_id IN (" + strings.Join(in1200[:30], ",") + ") AND language_id IN (" + strings.Join(in1200, ",") + ")",
			nil, []string{"user_languages"}},
		{"INSERT INTO user_languages (user_id, language_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
			args(int64(1), int64(2)), []string{"user_languages/1,2"}},
		{"INSERT INTO users (id, email) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET email = excluded.email",
			args(int64(4), "x"), []string{"users/4"}},
		{"INSERT INTO users (id, email) VALUES ($1, $2) ON CONFLICT (email) DO UPDATE SET id = excluded.id",
			args(int64(4), "x"), []string{"users"}},
		{"INSERT INTO users (id, email) VALUES ($1, $2) ON CONFLICT (email) DO UPDATE SET name = 'x'",
			args(int64(4), "x"), []string{"users"}},
		{"UPDATE orders SET status = $1 FROM users WHERE users.id = orders.user_id AND users.id = $2",
			args("paid", int64(3)), []string{"orders", "users/3"}},
		{"TRUNCATE orders", nil, []string{"orders"}},
		{"TRUNCATE orders CASCADE", nil, []string{"*"}},
		{"MERGE INTO users u USING orders o ON u.id = o.user_id WHEN MATCHED THEN UPDATE SET n = 1", nil, []string{"users", "orders"}},
		{"EXPLAIN ANALYZE DELETE FROM users WHERE id = 1", nil, []string{"users/1"}},
		{"BEGIN", nil, nil},
		{"SET search_path TO public", nil, nil},
		{"SAVEPOINT s", nil, nil},
	}
	for _, tt := range tests {
		a := analyze(t, tt.text)
		keys, err := a.Keys(schema, tt.args)
		if err != nil {
			t.Errorf("%q: Keys: %v", tt.text, err)
			continue
		}
		if got := keyStrings(keys); !slices.Equal(got, tt.want) || (keys == nil) != (tt.want == nil) {
			t.Errorf("%q: Keys = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestKeysArgs(t *testing.T) {
	a := analyze(t, "UPDATE users SET name = $1 WHERE id = $2")
	if _, err := a.Keys(schema, args("x")); err == nil {
		t.Error("Keys with a missing argument: no error")
	}
	// Ordinals, not positions, name the placeholders.
	keys, err := a.Keys(schema, []driver.NamedValue{{Ordinal: 2, Value: int64(8)}, {Ordinal: 1, Value: "x"}})
	if err != nil || !slices.Equal(keyStrings(keys), []string{"users/8"}) {
		t.Errorf("Keys with reordered arguments = %q, %v", keyStrings(keys), err)
	}
	if _, err := a.Keys(schema, []driver.NamedValue{{Ordinal: 1, Value: "x"}, {Ordinal: 3, Value: int64(8)}}); err == nil {
		t.Error("Keys without ordinal 2: no error")
	}
	if keys, err := a.Keys(nil, args("x", int64(8))); err != nil || !slices.Equal(keyStrings(keys), []string{"users"}) {
		t.Errorf("Keys without a schema = %q, %v", keyStrings(keys), err)
	}
}

func TestAnalysis(t *testing.T) {
	tests := []struct {
		text  string
		check func(*Analysis) bool
	}{
		{"UPDATE users SET updated_at = now() WHERE id = $1", func(a *Analysis) bool { return slices.Equal(a.Volatile, []string{"now()"}) }},
		{"INSERT INTO t (a, b, c) VALUES (CURRENT_TIMESTAMP, gen_random_uuid(), nextval('s'))", func(a *Analysis) bool {
			return slices.Equal(a.Volatile, []string{"CURRENT_TIMESTAMP", "gen_random_uuid()", "nextval('s')"})
		}},
		{"INSERT INTO t (a) VALUES ('now'::timestamptz)", func(a *Analysis) bool {
			return slices.Equal(a.Volatile, []string{"'now'"}) && a.Tables[0].InsertRows[0][0].Expr
		}},
		{"UPDATE users SET n = 1 WHERE id = $1", func(a *Analysis) bool { return a.Volatile == nil }},
		{"DELETE FROM users WHERE id IN (SELECT id FROM t LIMIT 5)", func(a *Analysis) bool { return a.Unordered == "LIMIT without ORDER BY" }},
		{"DELETE FROM users WHERE id IN (SELECT id FROM t ORDER BY id LIMIT 5)", func(a *Analysis) bool { return a.Unordered == "" }},
		{"SELECT * FROM users LIMIT 5", func(a *Analysis) bool { return a.Unordered == "" }},
		{"UPDATE jobs SET taken = true WHERE id = (SELECT id FROM jobs ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)", func(a *Analysis) bool {
			return a.Unordered == "SKIP LOCKED" && a.Locking
		}},
		{"INSERT INTO archive SELECT * FROM orders", func(a *Analysis) bool { return a.Unordered == "INSERT ... SELECT without ORDER BY" }},
		{"INSERT INTO archive SELECT * FROM orders ORDER BY id", func(a *Analysis) bool { return a.Unordered == "" }},
		{"SAVEPOINT sp1", func(a *Analysis) bool { return a.Kind == Savepoint && a.Savepoint == "sp1" }},
		{"ROLLBACK TO sp2", func(a *Analysis) bool { return a.Kind == RollbackTo && a.Savepoint == "sp2" }},
		{"RELEASE SAVEPOINT \"Sp3\"", func(a *Analysis) bool { return a.Kind == Release && a.Savepoint == "Sp3" }},
		{"START TRANSACTION READ ONLY", func(a *Analysis) bool { return a.Kind == Begin && a.ReadOnly }},
		{"BEGIN ISOLATION LEVEL SERIALIZABLE READ WRITE", func(a *Analysis) bool { return a.Kind == Begin && !a.ReadOnly }},
		{"END", func(a *Analysis) bool { return a.Kind == Commit }},
		{"ABORT", func(a *Analysis) bool { return a.Kind == Rollback }},
		{"SELECT 1; DELETE FROM users", func(a *Analysis) bool { return a.Multi && a.Kind == Write }},
		{"", func(a *Analysis) bool { return a.Kind == Session && !a.Multi }},
		{"-- ping", func(a *Analysis) bool { return a.Kind == Session }},
		{"WITH d AS (DELETE FROM orders WHERE id = $1 RETURNING *) SELECT * FROM d", func(a *Analysis) bool {
			return a.Kind == Write && a.Returning && len(a.Tables) == 1 && a.Tables[0].Name == "orders" && a.Tables[0].Target
		}},
		{"WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT * FROM t", func(a *Analysis) bool { return a.Kind == Read && len(a.Tables) == 0 }},
		{"INSERT INTO users (name) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id", func(a *Analysis) bool { return a.OnConflict && a.Returning }},
		{"SELECT * FROM users WHERE id = $1 FOR NO KEY UPDATE", func(a *Analysis) bool { return a.Kind == Read && a.Locking }},
		{"SELECT * FROM orders WHERE user_id = $1 FOR UPDATE OF orders", func(a *Analysis) bool { return a.Locking && a.Tables[0].Eq != nil }},
		{"SELECT $1, $12", func(a *Analysis) bool { return a.NumParams == 12 }},
		{"EXPLAIN SELECT * FROM users", func(a *Analysis) bool { return a.Kind == Read }},
		{"EXPLAIN (ANALYZE off) DELETE FROM users", func(a *Analysis) bool { return a.Kind == Read && !a.Tables[0].Target }},
		{"EXPLAIN ANALYZE DELETE FROM users", func(a *Analysis) bool { return a.Kind == Write && a.Tables[0].Target }},
		{"SELECT * INTO copy FROM users", func(a *Analysis) bool { return a.Kind == DDL && a.Tables[0].Name == "copy" && a.Tables[0].Target }},
		{"CREATE TABLE copy AS SELECT * FROM users", func(a *Analysis) bool { return a.Kind == DDL }},
		{"DO $$ BEGIN DELETE FROM users; END $$", func(a *Analysis) bool { return a.Kind == DDL }},
		{"LOCK TABLE users", func(a *Analysis) bool { return a.Kind == Read && a.Locking && a.Tables[0].Name == "users" }},
		{`SELECT * FROM "Users" JOIN app.orders ON true JOIN public.items ON true`, func(a *Analysis) bool {
			return slices.Equal(tableNames(a), []string{"Users", "app.orders", "items"})
		}},
		{"SELECT * FROM users u WHERE u.id = $1 AND u.name IN ('a', $2) AND 5 = u.age", func(a *Analysis) bool {
			eq := a.Tables[0].Eq
			return slices.Equal(eq["id"], []Source{{Param: 1}}) && slices.Equal(eq["name"], []Source{{Const: "a"}, {Param: 2}}) &&
				slices.Equal(eq["age"], []Source{{Const: "5"}})
		}},
		{"SELECT * FROM users WHERE users.id = 1.50 AND users.n = 1e3 AND users.b = true", func(a *Analysis) bool {
			eq := a.Tables[0].Eq
			return eq["id"][0].Const == "1.5" && eq["n"][0].Const == "1000" && eq["b"][0].Const == "true"
		}},
		{"SELECT * FROM users, orders WHERE id = 1", func(a *Analysis) bool { return a.Tables[0].Eq == nil && a.Tables[1].Eq == nil }},
	}
	for _, tt := range tests {
		if a := analyze(t, tt.text); !tt.check(a) {
			t.Errorf("%q: unexpected analysis %+v", tt.text, *a)
		}
	}
}

func tableNames(a *Analysis) []string {
	var names []string
	for _, t := range a.Tables {
		names = append(names, t.Name)
	}
	return names
}

func TestParseError(t *testing.T) {
	az := newAnalyzer(t)
	for _, text := range []string{"SELEC 1", "SELECT 1\x00; DROP TABLE users"} {
		_, err := az.Analyze(text)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Text != text || errors.Unwrap(err) == nil ||
			!strings.HasPrefix(err.Error(), "calibrated: cannot parse statement: ") {
			t.Errorf("Analyze(%q) error = %v, want a *ParseError", text, err)
		}
		if _, err2 := az.Analyze(text); err2 != err { // cached
			t.Errorf("Analyze(%q) again: %v, want the cached error", text, err2)
		}
	}
}

func TestNewAnalyzer(t *testing.T) {
	if _, err := NewAnalyzer("oracle", 10); err == nil || !strings.Contains(err.Error(), "not supported yet") {
		t.Errorf("NewAnalyzer(oracle) error = %v", err)
	}
	az, err := NewAnalyzer("postgres", 0)
	if err != nil {
		t.Fatal(err)
	}
	a1, _ := az.Analyze("SELECT 1")
	a2, _ := az.Analyze("SELECT 1")
	if a1 == a2 {
		t.Error("cacheSize 0 cached an analysis")
	}
}

func TestCache(t *testing.T) {
	az, err := NewAnalyzer("postgres", 2)
	if err != nil {
		t.Fatal(err)
	}
	get := func(text string) *Analysis {
		a, err := az.Analyze(text)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a, b := get("SELECT 1"), get("SELECT 2")
	if get("SELECT 1") != a { // a becomes the most recently used
		t.Error("cache miss on a cached text")
	}
	get("SELECT 3") // evicts b
	if get("SELECT 1") != a {
		t.Error("evicted the most recently used text")
	}
	if get("SELECT 2") == b {
		t.Error("kept the least recently used text")
	}
	if n := az.order.Len(); n != 2 || len(az.byKey) != 2 {
		t.Errorf("cache holds %d/%d entries, want 2", n, len(az.byKey))
	}

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				text := fmt.Sprintf("SELECT * FROM users WHERE id = %d", (g+i)%5)
				if a, err := az.Analyze(text); err != nil || a.Text != text {
					t.Errorf("Analyze(%q) = %v, %v", text, a, err)
					return
				}
			}
		})
	}
	wg.Wait()

	text := "SELECT * FROM users WHERE id = $1"
	get(text)
	if n := testing.AllocsPerRun(100, func() { get(text) }); n != 0 {
		t.Errorf("cached Analyze allocates %v times", n)
	}
}

func TestFormatValue(t *testing.T) {
	tests := []struct {
		v    driver.Value
		want string
	}{
		{int64(-5), "-5"}, {5, "5"}, {int32(5), "5"}, {uint8(5), "5"}, {5.0, "5"}, {1e21, "1000000000000000000000"},
		{0.1, "0.1"}, {float32(0.1), "0.1"}, {true, "true"}, {"x", "x"}, {[]byte("y"), "y"}, {nil, "\x00NULL"},
		{time.Date(2024, 1, 2, 4, 4, 5, 6, time.FixedZone("X", 3600)), "2024-01-02T03:04:05.000000006Z"},
		{valuer{"v"}, "v"},
	}
	for _, tt := range tests {
		if got := FormatValue(tt.v); got != tt.want {
			t.Errorf("FormatValue(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

type valuer struct{ s string }

func (v valuer) Value() (driver.Value, error) { return v.s, nil }

func TestKindString(t *testing.T) {
	if Read.String() != "read" || RollbackTo.String() != "rollback to" || Session.String() != "session" || Kind(0).String() != "Kind(0)" {
		t.Error("unexpected Kind names")
	}
}
