package router

import (
	"fmt"
	"testing"
)

func TestMySQLClock(t *testing.T) {
	az, err := NewAnalyzer("mysql", 0)
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]bool{
		"UPDATE t SET at = NOW() WHERE id = ?":                true,
		"INSERT INTO t (a, at) VALUES (?, CURRENT_TIMESTAMP)": true,
		"SELECT NOW()":                    false, // runs on one backend
		"UPDATE t SET a = ? WHERE id = ?": false,
	} {
		a, err := az.Analyze(text)
		if err != nil {
			t.Fatal(err)
		}
		if a.Clock != want {
			t.Errorf("%q: Clock %v, want %v", text, a.Clock, want)
		}
	}
}

func TestParseMySQLInsert(t *testing.T) {
	text := "INSERT INTO `items` (`code`,`n`) VALUES (?, 'a)?'), (?,?) /* c */ ON DUPLICATE KEY UPDATE n = ? + 1"
	m, err := ParseMySQLInsert(text)
	if err != nil {
		t.Fatal(err)
	}
	if m.Rows() != 2 {
		t.Fatalf("%d rows", m.Rows())
	}
	for _, tt := range []struct {
		rows []int
		vals []string
		want string
		args string
	}{
		{[]int{0, 1}, []string{"7", "9"}, "INSERT INTO `items` (`code`,`n`, `id`) VALUES (?, 'a)?', 7), (?,?, 9) /* c */ ON DUPLICATE KEY UPDATE n = ? + 1", "[0 1 2 3]"},
		{[]int{1}, nil, "INSERT INTO `items` (`code`,`n`) VALUES (?,?) /* c */ ON DUPLICATE KEY UPDATE n = ? + 1", "[1 2 3]"},
		{[]int{0}, []string{"5"}, "INSERT INTO `items` (`code`,`n`, `id`) VALUES (?, 'a)?', 5) /* c */ ON DUPLICATE KEY UPDATE n = ? + 1", "[0 3]"},
	} {
		got, args := m.Text(tt.rows, "id", tt.vals)
		if got != tt.want || fmt.Sprint(args) != tt.args {
			t.Errorf("Text(%v, %v) = %q, %v\nwant %q, %s", tt.rows, tt.vals, got, args, tt.want, tt.args)
		}
	}
	for _, bad := range []string{"INSERT INTO t VALUES (1)", "INSERT INTO t (a) SELECT a FROM u", "UPDATE t SET a = 1"} {
		if _, err := ParseMySQLInsert(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestAddSQLiteInsertColumns(t *testing.T) {
	got, err := AddSQLiteInsertColumns("INSERT INTO `users` (`name`,`age`) VALUES (?,?),(?, ?2) ON CONFLICT DO NOTHING RETURNING `id`", []string{"id", "at"}, 3)
	want := "INSERT INTO `users` (`name`,`age`, \"id\", \"at\") VALUES (?1,?2, ?3, ?4),(?3, ?2, ?5, ?6) ON CONFLICT DO NOTHING RETURNING `id`"
	if err != nil || got != want {
		t.Fatalf("got %q, %v\nwant %q", got, err, want)
	}
	if _, err := AddSQLiteInsertColumns("INSERT INTO t (a) VALUES (:a)", []string{"id"}, 2); err == nil {
		t.Error("named parameter renumbered")
	}
}

func TestParseSQLiteInsertSelect(t *testing.T) {
	s, err := ParseSQLiteInsertSelect("INSERT INTO `users__temp`(`id`,`name`) SELECT `id`,`name` FROM `users`")
	if err != nil || s.Table != "users" || s.Qual != "`users`" || s.At != len("INSERT INTO `users__temp`(`id`,`name`) SELECT `id`,`name` FROM `users`") {
		t.Fatalf("%+v, %v", s, err)
	}
	for _, bad := range []string{
		"INSERT INTO t (a) SELECT a FROM u JOIN v ON u.x = v.x",
		"INSERT INTO t (a) SELECT DISTINCT a FROM u",
		"INSERT INTO t (a) SELECT count(*) FROM u GROUP BY b",
		"INSERT INTO t (a) VALUES (1)",
	} {
		if _, err := ParseSQLiteInsertSelect(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestMySQLReturning(t *testing.T) {
	az, err := NewAnalyzer("mysql", 0)
	if err != nil {
		t.Fatal(err)
	}
	text := "INSERT INTO `users` (`name`,`email`) VALUES (?,?) RETURNING `id`"
	a, err := az.Analyze(text)
	if err != nil || a.Kind != Write || !a.Returning || a.NumParams != 2 || a.Text != text {
		t.Fatalf("%+v, %v", a, err)
	}
	stripped, list, ok := MySQLReturning(text)
	if !ok || stripped != "INSERT INTO `users` (`name`,`email`) VALUES (?,?)" || list != "`id`" {
		t.Fatalf("%q, %q, %v", stripped, list, ok)
	}
	for _, bad := range []string{"INSERT INTO t (a) VALUES (1) RETURNING a + ?", "SELECT 1 RETURNING x", "UPDATE t SET a = 1 RETURNING a"} {
		if _, err := az.Analyze(bad); err == nil {
			t.Errorf("%q analysed", bad)
		}
	}
}
