package router

import "testing"

// TestContained: only single-table writes that read nothing beyond the rows
// they lock are contained, and only on PostgreSQL.
func TestContained(t *testing.T) {
	pg := mustAnalyzer(t, "postgres")
	for _, tc := range []struct {
		sql  string
		want bool
	}{
		{`UPDATE kv SET v = v + 1 WHERE id = $1`, true},
		{`UPDATE "users" SET "name"=$1,"updated_at"=$2 WHERE "users"."deleted_at" IS NULL AND "id" = $3`, true},
		{`DELETE FROM kv WHERE id = $1`, true},
		{`INSERT INTO kv (id, v) VALUES ($1, $2), ($3, $4)`, true},
		{`UPDATE kv SET v = 1`, true},
		{`UPDATE kv SET v = (SELECT max(v) FROM kv) WHERE id = $1`, false},
		{`UPDATE kv SET v = w.v FROM other w WHERE kv.id = w.id`, false},
		{`UPDATE kv SET v = abs($1) WHERE id = $2`, false},
		{`UPDATE kv SET v = v + 1 WHERE id IN (SELECT id FROM hot)`, false},
		{`UPDATE kv SET v = v + 1 WHERE id = $1 RETURNING v`, false},
		{`INSERT INTO kv (id, v) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET v = excluded.v`, false},
		{`INSERT INTO kv (id, v) VALUES ($1, $2) ON CONFLICT DO NOTHING`, false},
		{`INSERT INTO kv SELECT * FROM staging ORDER BY id`, false},
		{`WITH x AS (SELECT 1) UPDATE kv SET v = 1 WHERE id = $1`, false},
		{`UPDATE kv SET v = now() WHERE id = $1`, false},
		{`DELETE FROM kv USING kv k2 WHERE kv.id = k2.id`, false},
		{`SELECT * FROM kv WHERE id = $1`, false},
		{`CREATE TABLE t (id int)`, false},
		{`UPDATE kv SET v = 1 WHERE id = $1; UPDATE kv SET v = 2 WHERE id = $2`, false},
	} {
		a, err := pg.Analyze(tc.sql)
		if err != nil {
			t.Fatalf("%s: %v", tc.sql, err)
		}
		if got := a.Contained(); got != tc.want {
			t.Errorf("%s: Contained() = %v, want %v", tc.sql, got, tc.want)
		}
	}
	my := mustAnalyzer(t, "mysql")
	if a, err := my.Analyze("UPDATE kv SET v = v + 1 WHERE id = ?"); err != nil || a.Contained() {
		t.Errorf("a MySQL write is contained (%v)", err)
	}
}

func mustAnalyzer(t *testing.T, dialect string) *Analyzer {
	t.Helper()
	an, err := NewAnalyzer(dialect, 0)
	if err != nil {
		t.Fatal(err)
	}
	return an
}
