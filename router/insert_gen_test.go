package router

import (
	"database/sql/driver"
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
	// Rows whose id is replaced: mixed rows (GORM writes DEFAULT or NULL
	// for new records next to existing ones), nested values, no column list.
	for _, tt := range []struct {
		text string
		rows []int
		at   int
		vals []string
		want string
		args string
	}{
		{"INSERT INTO `t` (`name`,`id`) VALUES (?,?),(?,DEFAULT),('x', NULL ) ON DUPLICATE KEY UPDATE name = ?", []int{0, 1, 2}, 1, []string{"", "8", "9"},
			"INSERT INTO `t` (`name`,`id`) VALUES (?,?), (?,8), ('x', 9) ON DUPLICATE KEY UPDATE name = ?", "[0 1 2 3]"},
		{"INSERT INTO `t` (`name`,`id`) VALUES (?,?),(?,DEFAULT)", []int{0}, 1, []string{"5"}, "INSERT INTO `t` (`name`,`id`) VALUES (?,5)", "[0]"},
		{"INSERT INTO t (a, id) VALUES (CONCAT(?, ','), (SELECT 1)), (?, ?)", []int{0, 1}, 1, []string{"7", "8"}, "INSERT INTO t (a, id) VALUES (CONCAT(?, ','), 7), (?, 8)", "[0 1]"},
		{"INSERT INTO t VALUES (NULL, ?)", []int{0}, 0, []string{"3"}, "INSERT INTO t VALUES (3, ?)", "[0]"},
	} {
		m, err := ParseMySQLInsert(tt.text)
		if err != nil {
			t.Fatalf("%q: %v", tt.text, err)
		}
		got, args := m.Replace(tt.rows, tt.at, tt.vals)
		if got != tt.want || fmt.Sprint(args) != tt.args {
			t.Errorf("Replace(%v, %d, %v) of %q = %q, %v\nwant %q, %s", tt.rows, tt.at, tt.vals, tt.text, got, args, tt.want, tt.args)
		}
	}
	// INSERT INTO t VALUES () and INSERT INTO t () VALUES () (GORM's
	// empty struct) get a column list for the id.
	for text, want := range map[string]string{
		"INSERT INTO `t` VALUES ()":      "INSERT INTO `t` (`id`) VALUES (4), (5)",
		"INSERT INTO t () VALUES (), ()": "INSERT INTO t (`id`) VALUES (4), (5)",
	} {
		m, err := ParseMySQLInsert(text)
		if err != nil {
			t.Fatalf("%q: %v", text, err)
		}
		rows := []int{0, 0}
		if m.Rows() == 2 {
			rows = []int{0, 1}
		}
		if got, _ := m.Text(rows, "id", []string{"4", "5"}); got != want {
			t.Errorf("Text of %q = %q, want %q", text, got, want)
		}
	}
	for _, bad := range []string{"INSERT INTO t (a) SELECT a FROM u", "UPDATE t SET a = 1", "INSERT INTO t SET a = 1", "INSERT INTO t PARTITION (p0) (a) VALUES (1)"} {
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

func TestLeftToDatabase(t *testing.T) {
	az, err := NewAnalyzer("mysql", 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := az.Analyze("INSERT INTO t (name, id) VALUES (?, ?), (?, NULL), ('c', DEFAULT), ('d', 0), ('e', 5), (?, ?), (?, ?), ('h', 1 + 1)")
	if err != nil {
		t.Fatal(err)
	}
	args := []driver.NamedValue{{Ordinal: 1, Value: "a"}, {Ordinal: 2, Value: int64(3)}, {Ordinal: 3, Value: "b"},
		{Ordinal: 4, Value: "f"}, {Ordinal: 5, Value: nil}, {Ordinal: 6, Value: "g"}, {Ordinal: 7, Value: int64(0)}}
	if got := fmt.Sprint(a.Tables[0].LeftToDatabase(1, true, args)); got != "[false true true true false true true true]" {
		t.Errorf("with zero: %s", got)
	}
	if got := fmt.Sprint(a.Tables[0].LeftToDatabase(1, false, args)); got != "[false true true false false true false true]" {
		t.Errorf("without zero: %s", got)
	}
}
