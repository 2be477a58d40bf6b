package router

import (
	"database/sql/driver"
	"slices"
	"testing"

	"github.com/calibrated/calibrated/ledger"
)

// UniqueKeys implements Schema: the tables of schema have none.
func (fakeSchema) UniqueKeys(string) [][]string { return nil }

// ForeignKeys implements Schema: the tables of schema have none.
func (fakeSchema) ForeignKeys(string) []ForeignKey { return nil }

// relSchema is a Schema with unique indexes and foreign keys.
type relSchema struct {
	pk     map[string][]string
	unique map[string][][]string
	fks    map[string][]ForeignKey
}

func (s relSchema) PrimaryKey(table string) []string      { return s.pk[table] }
func (s relSchema) UniqueKeys(table string) [][]string    { return s.unique[table] }
func (s relSchema) ForeignKeys(table string) []ForeignKey { return s.fks[table] }

// rel is a GORM-like schema: users with a unique email and a composite
// unique (org_id, handle); orders referencing users by id and by email;
// mentions referencing users by (handle, org_id), the unique index's columns
// in another order; accounts without keys of its own.
var rel = relSchema{
	pk: map[string][]string{
		"users":       {"id"},
		"orders":      {"id"},
		"mentions":    {"id"},
		"accounts":    {"id"},
		"sales.lines": {"order_id", "n"},
	},
	unique: map[string][][]string{
		"users": {{"email"}, {"org_id", "handle"}},
	},
	fks: map[string][]ForeignKey{
		"orders": {
			{Columns: []string{"user_id"}, Parent: "users", ParentColumns: []string{"id"}},
			{Columns: []string{"user_email"}, Parent: "users", ParentColumns: []string{"email"}},
		},
		"mentions": {
			{Columns: []string{"handle", "org_id"}, Parent: "users", ParentColumns: []string{"handle", "org_id"}},
			{Columns: []string{"account_ref"}, Parent: "accounts", ParentColumns: []string{"ref"}},
		},
		"sales.lines": {
			{Columns: []string{"order_id"}, Parent: "orders", ParentColumns: []string{"id"}},
		},
	},
}

func relKeys(t *testing.T, text string, nv []driver.NamedValue) []string {
	t.Helper()
	keys, err := analyze(t, text).Keys(rel, nv)
	if err != nil {
		t.Fatalf("%q: Keys: %v", text, err)
	}
	return keyStrings(keys)
}

