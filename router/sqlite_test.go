package router

import (
	"bufio"
	"database/sql/driver"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func newSQLiteAnalyzer(tb testing.TB) *Analyzer {
	tb.Helper()
	az, err := NewAnalyzer("sqlite", 256)
	if err != nil {
		tb.Fatal(err)
	}
	return az
}

func analyzeSQLite(tb testing.TB, text string) *Analysis {
	tb.Helper()
	a, err := newSQLiteAnalyzer(tb).Analyze(text)
	if err != nil {
		tb.Fatalf("Analyze(%q): %v", text, err)
	}
	return a
}

// sqliteCorpus returns the statements of testdata/gorm-sqlite.sql, one a
// line.
func sqliteCorpus(tb testing.TB) []string {
	tb.Helper()
	f, err := os.Open(filepath.Join("testdata", "gorm-sqlite.sql"))
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
	return lines
}

// liteSchema is the schema GORM's AutoMigrate gives the corpus's models,
// plus the demo's accounts.
var liteSchema = relSchema{
	pk: map[string][]string{
		"users":          {"id"},
		"languages":      {"id"},
		"user_languages": {"user_id", "language_id"},
		"orders":         {"id"},
		"audit_logs":     {"id"},
		"accounts":       {"id"},
		"tokens":         {"id"},
	},
	unique: map[string][][]string{
		"users":     {{"email"}},
		"languages": {{"code"}},
	},
	fks: map[string][]ForeignKey{
		"orders": {{Columns: []string{"user_id"}, Parent: "users", ParentColumns: []string{"id"}}},
		"user_languages": {
			{Columns: []string{"user_id"}, Parent: "users", ParentColumns: []string{"id"}},
			{Columns: []string{"language_id"}, Parent: "languages", ParentColumns: []string{"id"}},
		},
	},
}

func TestSQLiteCorpus(t *testing.T) {
	az := newSQLiteAnalyzer(t)
	lines := sqliteCorpus(t)
	if len(lines) < 200 {
		t.Fatalf("corpus has %d lines", len(lines))
	}
	for _, line := range lines {
		a, err := az.Analyze(line)
		if err != nil {
			t.Errorf("%s: %v", line, err)
			continue
		}
		if _, err := a.Keys(liteSchema, args(make([]any, a.NumParams)...)); err != nil {
			t.Errorf("%s: Keys: %v", line, err)
		}
		if _, err := a.Rewritten(); err != nil {
			var ue *UnsafeError
			if !errors.As(err, &ue) {
				t.Errorf("%s: Rewritten: %v is not an *UnsafeError", line, err)
			}
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
		{"CREATE TABLE `user_languages` (`user_id` integer,`language_id` integer,PRIMARY KEY (`user_id`,`language_id`),CONSTRAINT `fk_user_languages_user` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`),CONSTRAINT `fk_user_languages_language` FOREIGN KEY (`language_id`) REFERENCES `languages`(`id`))",
			DDL, []string{"user_languages", "users", "languages"}, nil, []string{"*"}},
		{"CREATE UNIQUE INDEX `idx_users_email` ON `users`(`email`)", DDL, []string{"users"}, nil, []string{"*"}},
		{"DROP INDEX `idx_users_deleted_at`", DDL, nil, nil, []string{"*"}},
		{"INSERT INTO `users__temp`(`id`,`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age`) SELECT `id`,`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age` FROM `users`",
			Write, []string{"users__temp", "users"}, nil, []string{"users__temp", "users"}},
		{"INSERT INTO `users` (`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age`) VALUES (?,?,?,?,?,?) RETURNING `id`",
			Write, []string{"users"}, []any{nil, nil, nil, "ann", "a@x", 30}, []string{"users"}},
		{"INSERT INTO `accounts` (`id`,`balance`) VALUES (?,?)", Write, []string{"accounts"}, []any{int64(1), int64(100)}, []string{"accounts/1"}},
		{"INSERT INTO `user_languages` (`user_id`,`language_id`) VALUES (?,?),(?,?) ON CONFLICT DO NOTHING",
			Write, []string{"user_languages"}, []any{int64(1), int64(2), int64(1), int64(3)},
			[]string{"user_languages/1,2", "user_languages/1,3", "users/1", "languages/2", "languages/3"}},
		{"INSERT INTO `users` (`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age`,`id`) VALUES (?,?,?,?,?,?,?) ON CONFLICT (`id`) DO UPDATE SET `updated_at`=?,`deleted_at`=`excluded`.`deleted_at`,`name`=`excluded`.`name`,`email`=`excluded`.`email`,`age`=`excluded`.`age` RETURNING `id`",
			Write, []string{"users"}, []any{nil, nil, nil, "ann", "a@x", 30, int64(42), nil}, []string{"users/42", `users/email\=a@x`}},
		{"INSERT INTO `users` (`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age`) VALUES (?,?,?,?,?,?),(?,?,?,?,?,?) ON CONFLICT (`email`) DO UPDATE SET `name`=`excluded`.`name`,`age`=`excluded`.`age` RETURNING `id`",
			Write, []string{"users"}, make([]any, 12), []string{"users"}},
		{"INSERT INTO `orders` (`user_id`,`amount`,`status`,`created_at`,`updated_at`,`deleted_at`) VALUES (?,?,?,?,?,?) RETURNING `id`",
			Write, []string{"orders"}, []any{int64(5), 10, "new", nil, nil, nil}, []string{"orders", "users/5"}},
		{"SELECT * FROM `users` WHERE `users`.`id` = ? AND `users`.`deleted_at` IS NULL AND `users`.`id` = ? ORDER BY `users`.`id` LIMIT 1",
			Read, []string{"users"}, []any{int64(3), int64(3)}, []string{"users/3"}},
		{"SELECT * FROM `users` WHERE `users`.`id` IN (?,?,?) AND `users`.`deleted_at` IS NULL",
			Read, []string{"users"}, []any{int64(3), int64(1), int64(2)}, []string{"users/1", "users/2", "users/3"}},
		{"SELECT * FROM `users` WHERE (`users`.`name` = ? AND `users`.`age` = ?) AND `users`.`deleted_at` IS NULL AND `users`.`id` = ? ORDER BY `users`.`id` LIMIT 1",
			Read, []string{"users"}, []any{"ann", 30, int64(4)}, []string{"users/4"}},
		{"SELECT * FROM `users` WHERE (id = ? OR (email = ? AND age > ?)) AND `users`.`deleted_at` IS NULL",
			Read, []string{"users"}, []any{int64(1), "e", 3}, []string{"users"}},
		{"SELECT * FROM `users` WHERE id IN (SELECT user_id FROM `orders` WHERE amount > ?) AND `users`.`deleted_at` IS NULL",
			Read, []string{"users", "orders"}, []any{10}, []string{"users", "orders"}},
		{"SELECT `orders`.`id`,`orders`.`user_id`,`orders`.`amount`,`orders`.`status`,`orders`.`created_at`,`orders`.`updated_at`,`orders`.`deleted_at`,`User`.`id` AS `User__id`,`User`.`created_at` AS `User__created_at`,`User`.`updated_at` AS `User__updated_at`,`User`.`deleted_at` AS `User__deleted_at`,`User`.`name` AS `User__name`,`User`.`email` AS `User__email`,`User`.`age` AS `User__age` FROM `orders` LEFT JOIN `users` `User` ON `orders`.`user_id` = `User`.`id` AND `User`.`deleted_at` IS NULL WHERE User.name = ? AND `orders`.`deleted_at` IS NULL",
			Read, []string{"orders", "users"}, []any{"ann"}, []string{"orders", "users"}},
		{"SELECT users.name, orders.amount FROM `users` left join orders on orders.user_id = users.id WHERE users.id = ?",
			Read, []string{"users", "orders"}, []any{int64(8)}, []string{"users/8", "orders"}},
		{"SELECT * FROM PRAGMA_index_list(?)", Read, nil, []any{"users"}, []string{}},
		{"UPDATE `users` SET `age`=age + ?,`updated_at`=? WHERE `users`.`deleted_at` IS NULL AND `id` = ?",
			Write, []string{"users"}, []any{1, nil, int64(6)}, []string{"users/6"}},
		{"UPDATE `users` SET `deleted_at`=? WHERE `users`.`id` IN (?,?,?) AND `users`.`deleted_at` IS NULL",
			Write, []string{"users"}, []any{nil, int64(1), int64(2), int64(2)}, []string{"users/1", "users/2"}},
		{"UPDATE `users` SET `deleted_at`=? WHERE email LIKE ? AND `users`.`deleted_at` IS NULL",
			Write, []string{"users"}, []any{nil, "%x"}, []string{"users"}},
		{"UPDATE orders SET status = ? FROM users WHERE users.id = orders.user_id AND users.id = ?",
			Write, []string{"orders", "users"}, []any{"paid", int64(4)}, []string{"orders", "users/4"}},
		{"DELETE FROM `user_languages` WHERE `user_languages`.`user_id` = ? AND `user_languages`.`language_id` = ?",
			Write, []string{"user_languages"}, []any{int64(1), int64(2)}, []string{"user_languages/1,2"}},
		{"DELETE FROM `user_languages` WHERE `user_languages`.`user_id` = ? AND `user_languages`.`language_id` <> ?",
			Write, []string{"user_languages"}, []any{int64(1), int64(2)}, []string{"user_languages"}},
		{"DELETE FROM orders WHERE id IN (SELECT id FROM orders WHERE status = 'cancelled' LIMIT 10)",
			Write, []string{"orders"}, nil, []string{"orders"}},
		{"INSERT OR REPLACE INTO languages (id, code, name) VALUES (?, ?, ?)",
			Write, []string{"languages"}, []any{int64(1), "en", "English"}, []string{"languages"}},
		{"INSERT OR IGNORE INTO languages (code, name) VALUES (?, ?)", Write, []string{"languages"}, []any{"en", "English"}, []string{"languages"}},
		{"WITH recent AS (SELECT user_id, count(*) AS n FROM orders WHERE created_at > datetime('now', '-1 day') GROUP BY user_id) SELECT u.id, u.name, r.n FROM users u JOIN recent r ON r.user_id = u.id",
			Read, []string{"orders", "users"}, nil, []string{"orders", "users"}},
		{"WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 10) SELECT sum(n) FROM t", Read, nil, nil, []string{}},
		{"/* app=api,route=/users/:id */ SELECT * FROM `users` WHERE `users`.`id` = ? AND `users`.`deleted_at` IS NULL",
			Read, []string{"users"}, []any{int64(2)}, []string{"users/2"}},
		{"SELECT * FROM other.users WHERE id = ?", Read, []string{"other.users"}, []any{int64(2)}, []string{"other.users"}},
		{"EXPLAIN QUERY PLAN SELECT * FROM users WHERE id = ?", Read, []string{"users"}, []any{int64(2)}, []string{"users/2"}},
		{"CREATE TRIGGER IF NOT EXISTS orders_touch AFTER UPDATE ON orders BEGIN UPDATE orders SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id; END",
			DDL, []string{"orders"}, nil, []string{"*"}},
		{"CREATE VIEW IF NOT EXISTS adults AS SELECT * FROM users WHERE age >= 18", DDL, []string{"adults", "users"}, nil, []string{"*"}},
		{"SAVEPOINT sp7906413175461652015", Savepoint, nil, nil, nil},
		{"ROLLBACK TO SAVEPOINT sp7906413175461652015", RollbackTo, nil, nil, nil},
		{"RELEASE sp1", Release, nil, nil, nil},
		{"BEGIN IMMEDIATE", Begin, nil, nil, nil},
		{"END TRANSACTION", Commit, nil, nil, nil},
		{"PRAGMA foreign_keys = OFF", Session, nil, nil, nil},
		{"PRAGMA foreign_keys", Read, nil, nil, []string{}},
		{"PRAGMA table_info(`users`)", Read, nil, nil, []string{}},
		{"ATTACH DATABASE 'other.db' AS other", Session, nil, nil, nil},
		{"VACUUM", DDL, nil, nil, []string{"*"}},
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
		keys, err := a.Keys(liteSchema, args(s.args...))
		if got := keyStrings(keys); err != nil || !slices.Equal(got, s.keys) {
			t.Errorf("%s:\n  keys %q, %v; want %q", s.text, got, err, s.keys)
		}
	}
}

// TestSQLiteDemoKeys checks the keys of the statements the demo's bank
// workload sends.
func TestSQLiteDemoKeys(t *testing.T) {
	tests := []struct {
		text string
		args []driver.NamedValue
		want []string
	}{
		{"CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)", nil, []string{"*"}},
		{"INSERT INTO accounts (id, balance) VALUES (?, ?)", args(int64(7), int64(100)), []string{"accounts/7"}},
		{"INSERT INTO accounts (id, balance) VALUES (?, ?), (?, ?)", args(int64(7), int64(100), 8, 100), []string{"accounts/7", "accounts/8"}},
		{"UPDATE accounts SET balance = balance + ? WHERE id = ?", args(5, 7), []string{"accounts/7"}},
		{"UPDATE accounts SET balance = balance + ? WHERE id = ?", args(int64(-5), int32(7)), []string{"accounts/7"}},
		{"UPDATE accounts SET balance = balance - ?2 WHERE id = ?1", args(7, 5), []string{"accounts/7"}},
		{"UPDATE accounts SET balance = balance - $2 WHERE id = $1", args(7, 5), []string{"accounts/7"}},
		{"UPDATE accounts SET balance = balance + ? WHERE id IN (?, ?)", args(5, 7, 9), []string{"accounts/7", "accounts/9"}},
		{"UPDATE `accounts` SET `balance`=balance + ? WHERE id = ?", args(5, 7), []string{"accounts/7"}},
		{"UPDATE accounts SET balance = 0", nil, []string{"accounts"}},
		{"UPDATE accounts SET id = ? WHERE id = ?", args(8, 7), []string{"accounts"}},
		{"SELECT balance FROM accounts WHERE id = ?", args(int64(7)), []string{"accounts/7"}},
		{"SELECT balance FROM accounts WHERE id = 7", nil, []string{"accounts/7"}},
		{"SELECT balance FROM Accounts WHERE ID = '7'", nil, []string{"accounts/7"}},
		{"SELECT balance FROM \"accounts\" WHERE \"accounts\".\"id\" = ?", args(7.0), []string{"accounts/7"}},
		{"SELECT balance FROM main.accounts a WHERE a.id = ?", args(int64(7)), []string{"accounts/7"}},
		{"SELECT balance FROM accounts WHERE id = :id", []driver.NamedValue{{Name: "id", Ordinal: 1, Value: int64(7)}}, []string{"accounts"}},
		{"SELECT sum(balance) FROM accounts", nil, []string{"accounts"}},
		{"DELETE FROM accounts WHERE id = ?", args(int64(7)), []string{"accounts/7"}},
		{"BEGIN", nil, nil},
		{"COMMIT", nil, nil},
	}
	az := newSQLiteAnalyzer(t)
	for _, tt := range tests {
		a, err := az.Analyze(tt.text)
		if err != nil {
			t.Errorf("%s: %v", tt.text, err)
			continue
		}
		keys, err := a.Keys(liteSchema, tt.args)
		if got := keyStrings(keys); err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s %v:\n  keys %q, %v; want %q", tt.text, tt.args, got, err, tt.want)
		}
	}
	a := analyzeSQLite(t, "UPDATE accounts SET balance = balance + ? WHERE id = ?")
	if _, err := a.Keys(liteSchema, args(5)); err == nil {
		t.Error("Keys with one argument for two placeholders: no error")
	}
}

func TestSQLiteAnalysis(t *testing.T) {
	tests := []struct {
		text  string
		check func(*Analysis) bool
	}{
		// Parameters bind as modernc.org/sqlite binds them.
		{"SELECT * FROM t WHERE a = ?2 AND b = ?", func(a *Analysis) bool {
			return a.NumParams == 3 && a.Tables[0].Eq["a"][0].Param == 2 && a.Tables[0].Eq["b"][0].Param == 3
		}},
		{"SELECT * FROM t WHERE a = ? AND b = ?1", func(a *Analysis) bool {
			return a.NumParams == 1 && a.Tables[0].Eq["a"][0].Param == 1 && a.Tables[0].Eq["b"][0].Param == 1
		}},
		{"SELECT * FROM t WHERE a = $2 AND b = $1", func(a *Analysis) bool {
			return a.NumParams == 2 && a.Tables[0].Eq["a"][0].Param == 2 && a.Tables[0].Eq["b"][0].Param == 1
		}},
		{"SELECT * FROM t WHERE a = $1::int", func(a *Analysis) bool { return a.NumParams == 1 && a.Tables[0].Eq["a"][0].Expr }},
		{"SELECT * FROM t WHERE a = :a AND b = @b AND c = $c AND d = :a", func(a *Analysis) bool {
			return a.NumParams == 3 && a.Tables[0].Eq["a"][0].Expr && a.Tables[0].Eq["b"][0].Expr
		}},
		{"UPDATE t SET a = ? WHERE id = ?; UPDATE u SET b = ? WHERE id = ?", func(a *Analysis) bool {
			// Each statement binds the arguments from the first.
			return a.Multi && a.Kind == Write && a.NumParams == 2 && a.Tables[1].Eq["id"][0].Param == 2 && a.Tables[1].Set["b"].Param == 1
		}},
		{"SELECT 1; CREATE TABLE x (a)", func(a *Analysis) bool { return a.Multi && a.Kind == DDL }},
		// Names compare as SQLite compares them.
		{`SELECT * FROM "Users" JOIN [Orders] o ON 1 WHERE main.USERS.ID = 5 AND O."Status" = 'x'`, func(a *Analysis) bool {
			return slices.Equal(tableNames(a), []string{"users", "orders"}) && a.Tables[0].Eq["id"][0].Const == "5" && a.Tables[1].Eq["status"][0].Const == "x"
		}},
		{"INSERT INTO main.`T` (`ID`, [Name]) VALUES (1, 'a')", func(a *Analysis) bool {
			return a.Tables[0].Name == "t" && slices.Equal(a.Tables[0].InsertCols, []string{"id", "name"})
		}},
		{"SELECT * FROM temp.t", func(a *Analysis) bool { return a.Tables[0].Name == "temp.t" }},
		// Literals spell keys like arguments.
		{"DELETE FROM t WHERE a = -5 AND b = 0x10 AND c = x'4142' AND d = NULL AND e = 1e3 AND f = 'a''b' AND g = +2.50 AND h = 1_000", func(a *Analysis) bool {
			eq := a.Tables[0].Eq
			return eq["a"][0].Const == "-5" && eq["b"][0].Const == "16" && eq["c"][0].Const == "AB" && eq["d"][0].Const == nullKey &&
				eq["e"][0].Const == "1000" && eq["f"][0].Const == "a'b" && eq["g"][0].Const == "2.5" && eq["h"][0].Const == "1000"
		}},
		{"DELETE FROM t WHERE a = lower(?) AND b = \"x\" AND c = TRUE AND d = CAST(? AS INTEGER) AND e = ? COLLATE NOCASE", func(a *Analysis) bool {
			eq := a.Tables[0].Eq
			return eq["a"][0].Expr && eq["b"][0].Expr && eq["c"][0].Expr && eq["d"][0].Expr && eq["e"][0].Expr
		}},
		{"SELECT * FROM t WHERE (a = 1) AND ((b IN (2, 3))) AND NOT c = 4 AND d IS 5 AND e NOT IN (6)", func(a *Analysis) bool {
			eq := a.Tables[0].Eq
			return len(eq) == 2 && len(eq["b"]) == 2
		}},
		// Writes.
		{"INSERT INTO t (a) VALUES (1) RETURNING *", func(a *Analysis) bool { return a.Returning && !a.OnConflict && a.Kind == Write }},
		{"UPDATE t SET a = 1 RETURNING a", func(a *Analysis) bool { return a.Returning }},
		{"DELETE FROM t RETURNING a", func(a *Analysis) bool { return a.Returning }},
		{"INSERT INTO t DEFAULT VALUES", func(a *Analysis) bool {
			return a.Tables[0].insert && a.Tables[0].InsertCols == nil && a.Tables[0].InsertRows == nil
		}},
		{"INSERT INTO t (a, b) VALUES (1, 2) ON CONFLICT (a) DO NOTHING", func(a *Analysis) bool {
			return a.OnConflict && !a.Tables[0].upsert
		}},
		{"INSERT INTO t (a, b) VALUES (?, ?) ON CONFLICT (a) DO UPDATE SET b = excluded.b, c = ? WHERE b > 0", func(a *Analysis) bool {
			t := a.Tables[0]
			return a.OnConflict && t.upsert && slices.Equal(t.arbiter, []string{"a"}) && t.excluded["b"] == "b" && t.Set["c"].Param == 3 &&
				slices.Equal(t.SetCols, []string{"b", "c"})
		}},
		{"INSERT INTO t (a, b) VALUES (1, 2) ON CONFLICT (a) WHERE a > 0 DO UPDATE SET b = 3", func(a *Analysis) bool {
			return a.Tables[0].upsert && a.Tables[0].arbiter == nil
		}},
		{"INSERT INTO t (a, b) VALUES (1, 2) ON CONFLICT (a) DO NOTHING ON CONFLICT (b) DO UPDATE SET a = 3", func(a *Analysis) bool {
			return a.Tables[0].upsert && slices.Equal(a.Tables[0].arbiter, []string{"b"})
		}},
		{"REPLACE INTO t (a) VALUES (1)", func(a *Analysis) bool { return a.OnConflict && a.Tables[0].wide }},
		{"UPDATE OR REPLACE t SET a = 1 WHERE id = 2", func(a *Analysis) bool { return a.Tables[0].wide }},
		{"UPDATE t SET (a, b) = (?, 2), c = (SELECT 1) WHERE id = 1", func(a *Analysis) bool {
			s := a.Tables[0].Set
			return s["a"].Param == 1 && s["b"].Const == "2" && s["c"].Expr
		}},
		{"UPDATE t AS x SET a = 1 WHERE x.id = 3", func(a *Analysis) bool { return a.Tables[0].Eq["id"][0].Const == "3" }},
		// Order.
		{"UPDATE t SET a = 1 WHERE id IN (SELECT id FROM t LIMIT 1)", func(a *Analysis) bool { return a.Unordered == "LIMIT without ORDER BY" }},
		{"UPDATE t SET a = 1 WHERE id IN (SELECT id FROM t ORDER BY id LIMIT 1)", func(a *Analysis) bool { return a.Unordered == "" }},
		{"INSERT INTO a SELECT * FROM b", func(a *Analysis) bool { return a.Unordered == "INSERT ... SELECT without ORDER BY" }},
		{"INSERT INTO a SELECT * FROM b UNION SELECT * FROM c ORDER BY 1", func(a *Analysis) bool { return a.Unordered == "" }},
		{"INSERT INTO a SELECT 1, 2", func(a *Analysis) bool { return a.Unordered == "" }},
		{"SELECT * FROM t LIMIT 1", func(a *Analysis) bool { return a.Unordered == "" && !a.Locking }},
		// Tables.
		{"WITH x AS (SELECT * FROM users), y AS (SELECT * FROM x) SELECT * FROM y JOIN x USING (id)", func(a *Analysis) bool {
			return slices.Equal(tableNames(a), []string{"users"})
		}},
		{"WITH orders AS (SELECT * FROM orders) SELECT * FROM orders", func(a *Analysis) bool {
			return slices.Equal(tableNames(a), []string{"orders"}) // the body reads the table
		}},
		{"SELECT * FROM t WHERE a IN u AND b IN (SELECT c FROM v) AND EXISTS (SELECT 1 FROM w)", func(a *Analysis) bool {
			return slices.Equal(tableNames(a), []string{"t", "u", "v", "w"})
		}},
		{"SELECT * FROM t, t AS t2 WHERE t.id = 1", func(a *Analysis) bool {
			return len(a.Tables) == 1 && a.Tables[0].wide && a.Tables[0].Eq == nil
		}},
		{"SELECT * FROM json_each(?) j, t WHERE t.id = j.value", func(a *Analysis) bool {
			return slices.Equal(tableNames(a), []string{"t"}) && a.NumParams == 1
		}},
		{"EXPLAIN DELETE FROM t WHERE id = 1", func(a *Analysis) bool { return a.Kind == Read && !a.Tables[0].Target }},
		{"ALTER TABLE t ADD COLUMN p INTEGER REFERENCES parent(id)", func(a *Analysis) bool {
			return a.Kind == DDL && slices.Equal(tableNames(a), []string{"t", "parent"}) && a.Tables[0].Target && !a.Tables[1].Target
		}},
		{"CREATE TABLE s.t AS SELECT * FROM s.u", func(a *Analysis) bool { return slices.Equal(tableNames(a), []string{"s.t", "s.u"}) }},
		{"DROP VIEW v", func(a *Analysis) bool { return a.Kind == DDL && slices.Equal(tableNames(a), []string{"v"}) }},
		// Kinds.
		{"", func(a *Analysis) bool { return a.Kind == Session && !a.Multi }},
		{" ; -- nothing", func(a *Analysis) bool { return a.Kind == Session }},
		{"PRAGMA user_version = 3", func(a *Analysis) bool { return a.Kind == DDL }},
		{"PRAGMA user_version", func(a *Analysis) bool { return a.Kind == Read }},
		{"PRAGMA main.integrity_check(10)", func(a *Analysis) bool { return a.Kind == Read }},
		{"PRAGMA optimize", func(a *Analysis) bool { return a.Kind == Session }},
		{"PRAGMA journal_mode = WAL", func(a *Analysis) bool { return a.Kind == Session }},
		{"ANALYZE users", func(a *Analysis) bool { return a.Kind == DDL }},
		{"DETACH other", func(a *Analysis) bool { return a.Kind == Session }},
		{"ROLLBACK", func(a *Analysis) bool { return a.Kind == Rollback && a.Savepoint == "" }},
		{"ROLLBACK TRANSACTION TO SAVEPOINT \"SP1\"", func(a *Analysis) bool { return a.Kind == RollbackTo && a.Savepoint == "sp1" }},
		{"SAVEPOINT Sp2", func(a *Analysis) bool { return a.Kind == Savepoint && a.Savepoint == "sp2" }},
		{"RELEASE SAVEPOINT sp2", func(a *Analysis) bool { return a.Kind == Release && a.Savepoint == "sp2" }},
		{"BEGIN EXCLUSIVE TRANSACTION", func(a *Analysis) bool { return a.Kind == Begin && !a.ReadOnly }},
		{"COMMIT TRANSACTION", func(a *Analysis) bool { return a.Kind == Commit }},
	}
	az := newSQLiteAnalyzer(t)
	for _, tt := range tests {
		a, err := az.Analyze(tt.text)
		if err != nil {
			t.Errorf("%q: %v", tt.text, err)
			continue
		}
		if !tt.check(a) {
			t.Errorf("%q: unexpected analysis %+v", tt.text, *a)
		}
	}
}

func TestSQLiteVolatile(t *testing.T) {
	tests := []struct {
		text     string
		volatile []string
		refused  string // the refused fragment; "" when Rewritten returns nil, nil
	}{
		{"UPDATE users SET updated_at = datetime('now') WHERE id = ?", []string{"datetime('now')"}, "datetime('now')"},
		{"UPDATE users SET updated_at = CURRENT_TIMESTAMP, d = date(), r = random() WHERE id = ?",
			[]string{"CURRENT_TIMESTAMP", "date()", "random()"}, "CURRENT_TIMESTAMP"},
		{"INSERT INTO t (id, v) VALUES (?, lower(hex(randomblob(16))))", []string{"randomblob(16)"}, "randomblob(16)"},
		{"INSERT INTO t (id) VALUES (last_insert_rowid())", []string{"last_insert_rowid()"}, "last_insert_rowid()"},
		{"DELETE FROM t WHERE at < strftime('%s', 'NOW')", []string{"strftime('%s', 'NOW')"}, "strftime('%s', 'NOW')"},
		{"INSERT INTO t (v) VALUES (sqlite_version())", []string{"sqlite_version()"}, "sqlite_version()"},
		// Fixed by the text and the arguments.
		{"UPDATE t SET d = datetime(?), e = strftime('%Y', created_at), f = date('2024-01-01', '+1 day') WHERE id = 1", nil, ""},
		// Evaluated by one backend, or stored for later.
		{"SELECT random(), datetime('now'), CURRENT_DATE", []string{"random()", "datetime('now')", "CURRENT_DATE"}, ""},
		{"CREATE TABLE t (id TEXT PRIMARY KEY DEFAULT (hex(randomblob(4))), at DATETIME DEFAULT CURRENT_TIMESTAMP)",
			[]string{"randomblob(4)", "CURRENT_TIMESTAMP"}, ""},
		{"CREATE VIEW v AS SELECT * FROM t WHERE at > datetime('now', '-1 day')", []string{"datetime('now', '-1 day')"}, ""},
		{"CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE t SET at = CURRENT_TIME WHERE id = NEW.id; END", []string{"CURRENT_TIME"}, ""},
		{"EXPLAIN UPDATE t SET a = random()", []string{"random()"}, ""},
		// Evaluated now by statements that cannot take parameters.
		{"CREATE TABLE t AS SELECT random() AS r", []string{"random()"}, "random()"},
		{"SELECT 1; UPDATE t SET a = random()", []string{"random()"}, "random()"},
	}
	az := newSQLiteAnalyzer(t)
	for _, tt := range tests {
		a, err := az.Analyze(tt.text)
		if err != nil {
			t.Errorf("%q: %v", tt.text, err)
			continue
		}
		if !slices.Equal(a.Volatile, tt.volatile) {
			t.Errorf("%q: Volatile %q, want %q", tt.text, a.Volatile, tt.volatile)
		}
		rw, err := a.Rewritten()
		var ue *UnsafeError
		switch {
		case rw != nil:
			t.Errorf("%q: Rewritten = %+v, want no rewrite", tt.text, *rw)
		case tt.refused == "" && err != nil:
			t.Errorf("%q: Rewritten: %v, want nil", tt.text, err)
		case tt.refused != "" && (!errors.As(err, &ue) || ue.Fragment != tt.refused || ue.Reason == "" || ue.Fix == ""):
			t.Errorf("%q: Rewritten: %v, want an *UnsafeError for %q", tt.text, err, tt.refused)
		}
	}
}

func TestSQLiteParseError(t *testing.T) {
	az := newSQLiteAnalyzer(t)
	for _, text := range []string{
		"SELEC 1",
		"SELECT 1\x00; DROP TABLE users",
		"SELECT * FROM t FOR UPDATE",
		// SQLite, and so modernc.org/sqlite, is built without
		// SQLITE_ENABLE_UPDATE_DELETE_LIMIT.
		"UPDATE orders SET status = 'x' WHERE status = 'pending' LIMIT 5",
		"SELECT 'unterminated",
		strings.Repeat("(", 100000),
	} {
		_, err := az.Analyze(text)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Text != text || errors.Unwrap(err) == nil {
			t.Errorf("Analyze(%.40q) error = %v, want a *ParseError", text, err)
		}
	}
}

// TestSQLiteMatchesPostgres checks that the dialects agree on the meaning
// of the statements both can parse: kind, tables and keys.
func TestSQLiteMatchesPostgres(t *testing.T) {
	texts := []string{
		"UPDATE users SET n = n + 1 WHERE id = $1",
		"DELETE FROM users WHERE id IN ($1,$2)",
		"UPDATE users SET x=1 WHERE name = $1",
		"SELECT * FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = $1",
		"INSERT INTO users (id, name) VALUES ($1,$2),($3,$4)",
		"INSERT INTO users (name) VALUES ($1)",
		"INSERT INTO users VALUES ($1, $2)",
		"INSERT INTO users (id, email) VALUES ($1, $2)",
		"UPDATE users SET email = $1 WHERE id = $2",
		"UPDATE users SET handle = $1 WHERE id = $2 AND org_id = $3",
		"UPDATE users SET (org_id, handle) = ($1, $2) WHERE id = $3",
		"INSERT INTO users (id, email) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET email = excluded.email",
		"INSERT INTO users (id, email) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET email = $3",
		"INSERT INTO users (id, email) VALUES ($1, $2) ON CONFLICT (email) DO UPDATE SET name = 'x'",
		"INSERT INTO users (id, email) VALUES ($1, $2) ON CONFLICT (email) DO UPDATE SET id = excluded.id",
		"INSERT INTO users (id, org_id, handle) VALUES (1, 3, 'ann') ON CONFLICT (id) DO UPDATE SET handle = excluded.handle",
		"INSERT INTO orders (id, user_id, user_email) VALUES ($1, $2, $3)",
		"UPDATE orders SET user_id = $1 WHERE id = $2",
		"INSERT INTO mentions (id, handle, org_id, account_ref) VALUES (1, 'ann', 3, NULL)",
		"DELETE FROM users WHERE id = 5",
		"WITH x AS (SELECT * FROM orders WHERE id = $1) SELECT * FROM users WHERE id IN (SELECT user_id FROM x)",
	}
	for _, line := range corpusLines(t) {
		texts = append(texts, line)
	}
	pgAz, liteAz := newAnalyzer(t), newSQLiteAnalyzer(t)
	both := 0
	for _, text := range texts {
		pa, err := pgAz.Analyze(text)
		if err != nil {
			t.Fatalf("postgres: %s: %v", text, err)
		}
		la, err := liteAz.Analyze(text)
		if err != nil || strings.Contains(text, "$2::") {
			// PostgreSQL syntax; to SQLite, $2::bigint is one named
			// parameter.
			continue
		}
		both++
		if la.Kind != pa.Kind || !slices.Equal(tableNames(la), tableNames(pa)) || la.NumParams != pa.NumParams ||
			la.Returning != pa.Returning || la.OnConflict != pa.OnConflict || la.Unordered != pa.Unordered || la.Savepoint != pa.Savepoint {
			t.Errorf("%s:\n  sqlite   %v %q params %d returning %v conflict %v unordered %q savepoint %q\n  postgres %v %q params %d returning %v conflict %v unordered %q savepoint %q",
				text, la.Kind, tableNames(la), la.NumParams, la.Returning, la.OnConflict, la.Unordered, la.Savepoint,
				pa.Kind, tableNames(pa), pa.NumParams, pa.Returning, pa.OnConflict, pa.Unordered, pa.Savepoint)
			continue
		}
		vals := make([]any, pa.NumParams)
		for i := range vals {
			vals[i] = int64(i%3 + 1)
		}
		pk, perr := pa.Keys(rel, args(vals...))
		lk, lerr := la.Keys(rel, args(vals...))
		if !slices.Equal(keyStrings(lk), keyStrings(pk)) || (perr == nil) != (lerr == nil) {
			t.Errorf("%s:\n  sqlite keys   %q, %v\n  postgres keys %q, %v", text, keyStrings(lk), lerr, keyStrings(pk), perr)
		}
		for i := range la.Tables {
			if l, p := la.Tables[i], pa.Tables[i]; !reflect.DeepEqual(l.InsertCols, p.InsertCols) || !slices.Equal(l.SetCols, p.SetCols) ||
				l.Target != p.Target || l.insert != p.insert || l.upsert != p.upsert || !slices.Equal(l.arbiter, p.arbiter) || l.wide != p.wide {
				t.Errorf("%s: table %d:\n  sqlite   %+v\n  postgres %+v", text, i, l, p)
			}
		}
	}
	if both < 100 {
		t.Errorf("only %d statements parse in both dialects", both)
	}
	t.Logf("%d of %d statements compared", both, len(texts))
}

func FuzzAnalyzeSQLite(f *testing.F) {
	for _, line := range sqliteCorpus(f) {
		f.Add(line)
	}
	az := newSQLiteAnalyzer(f)
	f.Fuzz(func(t *testing.T, text string) {
		a, err := az.Analyze(text)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if strings.Contains(err.Error(), "SQLite parser failed") { // a recovered panic
				t.Fatalf("Analyze(%q): %v", text, err)
			}
			return
		}
		if a.Kind == 0 || a.Text != text {
			t.Fatalf("Analyze(%q) = kind %v, text %q", text, a.Kind, a.Text)
		}
		rw, err := a.Rewritten()
		var ue *UnsafeError
		switch {
		case rw != nil:
			t.Fatalf("Rewritten(%q) = %+v: SQLite statements are not rewritten", text, *rw)
		case err != nil && !errors.As(err, &ue):
			t.Fatalf("Rewritten: %v is not an *UnsafeError", err)
		case err != nil && !strings.Contains(text, ue.Fragment):
			t.Fatalf("Rewritten: fragment %q is not in %q", ue.Fragment, text)
		}
		vals := make([]any, min(a.NumParams, 1<<16))
		for i := range vals {
			vals[i] = int64(i % 3)
		}
		if _, err := a.Keys(liteSchema, args(vals...)); err != nil && len(vals) == a.NumParams {
			t.Fatalf("Keys: %v", err)
		}
	})
}

// BenchmarkAnalyzeSQLiteNew parses and analyses a distinct text each time.
func BenchmarkAnalyzeSQLiteNew(b *testing.B) {
	const text = "SELECT * FROM `users` WHERE `users`.`id` = ? AND `users`.`deleted_at` IS NULL AND `users`.`id` = ? ORDER BY `users`.`id` LIMIT 1"
	az := newSQLiteAnalyzer(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := az.Analyze(text + " /* " + strconv.Itoa(i) + " */"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyzeSQLiteCorpus analyses every corpus statement, uncached.
func BenchmarkAnalyzeSQLiteCorpus(b *testing.B) {
	lines := sqliteCorpus(b)
	az, err := NewAnalyzer("sqlite", 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, line := range lines {
			if _, err := az.Analyze(line); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/1e3/float64(b.N*len(lines)), "µs/stmt")
}
