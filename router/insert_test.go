package router

import "testing"

func TestAddInsertColumns(t *testing.T) {
	got, err := AddInsertColumns(`INSERT INTO "users" ("name","email") VALUES ($1,$2),($3,$4) RETURNING "id"`,
		[]string{"id", "at"}, []string{"bigint", "timestamp with time zone"}, 5, false)
	if err != nil {
		t.Fatal(err)
	}
	want := `INSERT INTO users (name, email, id, at) VALUES ($1, $2, $5::bigint, $6::timestamp with time zone), ($3, $4, $7::bigint, $8::timestamp with time zone) RETURNING id`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	a, err := NewAnalyzer("postgres", 8)
	if err != nil {
		t.Fatal(err)
	}
	an, err := a.Analyze(got)
	if err != nil || an.NumParams != 8 || len(an.Tables[0].InsertCols) != 4 {
		t.Fatalf("rewritten text analyses as %+v, %v", an, err)
	}
	got, err = AddInsertColumns(`INSERT INTO t (v) VALUES ($1) ON CONFLICT DO NOTHING`, []string{"id"}, []string{"integer"}, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	if want := `INSERT INTO t (v, id) OVERRIDING SYSTEM VALUE VALUES ($1, $2::int) ON CONFLICT DO NOTHING`; got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	for _, bad := range []string{`UPDATE t SET v = 1`, `INSERT INTO t SELECT 1`, `INSERT INTO t VALUES (1)`, `nonsense`} {
		if _, err := AddInsertColumns(bad, []string{"id"}, []string{"int"}, 1, false); err == nil {
			t.Errorf("%s: rewritten", bad)
		}
	}
}
