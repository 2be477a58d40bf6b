package backend

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/router"
)

var _ router.Schema = (*Schema)(nil)

// TestSchemaPostgres reads keys GORM-like tables declare from a real server
// (opt-in: CALIBRATED_TEST_POSTGRES).
func TestSchemaPostgres(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, dbtest.Postgres(t, 1))[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, q := range []string{
		`CREATE TABLE users (id bigserial PRIMARY KEY, created_at timestamptz, deleted_at timestamptz,
			name text, email text, org_id bigint, handle text, nick text)`,
		`CREATE UNIQUE INDEX idx_users_email ON users (email)`,
		`ALTER TABLE users ADD CONSTRAINT uni_users_handle UNIQUE (org_id, handle)`,
		`CREATE UNIQUE INDEX idx_users_nick ON users (nick) INCLUDE (name)`,
		`CREATE UNIQUE INDEX idx_users_lower_name ON users (lower(name))`,
		`CREATE UNIQUE INDEX idx_users_active_name ON users (name) WHERE deleted_at IS NULL`,
		`CREATE INDEX idx_users_name ON users (name)`,
		`CREATE TABLE orders (id bigserial PRIMARY KEY, user_id bigint, user_email text, amount numeric,
			CONSTRAINT fk_users_orders FOREIGN KEY (user_id) REFERENCES users (id),
			CONSTRAINT fk_orders_email FOREIGN KEY (user_email) REFERENCES users (email) ON DELETE CASCADE)`,
		`CREATE SCHEMA sales`,
		`CREATE TABLE sales.lines (order_id bigint REFERENCES orders (id), n int, org_id bigint, handle text,
			PRIMARY KEY (order_id, n), FOREIGN KEY (handle, org_id) REFERENCES users (handle, org_id))`,
		`CREATE TABLE "Tags" ("ID" bigint PRIMARY KEY, "Name" text UNIQUE)`,
		`CREATE TABLE events (id bigint, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)`,
		`CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
		`CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
		`CREATE TABLE event_notes (id bigint PRIMARY KEY, event_id bigint, event_at date,
			FOREIGN KEY (event_id, event_at) REFERENCES events (id, at))`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	s := &Schema{DB: func() *sql.DB { return db }, Dialect: "postgres"}
	tests := []struct {
		table  string
		pk     []string
		unique [][]string
		fks    []router.ForeignKey
	}{
		{table: "users", pk: []string{"id"}, unique: [][]string{{"email"}, {"nick"}, {"org_id", "handle"}}},
		{table: "orders", pk: []string{"id"}, fks: []router.ForeignKey{
			{Columns: []string{"user_email"}, Parent: "users", ParentColumns: []string{"email"}},
			{Columns: []string{"user_id"}, Parent: "users", ParentColumns: []string{"id"}},
		}},
		{table: "sales.lines", pk: []string{"order_id", "n"}, fks: []router.ForeignKey{
			{Columns: []string{"handle", "org_id"}, Parent: "users", ParentColumns: []string{"handle", "org_id"}},
			{Columns: []string{"order_id"}, Parent: "orders", ParentColumns: []string{"id"}},
		}},
		{table: "Tags", pk: []string{"id"}, unique: [][]string{{"name"}}},
		{table: "events", pk: []string{"id", "at"}},
		{table: "event_notes", pk: []string{"id"}, fks: []router.ForeignKey{
			{Columns: []string{"event_id", "event_at"}, Parent: "events", ParentColumns: []string{"id", "at"}},
		}},
		{table: "missing"},
	}
	for _, tt := range tests {
		if got := s.PrimaryKey(tt.table); !slices.Equal(got, tt.pk) {
			t.Errorf("PrimaryKey(%q) = %q, want %q", tt.table, got, tt.pk)
		}
		if got := s.UniqueKeys(tt.table); !reflect.DeepEqual(got, tt.unique) {
			t.Errorf("UniqueKeys(%q) = %q, want %q", tt.table, got, tt.unique)
		}
		if got := s.ForeignKeys(tt.table); !reflect.DeepEqual(got, tt.fks) {
			t.Errorf("ForeignKeys(%q) = %+v, want %+v", tt.table, got, tt.fks)
		}
	}

	// The router keys a child row by its parent's key, as a statement
	// pinning the parent that way is keyed.
	az, err := router.NewAnalyzer("postgres", 16)
	if err != nil {
		t.Fatal(err)
	}
	keys := func(text string, args ...any) []ledger.Key {
		t.Helper()
		a, err := az.Analyze(text)
		if err != nil {
			t.Fatal(err)
		}
		nv := make([]driver.NamedValue, len(args))
		for i, v := range args {
			nv[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
		}
		k, err := a.Keys(s, nv)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	for _, pair := range [][2][]ledger.Key{
		{keys(`INSERT INTO "orders" ("id","user_email") VALUES ($1,$2)`, int64(1), "a@x"), keys(`DELETE FROM "users" WHERE "email" = $1`, "a@x")},
		{keys(`INSERT INTO "orders" ("id","user_id") VALUES ($1,$2)`, int64(1), int64(5)), keys(`DELETE FROM "users" WHERE "id" = $1`, int64(5))},
		{keys(`INSERT INTO sales.lines (order_id, n, org_id, handle) VALUES (1, 1, 3, 'ann')`), keys(`INSERT INTO users (id, org_id, handle) VALUES (9, 3, 'ann')`)},
		{keys(`INSERT INTO users (id, email) VALUES (1, 'a@x')`), keys(`UPDATE users SET email = 'a@x' WHERE id = 2`)},
	} {
		meet := slices.ContainsFunc(pair[0], func(x ledger.Key) bool {
			return slices.ContainsFunc(pair[1], func(y ledger.Key) bool { return ledger.Conflicts(x, y) })
		})
		if !meet {
			t.Errorf("keys %v and %v do not meet", pair[0], pair[1])
		}
	}

	// DDL: the schema is read again after Invalidate.
	if _, err := db.ExecContext(ctx, `ALTER TABLE orders ADD CONSTRAINT uni_orders_amount UNIQUE (amount)`); err != nil {
		t.Fatal(err)
	}
	if got := s.UniqueKeys("orders"); got != nil {
		t.Errorf("UniqueKeys(orders) before Invalidate = %q, want the cached nil", got)
	}
	s.Invalidate()
	if got, want := s.UniqueKeys("orders"), [][]string{{"amount"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("UniqueKeys(orders) after Invalidate = %q, want %q", got, want)
	}
}
