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

// TestSchemaPlainPostgres: only tables whose writes touch no row their
// keys do not name are plain (see Table.Plain), and the columns of their
// other unique indexes are known.
func TestSchemaPlainPostgres(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, dbtest.Postgres(t, 1))[0]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, q := range []string{
		`CREATE TABLE plain (id int PRIMARY KEY, v int)`,
		`CREATE TABLE refs (id int PRIMARY KEY, plain_id int REFERENCES plain (id))`,
		`CREATE TABLE casc_parent (id int PRIMARY KEY)`,
		`CREATE TABLE casc_child (id int PRIMARY KEY, p int REFERENCES casc_parent (id) ON DELETE CASCADE)`,
		`CREATE TABLE uref_parent (id int PRIMARY KEY, code text UNIQUE)`,
		`CREATE TABLE uref_child (id int PRIMARY KEY, code text REFERENCES uref_parent (code))`,
		`CREATE TABLE uniq (id int PRIMARY KEY, "Email" text UNIQUE, org int, handle text, name text, UNIQUE (org, handle))`,
		`CREATE TABLE partial (id int PRIMARY KEY, email text)`,
		`CREATE UNIQUE INDEX partial_email ON partial (email) WHERE id > 0`,
		`CREATE TABLE expr (id int PRIMARY KEY, email text)`,
		`CREATE UNIQUE INDEX expr_email ON expr (lower(email))`,
		`CREATE TABLE nopk (id int, v int)`,
		`CREATE TABLE audited (id int PRIMARY KEY, v int)`,
		`CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN INSERT INTO nopk VALUES (NEW.id, NEW.v); RETURN NEW; END $$`,
		`CREATE TRIGGER audited_row AFTER UPDATE ON audited FOR EACH ROW EXECUTE FUNCTION audit_row()`,
		`CREATE TABLE ruled (id int PRIMARY KEY, v int)`,
		`CREATE RULE ruled_log AS ON UPDATE TO ruled DO ALSO INSERT INTO nopk VALUES (NEW.id, NEW.v)`,
		`CREATE TABLE secured (id int PRIMARY KEY, v int)`,
		`ALTER TABLE secured ENABLE ROW LEVEL SECURITY`,
		`CREATE TABLE deferred (id int PRIMARY KEY, x int UNIQUE DEFERRABLE INITIALLY DEFERRED)`,
		`CREATE TABLE excl (id int PRIMARY KEY, r int4range, EXCLUDE USING gist (r WITH &&))`,
		`CREATE TABLE parent_t (id int PRIMARY KEY, v int)`,
		`CREATE TABLE heir (extra int) INHERITS (parent_t)`,
		`CREATE TABLE parts (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at)`,
		`CREATE TABLE parts_2025 PARTITION OF parts FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s := &Schema{DB: func() *sql.DB { return db }, Dialect: "postgres"}
	for table, want := range map[string]bool{
		"plain": true, "refs": true, "uniq": true,
		"casc_parent": false, "casc_child": false, "uref_parent": false, "uref_child": false, "partial": false,
		"expr": false, "nopk": false, "audited": false, "ruled": false, "secured": false, "deferred": false,
		"excl": false, "parent_t": false, "heir": false, "parts": false, "parts_2025": false, "missing": false,
	} {
		info, err := s.Table(ctx, table)
		if err != nil {
			t.Fatal(err)
		}
		if got := info != nil && info.Plain; got != want {
			t.Errorf("%s: Plain = %v, want %v", table, got, want)
		}
	}
	for table, want := range map[string]map[string]bool{
		"plain": nil,
		"uniq":  {"email": true, "org": true, "handle": true},
	} {
		info, _ := s.Table(ctx, table)
		if info == nil || !reflect.DeepEqual(info.UniqueColumns, want) {
			t.Errorf("%s: UniqueColumns = %v, want %v", table, info, want)
		}
	}
}