func TestKeysUnique(t *testing.T) {
	tests := []struct {
		text string
		args []driver.NamedValue
		want []string
	}{
		{"INSERT INTO users (id, email) VALUES ($1, $2)", args(int64(1), "a@x"), []string{"users/1", `users/email\=a@x`}},
		{"INSERT INTO users (id, email) VALUES ($1, $2), ($3, $4)", args(int64(1), "a@x", int64(2), "b,x"),
			[]string{"users/1", "users/2", `users/email\=a@x`, `users/email\=b\,x`}},
		{"INSERT INTO users (id, email) VALUES (1, NULL)", nil, []string{"users/1"}},
		{"INSERT INTO users (id, email) VALUES ($1, $2)", args(int64(1), nil), []string{"users/1"}},
		{"INSERT INTO users (id, name) VALUES (1, 'ann')", nil, []string{"users/1"}},
		{"INSERT INTO users (id, email) VALUES (1, lower($1))", args("A@x"), []string{"users"}},
		{"UPDATE users SET email = $1 WHERE id = $2", args("a@x", int64(7)), []string{"users/7", `users/email\=a@x`}},
		{"UPDATE users SET email = NULL WHERE id = 7", nil, []string{"users/7"}},
		{"UPDATE users SET email = lower(email) WHERE id = 7", nil, []string{"users"}},
		// Rows named by a unique value only take the table key: their
		// primary key, the key a write by id takes, is unknown here.
		{"UPDATE users SET email = $1 WHERE email = $2", args("new@x", "old@x"), []string{"users"}},
		{"SELECT * FROM users WHERE email = $1", args("a@x"), []string{"users"}},
		{`SELECT * FROM "users" WHERE "users"."email" = $1 AND "users"."deleted_at" IS NULL LIMIT 1`, args("a@x"), []string{"users"}},
		{"SELECT * FROM users WHERE email IN ($1, $2)", args("a@x", "b@x"), []string{"users"}},
		{"DELETE FROM users WHERE email = 'a@x'", nil, []string{"users"}},
		{"SELECT * FROM users WHERE id = $1 AND email = $2", args(int64(3), "a@x"), []string{"users/3"}},
		{"SELECT * FROM users WHERE email LIKE $1", args("a%"), []string{"users"}},
		// Composite unique index.
		{"INSERT INTO users (id, org_id, handle) VALUES (1, 3, 'ann')", nil, []string{"users/1", `users/org_id,handle\=3,ann`}},
		{"INSERT INTO users (id, handle) VALUES (1, 'ann')", nil, []string{"users/1"}},
		{"SELECT * FROM users WHERE handle = 'ann' AND org_id = $1", args(int64(3)), []string{"users"}},
		{"SELECT * FROM users WHERE handle = 'ann'", nil, []string{"users"}},
		{"UPDATE users SET handle = $1 WHERE id = $2", args("bob", int64(9)), []string{"users"}},
		{"UPDATE users SET handle = $1 WHERE id = $2 AND org_id = $3", args("bob", int64(9), int64(3)), []string{"users/9", `users/org_id,handle\=3,bob`}},
		{"UPDATE users SET (org_id, handle) = ($1, $2) WHERE id = $3", args(int64(4), "bob", int64(9)), []string{"users/9", `users/org_id,handle\=4,bob`}},
		// Upserts.
		{"INSERT INTO users (id, email) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET email = excluded.email",
			args(int64(4), "x"), []string{"users/4", `users/email\=x`}},
		{"INSERT INTO users (id, email) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET email = $3",
			args(int64(4), "x", "y"), []string{"users/4", `users/email\=x`, `users/email\=y`}},
		{"INSERT INTO users (id, email) VALUES ($1, $2) ON CONFLICT (email) DO UPDATE SET name = 'x'",
			args(int64(4), "x"), []string{"users/4", `users/email\=x`}},
		{"INSERT INTO users (id, email) VALUES ($1, $2) ON CONFLICT (email) DO UPDATE SET id = excluded.id",
			args(int64(4), "x"), []string{"users"}},
		{"INSERT INTO users (id, email) VALUES ($1, $2) ON CONFLICT (handle) DO UPDATE SET name = 'x'",
			args(int64(4), "x"), []string{"users"}},
		{"INSERT INTO users (id, org_id, handle) VALUES (1, 3, 'ann') ON CONFLICT (id) DO UPDATE SET org_id = excluded.org_id, handle = excluded.handle",
			nil, []string{"users/1", `users/org_id,handle\=3,ann`}},
		// The conflicting row keeps an org_id the statement does not show.
		{"INSERT INTO users (id, org_id, handle) VALUES (1, 3, 'ann') ON CONFLICT (id) DO UPDATE SET handle = excluded.handle",
			nil, []string{"users"}},
		{"INSERT INTO users (id, org_id, handle) VALUES (1, 3, 'ann') ON CONFLICT (org_id, handle) DO UPDATE SET handle = excluded.handle || 'x'",
			nil, []string{"users"}},
		{"INSERT INTO users (id, org_id, handle) VALUES (1, 3, 'ann') ON CONFLICT (handle, org_id) DO UPDATE SET handle = $1",
			args("bob"), []string{"users/1", `users/org_id,handle\=3,ann`, `users/org_id,handle\=3,bob`}},
		{"INSERT INTO users (id, handle) VALUES (1, 'ann') ON CONFLICT (id) DO UPDATE SET handle = excluded.handle",
			nil, []string{"users"}},
	}
	for _, tt := range tests {
		if got := relKeys(t, tt.text, tt.args); !slices.Equal(got, tt.want) {
			t.Errorf("%q: Keys = %q, want %q", tt.text, got, tt.want)
		}
	}
}

