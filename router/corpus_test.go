package router

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The GORM corpora, testdata/gorm-{postgres,mysql,sqlite}.sql, are what
// GORM sends for internal/corpusgen's workload; refresh them with
// go generate ./router/ (see testdata/README.md).
//go:generate go run ./internal/corpusgen -out testdata

// corpusPath is the PostgreSQL GORM corpus, testdata/gorm-postgres.sql.
const corpusPath = "testdata/gorm-postgres.sql"

// corpusLines returns the statements of the PostgreSQL corpus, one a line.
func corpusLines(tb testing.TB) []string {
	tb.Helper()
	return readCorpus(tb, corpusPath)
}

// readCorpus returns the non-empty lines of the corpus file at path. The
// corpora are part of the repository (go generate ./router/ rebuilds them),
// so an absent or unreadable file fails the test.
func readCorpus(tb testing.TB, path string) []string {
	tb.Helper()
	f, err := os.Open(filepath.FromSlash(path))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			lines = append(lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(lines) == 0 {
		tb.Fatalf("%s is empty", path)
	}
	return lines
}

func TestCorpus(t *testing.T) {
	az := newAnalyzer(t)
	lines := corpusLines(t)
	for _, line := range lines {
		a, err := az.Analyze(line)
		if err != nil {
			t.Errorf("%s: %v", line, err)
			continue
		}
		if _, err := a.Keys(schema, args(make([]any, a.NumParams)...)); err != nil {
			t.Errorf("%s: Keys: %v", line, err)
		}
	}

	// A labelled sample, copied from the corpus.
	sample := []struct {
		text   string
		kind   Kind
		tables []string // names, targets first
		args   []any
		keys   []string // nil: not checked
	}{
		{`CREATE TABLE "user_languages" ("user_id" bigint,"language_id" bigint,PRIMARY KEY ("user_id","language_id"),CONSTRAINT "fk_user_languages_user" FOREIGN KEY ("user_id") REFERENCES "users"("id"),CONSTRAINT "fk_user_languages_language" FOREIGN KEY ("language_id") REFERENCES "languages"("id"))`,
			DDL, []string{"user_languages", "users", "languages"}, nil, []string{"*"}},
		{`DROP TABLE IF EXISTS "audit_log_archive" CASCADE`, DDL, []string{"audit_log_archive"}, nil, []string{"*"}},
		{`INSERT INTO "users" ("name","email","age","created_at","updated_at","deleted_at") VALUES ($1,$2,$3,$4,$5,$6) RETURNING "id"`,
			Write, []string{"users"}, []any{"a", "b", 1, nil, nil, nil}, []string{"users"}},
		{`INSERT INTO "user_languages" ("user_id","language_id") VALUES ($1,$2),($3,$4) ON CONFLICT DO NOTHING`,
			Write, []string{"user_languages"}, []any{int64(1), int64(2), int64(1), int64(3)}, []string{"user_languages/1,2", "user_languages/1,3"}},
		{`INSERT INTO "users" ("name","email","age","created_at","updated_at","deleted_at","id") VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT ("id") DO UPDATE SET "updated_at"=$8,"name"="excluded"."name","email"="excluded"."email","age"="excluded"."age","deleted_at"="excluded"."deleted_at" RETURNING "id"`,
			Write, []string{"users"}, []any{"a", "b", 1, nil, nil, nil, int64(42), nil}, []string{"users/42"}},
		{`SELECT * FROM "users" WHERE "users"."id" = $1 AND "users"."deleted_at" IS NULL AND "users"."id" = $2 ORDER BY "users"."id" LIMIT $3`,
			Read, []string{"users"}, []any{int64(3), int64(3), 1}, []string{"users/3"}},
		{`SELECT * FROM "users" WHERE "users"."id" IN ($1,$2,$3) AND "users"."deleted_at" IS NULL`,
			Read, []string{"users"}, []any{int64(3), int64(1), int64(2)}, []string{"users/1", "users/2", "users/3"}},
		{`SELECT * FROM "users" WHERE (id = $1 OR (email = $2 AND age > $3)) AND "users"."deleted_at" IS NULL`,
			Read, []string{"users"}, []any{int64(1), "e", 3}, []string{"users"}},
		{`SELECT * FROM "users" WHERE id IN (SELECT user_id FROM "orders" WHERE amount > $1) AND "users"."deleted_at" IS NULL`,
			Read, []string{"users", "orders"}, []any{10}, []string{"users", "orders"}},
		{`SELECT "orders"."id","orders"."user_id","orders"."amount","orders"."status","orders"."created_at","orders"."updated_at","orders"."deleted_at","User"."id" AS "User__id","User"."name" AS "User__name","User"."email" AS "User__email","User"."age" AS "User__age","User"."created_at" AS "User__created_at","User"."updated_at" AS "User__updated_at","User"."deleted_at" AS "User__deleted_at" FROM "orders" LEFT JOIN "users" "User" ON "orders"."user_id" = "User"."id" AND "User"."deleted_at" IS NULL WHERE "User"."name" = $1 AND "orders"."deleted_at" IS NULL`,
			Read, []string{"orders", "users"}, []any{"n"}, []string{"orders", "users"}},
		{`SELECT users.name, orders.amount FROM "users" left join orders on orders.user_id = users.id WHERE users.id = $1 AND "users"."deleted_at" IS NULL`,
			Read, []string{"users", "orders"}, []any{int64(8)}, []string{"users/8", "orders"}},
		{`SELECT * FROM "users" WHERE "users"."id" = 5 FOR NO KEY UPDATE SKIP LOCKED`, Read, []string{"users"}, nil, []string{"users/5"}},
		{`UPDATE "users" SET "age"=age + $1,"updated_at"=$2 WHERE "users"."deleted_at" IS NULL AND "id" = $3`,
			Write, []string{"users"}, []any{1, nil, int64(6)}, []string{"users/6"}},
		{`UPDATE "users" SET "deleted_at"=$1 WHERE "users"."id" IN ($2,$3,$4) AND "users"."deleted_at" IS NULL`,
			Write, []string{"users"}, []any{nil, int64(1), int64(2), int64(2)}, []string{"users/1", "users/2"}},
		{`UPDATE "users" SET "deleted_at"=$1 WHERE email LIKE $2 AND "users"."deleted_at" IS NULL`,
			Write, []string{"users"}, []any{nil, "%x"}, []string{"users"}},
		{`DELETE FROM "user_languages" WHERE "user_languages"."user_id" = $1 AND "user_languages"."language_id" = $2`,
			Write, []string{"user_languages"}, []any{int64(1), int64(2)}, []string{"user_languages/1,2"}},
		{`DELETE FROM "user_languages" WHERE "user_languages"."user_id" = $1 AND "user_languages"."language_id" <> $2`,
			Write, []string{"user_languages"}, []any{int64(1), int64(2)}, []string{"user_languages"}},
		{`UPDATE users SET name = $1 WHERE id = ANY($2)`, Write, []string{"users"}, []any{"n", "{1,2}"}, []string{"users"}},
		{`UPDATE users SET name = $1 WHERE id IN (1, 2, 3)`, Write, []string{"users"}, []any{"n"}, []string{"users/1", "users/2", "users/3"}},
		{`DELETE FROM users USING orders WHERE orders.user_id = users.id AND orders.id = $1`,
			Write, []string{"users", "orders"}, []any{int64(4)}, []string{"users", "orders/4"}},
		{`WITH moved AS (DELETE FROM orders WHERE status = 'cancelled' RETURNING *) INSERT INTO orders_archive SELECT * FROM moved`,
			Write, []string{"orders", "orders_archive"}, nil, []string{"orders", "orders_archive"}},
		{`WITH recent AS (SELECT user_id, count(*) AS n FROM orders WHERE created_at > now() - interval '1 day' GROUP BY user_id) SELECT u.id, u.name, r.n FROM users u JOIN recent r ON r.user_id = u.id`,
			Read, []string{"orders", "users"}, nil, nil},
		{`/* app=api,route=/users/:id */ SELECT * FROM "users" WHERE "users"."id" = $1 AND "users"."deleted_at" IS NULL`,
			Read, []string{"users"}, []any{int64(2)}, []string{"users/2"}},
		{`SAVEPOINT sp18195842673562426890`, Savepoint, nil, nil, nil},
		{`ROLLBACK TO SAVEPOINT sp1`, RollbackTo, nil, nil, nil},
		{`SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE`, Session, nil, nil, nil},
		{`SHOW TRANSACTION ISOLATION LEVEL`, Read, nil, nil, nil},
		{`EXPLAIN (ANALYZE, BUFFERS) UPDATE users SET name = 'x' WHERE id = 1`, Write, []string{"users"}, nil, []string{"users/1"}},
		{`TRUNCATE TABLE orders RESTART IDENTITY CASCADE`, Write, []string{"orders"}, nil, []string{"*"}},
		{`VALUES (1, 'a'), (2, 'b')`, Read, nil, nil, []string{}},
	}
	for _, s := range sample {
		if !slices.Contains(lines, s.text) {
			t.Errorf("sample line is not in the corpus: %s", s.text)
		}
		a, err := az.Analyze(s.text)
		if err != nil {
			continue // reported above
		}
		if a.Kind != s.kind || !slices.Equal(tableNames(a), s.tables) {
			t.Errorf("%s:\n  kind %v, tables %q; want %v, %q", s.text, a.Kind, tableNames(a), s.kind, s.tables)
		}
		if s.keys == nil {
			continue
		}
		keys, err := a.Keys(schema, args(s.args...))
		if got := keyStrings(keys); err != nil || !slices.Equal(got, s.keys) {
			t.Errorf("%s:\n  keys %q, %v; want %q", s.text, got, err, s.keys)
		}
	}
}
