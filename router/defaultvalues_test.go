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