func TestKeysForeign(t *testing.T) {
	tests := []struct {
		text string
		args []driver.NamedValue
		want []string
	}{
		{"INSERT INTO orders (id, user_id) VALUES ($1, $2)", args(int64(1), int64(5)), []string{"orders/1", "users/5"}},
		{"INSERT INTO orders (id, user_id) VALUES (1, 5), (2, 6), (3, 5)", nil, []string{"orders/1", "orders/2", "orders/3", "users/5", "users/6"}},
		{"INSERT INTO orders (id, user_id) VALUES ($1, $2)", args(int64(1), nil), []string{"orders/1"}},
		{"INSERT INTO orders (id, note) VALUES (1, 'x')", nil, []string{"orders/1"}},
		{"INSERT INTO orders (id, user_id) VALUES (1, (SELECT max(id) FROM users))", nil, []string{"orders/1", "users"}},
		{"INSERT INTO orders (id, user_id) SELECT id, id FROM accounts", nil, []string{"orders", "users", "accounts"}},
		{"INSERT INTO orders VALUES (1, 5)", nil, []string{"orders", "users"}},
		{"INSERT INTO orders (id, user_email) VALUES (2, 'a@x')", nil, []string{"orders/2", `users/email\=a@x`}},
		{"UPDATE orders SET user_id = $1 WHERE id = $2", args(int64(5), int64(1)), []string{"orders/1", "users/5"}},
		{"UPDATE orders SET (user_id, note) = ($1, $2) WHERE id = $3", args(int64(5), "n", int64(1)), []string{"orders/1", "users/5"}},
		{"UPDATE orders SET user_id = NULL WHERE id = 1", nil, []string{"orders/1"}},
		{"UPDATE orders SET user_id = user_id + 1 WHERE id = 1", nil, []string{"orders/1", "users"}},
		{"UPDATE orders SET note = 'x' WHERE id = 1", nil, []string{"orders/1"}},
		{"UPDATE orders SET status = $1 FROM users WHERE users.id = orders.user_id AND users.id = $2",
			args("paid", int64(3)), []string{"orders", "users/3"}},
		{"DELETE FROM orders WHERE user_id = 5", nil, []string{"orders"}},
		{"DELETE FROM users WHERE id = 5", nil, []string{"users/5"}},
		{"INSERT INTO orders (id, user_id) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id",
			args(int64(1), int64(5)), []string{"orders/1", "users/5"}},
		{"INSERT INTO orders (id, note) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET user_id = $1",
			args(int64(6)), []string{"orders/1", "users/6"}},
		// A reference to a composite unique index, columns in another order.
		{"INSERT INTO mentions (id, handle, org_id) VALUES (1, 'ann', 3)", nil, []string{"mentions/1", `users/org_id,handle\=3,ann`}},
		{"INSERT INTO mentions (id, handle) VALUES (1, 'ann')", nil, []string{"mentions/1", "users"}},
		// A reference to a column the parent has no key on.
		{"INSERT INTO mentions (id, account_ref) VALUES (1, 'r')", nil, []string{"mentions/1", "accounts"}},
		{"INSERT INTO sales.lines (order_id, n) VALUES (7, 1)", nil, []string{"sales.lines/7,1", "orders/7"}},
		{"COPY orders FROM STDIN", nil, []string{"orders", "users"}},
		{"MERGE INTO orders o USING accounts a ON o.id = a.id WHEN NOT MATCHED THEN INSERT (id, user_id) VALUES (a.id, a.id)",
			nil, []string{"orders", "users", "accounts"}},
		{"TRUNCATE orders", nil, []string{"orders"}},
		{"SELECT * FROM orders WHERE user_id = 5", nil, []string{"orders"}},
	}
	for _, tt := range tests {
		if got := relKeys(t, tt.text, tt.args); !slices.Equal(got, tt.want) {
			t.Errorf("%q: Keys = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// TestKeysMeet checks that the statements the ledger must order against
// each other share a key.
func TestKeysMeet(t *testing.T) {
	tests := []struct {
		name         string
		a, b         string
		aArgs, bArgs []driver.NamedValue
	}{
		{"same email, different ids",
			"INSERT INTO users (id, email) VALUES ($1, $2)", "INSERT INTO users (id, email) VALUES ($1, $2)",
			args(int64(1), "a@x"), args(int64(2), "a@x")},
		{"insert and update to the same email",
			"INSERT INTO users (id, email) VALUES ($1, $2)", "UPDATE users SET email = $1 WHERE id = $2",
			args(int64(1), "a@x"), args("a@x", int64(2))},
		{"insert and read by email",
			"INSERT INTO users (id, email) VALUES ($1, $2)", "SELECT * FROM users WHERE email = $1",
			args(int64(1), "a@x"), args("a@x")},
		{"child insert and parent delete",
			"INSERT INTO orders (id, user_id) VALUES ($1, $2)", "DELETE FROM users WHERE id = 5",
			args(int64(1), int64(5)), nil},
		{"child update and parent delete",
			"UPDATE orders SET user_id = $1 WHERE id = $2", "DELETE FROM users WHERE id = $1",
			args(5.0, int64(1)), args(int32(5))},
		{"child insert by email and parent delete by email",
			"INSERT INTO orders (id, user_email) VALUES ($1, $2)", "DELETE FROM users WHERE email = $1",
			args(int64(1), "a@x"), args("a@x")},
		{"composite unique",
			"INSERT INTO users (id, handle, org_id) VALUES ($1, $2, $3)", "UPDATE users SET org_id = 3, handle = 'ann' WHERE id = 2",
			args(int64(1), "ann", int64(3)), nil},
		{"child by composite unique and parent update",
			"INSERT INTO mentions (id, org_id, handle) VALUES (1, 3, 'ann')", "DELETE FROM users WHERE org_id = 3 AND handle = 'ann'",
			nil, nil},
	}
	for _, tt := range tests {
		ka, err := analyze(t, tt.a).Keys(rel, tt.aArgs)
		if err != nil {
			t.Fatal(err)
		}
		kb, err := analyze(t, tt.b).Keys(rel, tt.bArgs)
		if err != nil {
			t.Fatal(err)
		}
		conflict := slices.ContainsFunc(ka, func(x ledger.Key) bool {
			return slices.ContainsFunc(kb, func(y ledger.Key) bool { return ledger.Conflicts(x, y) })
		})
		if !conflict {
			t.Errorf("%s: %q and %q do not conflict", tt.name, keyStrings(ka), keyStrings(kb))
		}
		if !slices.ContainsFunc(ka, func(k ledger.Key) bool { return k.Row != "" }) {
			t.Errorf("%s: %q: want row keys", tt.name, keyStrings(ka))
		}
	}
	// Different emails and different ids do not meet.
	ka := relKeys(t, "INSERT INTO users (id, email) VALUES (1, 'a@x')", nil)
	kb := relKeys(t, "INSERT INTO users (id, email) VALUES (2, 'b@x')", nil)
	if slices.ContainsFunc(ka, func(k string) bool { return slices.Contains(kb, k) }) {
		t.Errorf("%q and %q share a key", ka, kb)
	}
}

// FuzzUniqueKey checks that a unique key never equals a primary-key row key
// of the same table, and that it names its columns and values exactly.
func FuzzUniqueKey(f *testing.F) {
	f.Add("email", "a@x", "b")
	f.Add(`email\`, `=x`, `email\=x`)
	f.Add("a,b", "c", `a\,b\=c`)
	f.Add(`\`, `=`, `\\=`)
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, col, val, other string) {
		u := UniqueKey("t", []string{col}, []string{val})
		for _, rk := range []ledger.Key{
			ledger.RowKey("t", u.Row), ledger.RowKey("t", col, val), ledger.RowKey("t", other),
			ledger.RowKey("t", other, col), ledger.RowKey("t", col+uniqueSep+val),
		} {
			if rk == u {
				t.Fatalf("UniqueKey(%q, %q) = row key %q", col, val, rk)
			}
		}
		if o := UniqueKey("t", []string{col, val}, []string{other}); o == u {
			t.Fatalf("UniqueKey(%q, %q) = UniqueKey(%q,%q, %q)", col, val, col, val, other)
		}
		if o := UniqueKey("t", []string{other}, []string{val}); (o == u) != (other == col) {
			t.Fatalf("UniqueKey(%q, %q) vs column %q: %q, %q", col, val, other, u, o)
		}
		if o := UniqueKey("t", []string{col}, []string{other}); (o == u) != (other == val) {
			t.Fatalf("UniqueKey(%q, %q) vs value %q: %q, %q", col, val, other, u, o)
		}
	})
}

// FuzzKeysRel checks that Keys neither fails nor panics on any statement
// under a schema with unique indexes and foreign keys, and that it groups
// keys by table.
func FuzzKeysRel(f *testing.F) {
	for _, line := range corpusLines(f) {
		f.Add(line)
	}
	f.Add("INSERT INTO orders (id, user_id, user_email) VALUES ($1, $2, $3), (4, $1, DEFAULT) ON CONFLICT (id) DO UPDATE SET user_id = excluded.id")
	f.Add("UPDATE users SET (email, handle) = (SELECT 'a', 'b') WHERE id = $1")
	f.Add("WITH x AS (UPDATE users SET email = $1 WHERE id = 1) UPDATE users SET email = $2 WHERE id = 2")
	az := newAnalyzer(f)
	f.Fuzz(func(t *testing.T, text string) {
		a, err := az.Analyze(text)
		if err != nil {
			return
		}
		vals := make([]any, min(a.NumParams, 1<<16))
		for i := range vals {
			vals[i] = []any{int64(i), nil, "s"}[i%3]
		}
		keys, err := a.Keys(rel, args(vals...))
		if err != nil && len(vals) == a.NumParams {
			t.Fatalf("Keys: %v", err)
		}
		for i, k := range keys {
			if i > 0 && keys[i-1].Table != k.Table && slices.ContainsFunc(keys[:i], func(p ledger.Key) bool { return p.Table == k.Table }) {
				t.Fatalf("Keys = %q: table %s not grouped", keyStrings(keys), k.Table)
			}
		}
	})
}
