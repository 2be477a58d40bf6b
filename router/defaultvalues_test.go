package router

import "testing"

func TestAddDefaultValuesColumns(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{`INSERT INTO "empty_structs" DEFAULT VALUES RETURNING "id"`, `INSERT INTO empty_structs (id, at) VALUES ($1::bigint, $2::timestamp with time zone) RETURNING id`, true},
		{`INSERT INTO t (a) VALUES (1)`, "", false},
		{`INSERT INTO t SELECT 1`, "", false},
		{`UPDATE t SET a = 1`, "", false},
	} {
		got, ok, err := AddDefaultValuesColumns(c.in, []string{"id", "at"}, []string{"bigint", "timestamp with time zone"}, 1, false)
		if err != nil || ok != c.ok || got != c.want {
			t.Errorf("%s:\n got %q, %v, %v\nwant %q, %v", c.in, got, ok, err, c.want, c.ok)
		}
	}
}

func TestAddSQLiteDefaultValuesColumns(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"INSERT INTO `empty_structs` DEFAULT VALUES RETURNING `id`", "INSERT INTO `empty_structs` (\"id\", \"at\") VALUES (?1, ?2) RETURNING `id`", true},
		{"insert into main.t as x /* c */ default\n values returning id, ? + 1", "insert into main.t as x /* c */ (\"id\", \"at\") VALUES (?2, ?3) returning id, ?1 + 1", true},
		{"INSERT INTO t (a) VALUES (1)", "", false},
		{"INSERT INTO t SELECT 1", "", false},
		{"UPDATE t SET a = 1", "", false},
	} {
		first := 1
		if c.ok && c.in[0] == 'i' {
			first = 2
		}
		got, ok, err := AddSQLiteDefaultValuesColumns(c.in, []string{"id", "at"}, first)
		if err != nil || ok != c.ok || got != c.want {
			t.Errorf("%s:\n got %q, %v, %v\nwant %q, %v", c.in, got, ok, err, c.want, c.ok)
		}
	}
	if _, _, err := AddSQLiteDefaultValuesColumns("INSERT INTO t DEFAULT VALUES RETURNING :a", []string{"id"}, 2); err == nil {
		t.Error("named parameter renumbered")
	}
}
