package router

import (
	"bytes"
	"errors"
	"flag"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func newMySQLAnalyzer(tb testing.TB) *Analyzer {
	tb.Helper()
	az, err := NewAnalyzer("mysql", 256)
	if err != nil {
		tb.Fatal(err)
	}
	return az
}

func analyzeMySQL(tb testing.TB, text string) *Analysis {
	tb.Helper()
	a, err := newMySQLAnalyzer(tb).Analyze(text)
	if err != nil {
		tb.Fatalf("Analyze(%q): %v", text, err)
	}
	return a
}

// mysqlCorpus returns the statements of the MySQL corpus,
// testdata/gorm-mysql.sql, one a line. The corpus is required: an absent
// file fails the test.
func mysqlCorpus(tb testing.TB) []string {
	tb.Helper()
	return readCorpus(tb, "testdata/gorm-mysql.sql")
}

// mySchema is the schema GORM's AutoMigrate gives the corpus's models, plus
// the demo's accounts.
var mySchema = relSchema{
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

// mysqlCorpusParsed is how many corpus lines the TiDB parser must accept:
// every line of testdata/gorm-mysql.sql but the two hand-written ones it
// rejects (INSERT … RETURNING and the AS new alias). Raise it when the
// corpus grows.
const mysqlCorpusParsed = 302

func TestMySQLCorpus(t *testing.T) {
	az := newMySQLAnalyzer(t)
	lines := mysqlCorpus(t)
	var failed []string
	for _, line := range lines {
		a, err := az.Analyze(line)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Text != line {
				t.Errorf("%s: error %v is not a *ParseError", line, err)
			}
			failed = append(failed, line)
			continue
		}
		if _, err := a.Keys(mySchema, args(make([]any, a.NumParams)...)); err != nil {
			t.Errorf("%s: Keys: %v", line, err)
		}
		if n := strings.Count(line, "?"); a.NumParams != n {
			t.Errorf("%s: NumParams %d, want %d", line, a.NumParams, n)
		}
		if rw, err := a.Rewritten(); rw != nil || err != nil && !errors.As(err, new(*UnsafeError)) {
			t.Errorf("%s: Rewritten = %v, %v", line, rw, err)
		}
	}
	parsed := len(lines) - len(failed)
	t.Logf("parsed %d of %d corpus statements; rejected:\n  %s", parsed, len(lines), strings.Join(failed, "\n  "))
	if parsed < mysqlCorpusParsed {
		t.Errorf("parsed %d of %d corpus statements, want at least %d", parsed, len(lines), mysqlCorpusParsed)
	}

	// A labelled sample, copied from the corpus.
	sample := []struct {
		text   string
		kind   Kind
		tables []string // names, targets first
		args   []any
		keys   []string // nil: not checked
	}{
		{"CREATE TABLE `user_languages` (`user_id` bigint unsigned,`language_id` bigint unsigned,PRIMARY KEY (`user_id`,`language_id`),CONSTRAINT `fk_user_languages_user` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`),CONSTRAINT `fk_user_languages_language` FOREIGN KEY (`language_id`) REFERENCES `languages`(`id`))",
			DDL, []string{"user_languages", "users", "languages"}, nil, []string{"*"}},
		{"DROP INDEX `idx_users_deleted_at` ON `users`", DDL, []string{"users"}, nil, []string{"*"}},
		{"ALTER TABLE `audit_logs` RENAME TO `audit_log_archive`", DDL, []string{"audit_logs", "audit_log_archive"}, nil, []string{"*"}},
		{"DROP TABLE IF EXISTS `audit_log_archive` CASCADE", DDL, []string{"audit_log_archive"}, nil, []string{"*"}},
		{"INSERT INTO `users` (`name`,`email`,`age`,`created_at`,`updated_at`,`deleted_at`) VALUES (?,?,?,?,?,?)",
			Write, []string{"users"}, []any{"ann", "a@x", 30, nil, nil, nil}, []string{"users"}},
		{"INSERT INTO `languages` (`code`,`name`,`id`) VALUES (?,?,?) ON DUPLICATE KEY UPDATE `id`=`id`",
			Write, []string{"languages"}, []any{"en", "English", int64(1)}, []string{"languages/1", `languages/code\=en`}},
		{"INSERT INTO `user_languages` (`user_id`,`language_id`) VALUES (?,?),(?,?) ON DUPLICATE KEY UPDATE `user_id`=`user_id`",
			Write, []string{"user_languages"}, []any{int64(1), int64(2), int64(1), int64(3)},
			[]string{"user_languages/1,2", "user_languages/1,3", "users/1", "languages/2", "languages/3"}},
		{"INSERT INTO `users` (`name`,`email`,`age`,`created_at`,`updated_at`,`deleted_at`,`id`) VALUES (?,?,?,?,?,?,?) ON DUPLICATE KEY UPDATE `updated_at`=?,`name`=VALUES(`name`),`email`=VALUES(`email`),`age`=VALUES(`age`),`deleted_at`=VALUES(`deleted_at`)",
			Write, []string{"users"}, []any{"ann", "a@x", 30, nil, nil, nil, int64(42), nil}, []string{"users/42", `users/email\=a@x`}},
		{"INSERT INTO `orders` (`user_id`,`amount`,`status`,`created_at`,`updated_at`,`deleted_at`) VALUES (?,?,?,?,?,?),(?,?,?,?,?,?) ON DUPLICATE KEY UPDATE `user_id`=VALUES(`user_id`)",
			Write, []string{"orders"}, []any{int64(5), 1, "a", nil, nil, nil, int64(6), 2, "b", nil, nil, nil}, []string{"orders", "users"}},
		{"INSERT IGNORE INTO languages (code, name) VALUES (?, ?)", Write, []string{"languages"}, []any{"en", "English"}, []string{"languages"}},
		{"REPLACE INTO languages (id, code, name) VALUES (?, ?, ?)", Write, []string{"languages"}, []any{int64(1), "en", "English"}, []string{"languages"}},
		{"INSERT INTO orders_archive SELECT * FROM orders WHERE created_at < NOW() - INTERVAL 90 DAY",
			Write, []string{"orders_archive", "orders"}, nil, []string{"orders_archive", "orders"}},
		{"SELECT * FROM `users` WHERE `users`.`id` = ? AND `users`.`deleted_at` IS NULL AND `users`.`id` = ? ORDER BY `users`.`id` LIMIT ?",
			Read, []string{"users"}, []any{int64(3), int64(3), 1}, []string{"users/3"}},
		{"SELECT * FROM `users` WHERE `users`.`id` IN (?,?,?) AND `users`.`deleted_at` IS NULL",
			Read, []string{"users"}, []any{int64(3), int64(1), int64(2)}, []string{"users/1", "users/2", "users/3"}},
		{"SELECT * FROM `users` WHERE (id = ? OR (email = ? AND age > ?)) AND `users`.`deleted_at` IS NULL",
			Read, []string{"users"}, []any{int64(1), "e", 3}, []string{"users"}},
		{"SELECT * FROM `users` WHERE id IN (SELECT user_id FROM `orders` WHERE amount > ?) AND `users`.`deleted_at` IS NULL",
			Read, []string{"users", "orders"}, []any{10}, []string{"users", "orders"}},
		{"SELECT `orders`.`id`,`orders`.`user_id`,`orders`.`amount`,`orders`.`status`,`orders`.`created_at`,`orders`.`updated_at`,`orders`.`deleted_at`,`User`.`id` AS `User__id`,`User`.`name` AS `User__name`,`User`.`email` AS `User__email`,`User`.`age` AS `User__age`,`User`.`created_at` AS `User__created_at`,`User`.`updated_at` AS `User__updated_at`,`User`.`deleted_at` AS `User__deleted_at` FROM `orders` LEFT JOIN `users` `User` ON `orders`.`user_id` = `User`.`id` AND `User`.`deleted_at` IS NULL WHERE `User`.`name` = ? AND `orders`.`deleted_at` IS NULL",
			Read, []string{"orders", "users"}, []any{"ann"}, []string{"orders", "users"}},
		{"SELECT users.name, orders.amount FROM `users` left join orders on orders.user_id = users.id WHERE users.id = ? AND `users`.`deleted_at` IS NULL",
			Read, []string{"users", "orders"}, []any{int64(8)}, []string{"users/8", "orders"}},
		{"SELECT * FROM `users` WHERE `users`.`id` = 5 FOR SHARE", Read, []string{"users"}, nil, []string{"users/5"}},
		{"UPDATE `users` SET `age`=?,`updated_at`=? WHERE id IN (?,?,?) AND `users`.`deleted_at` IS NULL",
			Write, []string{"users"}, []any{30, nil, int64(1), int64(2), int64(2)}, []string{"users/1", "users/2"}},
		{"UPDATE `users` SET `deleted_at`=? WHERE email LIKE ? AND `users`.`deleted_at` IS NULL",
			Write, []string{"users"}, []any{nil, "%x"}, []string{"users"}},
		{"UPDATE `orders` SET `user_id`=? WHERE `orders`.`user_id` = ? AND `orders`.`deleted_at` IS NULL",
			Write, []string{"orders"}, []any{int64(9), int64(8)}, []string{"orders", "users/9"}},
		{"UPDATE orders o JOIN users u ON u.id = o.user_id SET o.status = ? WHERE u.id = ?",
			Write, []string{"orders", "users"}, []any{"paid", int64(4)}, []string{"orders", "users/4"}},
		{"DELETE o FROM orders o JOIN users u ON u.id = o.user_id WHERE u.id = ?",
			Write, []string{"orders", "users"}, []any{int64(4)}, []string{"orders", "users/4"}},
		{"DELETE FROM `user_languages` WHERE `user_languages`.`user_id` = ? AND `user_languages`.`language_id` = ?",
			Write, []string{"user_languages"}, []any{int64(1), int64(2)}, []string{"user_languages/1,2"}},
		{"DELETE FROM `user_languages` WHERE `user_languages`.`user_id` = ? AND `user_languages`.`language_id` <> ?",
			Write, []string{"user_languages"}, []any{int64(1), int64(2)}, []string{"user_languages"}},
		{"DELETE FROM orders WHERE id = ? LIMIT 1", Write, []string{"orders"}, []any{int64(7)}, []string{"orders/7"}},
		{"WITH recent AS (SELECT user_id, count(*) AS n FROM orders WHERE created_at > NOW() - INTERVAL 1 DAY GROUP BY user_id) SELECT u.id, u.name, r.n FROM users u JOIN recent r ON r.user_id = u.id",
			Read, []string{"orders", "users"}, nil, []string{"orders", "users"}},
		{"WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 10) SELECT sum(n) FROM t", Read, nil, nil, []string{}},
		{"/* app=api,route=/users/:id */ SELECT * FROM `users` WHERE `users`.`id` = ? AND `users`.`deleted_at` IS NULL",
			Read, []string{"users"}, []any{int64(2)}, []string{"users/2"}},
		{"SELECT id FROM users WHERE email = ? # hash comment", Read, []string{"users"}, []any{"a@x"}, []string{"users"}},
		{"SELECT NOW(), CURRENT_TIMESTAMP, CURRENT_TIMESTAMP(3), NOW(6), SYSDATE(), CURDATE(), UNIX_TIMESTAMP(), RAND(), UUID(), UUID_SHORT()", Read, nil, nil, []string{}},
		{"TRUNCATE TABLE orders", Write, []string{"orders"}, nil, []string{"orders"}},
		{"LOCK TABLES users WRITE, orders READ", Read, []string{"users", "orders"}, nil, []string{"users", "orders"}},
		{"SHOW CREATE TABLE users", Read, []string{"users"}, nil, []string{"users"}},
		{"SHOW TABLES", Read, nil, nil, []string{}},
		{"EXPLAIN ANALYZE SELECT * FROM users WHERE id = ?", Read, []string{"users"}, []any{int64(3)}, []string{"users/3"}},
		{"CREATE TABLE tokens (id BINARY(16) PRIMARY KEY DEFAULT (UUID_TO_BIN(UUID())), created_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))",
			DDL, []string{"tokens"}, nil, []string{"*"}},
		{"SET FOREIGN_KEY_CHECKS = 0", Session, nil, nil, nil},
		{"SET NAMES utf8mb4", Session, nil, nil, nil},
		{"SET @x = 1", Session, nil, nil, nil},
		{"UNLOCK TABLES", Session, nil, nil, nil},
		{"START TRANSACTION READ ONLY", Begin, nil, nil, nil},
		{"SAVEPOINT sp6927289688462182494", Savepoint, nil, nil, nil},
		{"ROLLBACK TO SAVEPOINT sp6927289688462182494", RollbackTo, nil, nil, nil},
		{"RELEASE SAVEPOINT sp1", Release, nil, nil, nil},
	}
	for _, s := range sample {
		if !slices.Contains(lines, s.text) {
			t.Errorf("sample line is not in the corpus: %s", s.text)
		}
		a, err := az.Analyze(s.text)
		if err != nil {
			t.Errorf("%s: %v", s.text, err)
			continue
		}
		if a.Kind != s.kind || !slices.Equal(tableNames(a), s.tables) {
			t.Errorf("%s:\n  kind %v, tables %q; want %v, %q", s.text, a.Kind, tableNames(a), s.kind, s.tables)
		}
		keys, err := a.Keys(mySchema, args(s.args...))
		if got := keyStrings(keys); err != nil || s.keys != nil && !slices.Equal(got, s.keys) || s.keys == nil && keys != nil {
			t.Errorf("%s:\n  keys %q, %v; want %q", s.text, got, err, s.keys)
		}
	}
}

// TestMySQLKeys checks the keys statements give, bound to arguments.
func TestMySQLKeys(t *testing.T) {
	tests := []struct {
		text string
		args []any
		want []string
	}{
		// Pins by equality and IN, with arguments and literals.
		{"UPDATE accounts SET balance = balance + ? WHERE id = ?", []any{5, int64(7)}, []string{"accounts/7"}},
		{"UPDATE `users` SET `name`=? WHERE `users`.`id` = ?", []any{"n", int64(3)}, []string{"users/3"}},
		{"UPDATE users SET name = ? WHERE id IN (?, ?)", []any{"n", int64(2), int64(1)}, []string{"users/1", "users/2"}},
		{"UPDATE users SET name = 'x' WHERE id IN (1, -2, '3', 4.0, +5)", nil, []string{"users/-2", "users/1", "users/3", "users/4", "users/5"}},
		{"SELECT * FROM `Users` WHERE `ID` = ?", []any{int64(7)}, []string{"users/7"}},
		{"SELECT * FROM users WHERE ? = id AND (deleted_at IS NULL)", []any{int64(7)}, []string{"users/7"}},
		{"SELECT * FROM users WHERE ((id = ?))", []any{int64(7)}, []string{"users/7"}},
		{"SELECT * FROM users WHERE id <=> ?", []any{int64(7)}, []string{"users/7"}},
		{"SELECT * FROM users WHERE id = ? && name = ?", []any{int64(7), "n"}, []string{"users/7"}},
		{"SELECT * FROM users WHERE id = NULL", nil, []string{"users/\x00NULL"}},
		{"DELETE FROM users WHERE id = ? OR id = ?", []any{int64(1), int64(2)}, []string{"users"}},
		{"DELETE FROM users WHERE id NOT IN (?)", []any{int64(1)}, []string{"users"}},
		{"DELETE FROM users WHERE id IN (SELECT user_id FROM orders)", nil, []string{"users", "orders"}},
		// Literals whose value MySQL reads by context are unknown.
		{"SELECT * FROM users WHERE id = TRUE", nil, []string{"users"}},
		{"SELECT * FROM users WHERE id = 0x10", nil, []string{"users"}},
		{"SELECT * FROM users WHERE id = b'1'", nil, []string{"users"}},
		{"SELECT * FROM users WHERE id = CAST(? AS SIGNED)", []any{int64(1)}, []string{"users"}},
		// Composite keys.
		{"SELECT * FROM user_languages WHERE user_id = ? AND language_id IN (?, ?)", []any{int64(1), int64(2), int64(3)},
			[]string{"user_languages/1,2", "user_languages/1,3"}},
		{"SELECT * FROM user_languages WHERE user_id = ?", []any{int64(1)}, []string{"user_languages"}},
		{"DELETE FROM user_languages WHERE (user_id, language_id) = (?, ?)", []any{int64(1), int64(2)}, []string{"user_languages/1,2"}},
		// A row IN list pins each column to its values: the product is a
		// superset of the rows named.
		{"DELETE FROM user_languages WHERE (user_id, language_id) IN ((?, ?), (?, ?))", []any{int64(1), int64(2), int64(4), int64(3)},
			[]string{"user_languages/1,2", "user_languages/1,3", "user_languages/4,2", "user_languages/4,3"}},
		{"DELETE FROM user_languages WHERE (user_id, language_id) IN ((1, 2), (1))", nil, []string{"user_languages"}},
		// Joins: qualified columns pin their table; unqualified ones pin
		// nothing when the FROM list has several tables.
		{"SELECT * FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = ? AND u.id = ?", []any{int64(1), int64(2)}, []string{"orders/1", "users/2"}},
		{"SELECT * FROM orders, users WHERE orders.id = ? AND id = ?", []any{int64(1), int64(2)}, []string{"orders/1", "users"}},
		{"SELECT * FROM orders JOIN users USING (id) WHERE users.id = ?", []any{int64(1)}, []string{"orders", "users/1"}},
		{"SELECT * FROM users u1 JOIN users u2 ON u1.id = u2.id WHERE u1.id = ?", []any{int64(1)}, []string{"users"}},
		{"SELECT * FROM (SELECT * FROM users WHERE id = ?) AS x WHERE x.id = ?", []any{int64(1), int64(1)}, []string{"users/1"}},
		{"UPDATE orders, users SET orders.status = ? WHERE orders.user_id = users.id AND users.id = ?", []any{"x", int64(4)}, []string{"orders", "users/4"}},
		{"UPDATE orders o JOIN users u ON u.id = o.user_id SET status = ? WHERE o.id = ?", []any{"x", int64(4)}, []string{"orders/4", "users"}},
		{"DELETE FROM orders USING orders JOIN users ON users.id = orders.user_id WHERE orders.id = ?", []any{int64(4)}, []string{"orders/4", "users"}},
		{"DELETE orders, users FROM orders JOIN users ON users.id = orders.user_id WHERE users.id = ?", []any{int64(4)}, []string{"orders", "users/4"}},
		// Assignments.
		{"UPDATE users SET id = ? WHERE id = ?", []any{int64(8), int64(7)}, []string{"users"}},
		{"UPDATE users SET email = ? WHERE id = ?", []any{"b@x", int64(7)}, []string{"users/7", `users/email\=b@x`}},
		{"UPDATE users SET id = id, name = ? WHERE id = ?", []any{"n", int64(7)}, []string{"users/7"}},
		{"UPDATE orders SET user_id = ? WHERE id = ?", []any{int64(5), int64(7)}, []string{"orders/7", "users/5"}},
		// INSERT.
		{"INSERT INTO users (id, email, name) VALUES (?, ?, ?), (?, ?, ?)", []any{int64(1), "a@x", "a", int64(2), nil, "b"},
			[]string{"users/1", "users/2", `users/email\=a@x`}},
		{"INSERT INTO users SET id = ?, email = ?", []any{int64(1), "a@x"}, []string{"users/1", `users/email\=a@x`}},
		{"INSERT INTO users VALUES (?, ?)", []any{int64(1), "a@x"}, []string{"users"}},
		{"INSERT INTO orders (id, user_id) VALUES (?, ?)", []any{int64(1), int64(5)}, []string{"orders/1", "users/5"}},
		{"INSERT INTO orders (id, user_id) SELECT id, ? FROM users ORDER BY id", []any{int64(5)}, []string{"orders", "users"}},
		// ON DUPLICATE KEY UPDATE updates the row that conflicts on the
		// primary key or on a unique index: the keys of the proposed row.
		{"INSERT INTO users (id, email, name) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name)", []any{int64(1), "a@x", "a"},
			[]string{"users/1", `users/email\=a@x`}},
		{"INSERT INTO users (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE id = id", []any{int64(1), "a"}, []string{"users/1"}},
		{"INSERT INTO users (id, email) VALUES (?, ?) ON DUPLICATE KEY UPDATE email = VALUES(email)", []any{int64(1), "a@x"},
			[]string{"users/1", `users/email\=a@x`}},
		{"INSERT INTO users (id, email) VALUES (?, ?) ON DUPLICATE KEY UPDATE email = ?", []any{int64(1), "a@x", "b@x"},
			[]string{"users/1", `users/email\=a@x`, `users/email\=b@x`}},
		{"INSERT INTO users (id, email) VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE email = VALUES(email)", []any{int64(1), "a@x", int64(2), "b@x"},
			[]string{"users"}},
		{"INSERT INTO users (id, email) VALUES (?, ?), (?, ?) ON DUPLICATE KEY UPDATE name = VALUES(name)", []any{int64(1), "a@x", int64(2), "b@x"},
			[]string{"users/1", "users/2", `users/email\=a@x`, `users/email\=b@x`}},
		{"INSERT INTO users (id, name) VALUES (?, ?) ON DUPLICATE KEY UPDATE id = VALUES(id) + 1", []any{int64(1), "a"}, []string{"users"}},
		{"INSERT INTO users (name) VALUES (?) ON DUPLICATE KEY UPDATE name = VALUES(name)", []any{"a"}, []string{"users"}},
		{"INSERT INTO orders (id, user_id) VALUES (?, ?) ON DUPLICATE KEY UPDATE user_id = VALUES(user_id)", []any{int64(1), int64(5)},
			[]string{"orders/1", "users/5"}},
		{"INSERT INTO orders (id, user_id) VALUES (?, ?) ON DUPLICATE KEY UPDATE user_id = user_id + 1", []any{int64(1), int64(5)},
			[]string{"orders/1", "users"}},
		{"REPLACE INTO users (id, email) VALUES (?, ?)", []any{int64(1), "a@x"}, []string{"users"}},
		// Executable comments: MySQL skips /*T! ... */ and runs /*! ... */.
		{"DELETE FROM users /*T! WHERE id = 1 */", nil, []string{"users"}},
		{"DELETE FROM users /*T![clustered_index] WHERE id = 1 */", nil, []string{"users"}},
		{"DELETE FROM users /*!40101 WHERE id = 1 */", nil, []string{"users/1"}},
		{"DELETE FROM users /*! WHERE id = 1 */", nil, []string{"users/1"}},
		{"DELETE FROM users WHERE id = '/*T!' -- /*M! x */\n AND email = \"/*!99999\" # /*!99999", nil, []string{"users//*T!"}},
		{"DELETE FROM users WHERE id = 'a\\'/*M!' AND email = `x``/*M!`", nil, []string{"users/a'/*M!"}},
		// Names.
		{"SELECT * FROM Shop.Users WHERE id = ?", []any{int64(1)}, []string{"shop.users"}},
		// Kinds without keys.
		{"BEGIN", nil, nil},
		{"SET @x = ?", []any{1}, nil},
		{"CREATE INDEX idx ON users (name)", nil, []string{"*"}},
	}
	az := newMySQLAnalyzer(t)
	for _, tt := range tests {
		a, err := az.Analyze(tt.text)
		if err != nil {
			t.Errorf("%s: %v", tt.text, err)
			continue
		}
		keys, err := a.Keys(mySchema, args(tt.args...))
		if got := keyStrings(keys); err != nil || !slices.Equal(got, tt.want) || tt.want == nil && keys != nil {
			t.Errorf("%s %v:\n  keys %q, %v; want %q", tt.text, tt.args, got, err, tt.want)
		}
	}
	a := analyzeMySQL(t, "UPDATE accounts SET balance = balance + ? WHERE id = ?")
	if _, err := a.Keys(mySchema, args(5)); err == nil {
		t.Error("Keys with one argument for two placeholders: no error")
	}
}

func TestMySQLAnalysis(t *testing.T) {
	tests := []struct {
		text  string
		check func(*Analysis) bool
	}{
		// Placeholders are numbered by their offsets in the text.
		{"SELECT ? FROM users WHERE id = ? LIMIT ?", func(a *Analysis) bool {
			return a.NumParams == 3 && a.Tables[0].Eq["id"][0].Param == 2
		}},
		{"UPDATE users SET name = (SELECT code FROM languages WHERE id = ?) WHERE id = ? AND email = ?", func(a *Analysis) bool {
			return a.NumParams == 3 && a.Tables[0].Eq["id"][0].Param == 2 && a.Tables[0].Eq["email"][0].Param == 3 &&
				a.Tables[1].Name == "languages" && a.Tables[1].Eq["id"][0].Param == 1
		}},
		{"SELECT * FROM users WHERE name = '?' AND id = ? /* ? */ -- ?", func(a *Analysis) bool {
			return a.NumParams == 1 && a.Tables[0].Eq["id"][0].Param == 1 && a.Tables[0].Eq["name"][0].Const == "?"
		}},
		{"SELECT `a?b` FROM users WHERE id = ? AND email = \"?\"", func(a *Analysis) bool {
			return a.NumParams == 1 && a.Tables[0].Eq["id"][0].Param == 1 && a.Tables[0].Eq["email"][0].Const == "?"
		}},
		{"SELECT * FROM orders WHERE id = ? ORDER BY id LIMIT ? OFFSET ?", func(a *Analysis) bool { return a.NumParams == 3 }},
		{"SELECT ?; SELECT * FROM users WHERE id = ?", func(a *Analysis) bool {
			// One numbering across the text, as interpolation binds it.
			return a.Multi && a.Kind == Read && a.NumParams == 2 && a.Tables[0].Eq["id"][0].Param == 2
		}},
		{"INSERT INTO t (a, b) VALUES (?, ?) ON DUPLICATE KEY UPDATE b = ?", func(a *Analysis) bool {
			t := a.Tables[0]
			return a.NumParams == 3 && t.Set["b"].Param == 3 && t.InsertRows[0][1].Param == 2 && slices.Equal(t.SetCols, []string{"b"})
		}},
		// Names.
		{"SELECT * FROM `Shop`.`Users` u JOIN Shop.Orders ON u.ID = 1 WHERE `U`.`Email` = 'X'", func(a *Analysis) bool {
			return slices.Equal(tableNames(a), []string{"shop.users", "shop.orders"}) && a.Tables[0].Eq["email"][0].Const == "X"
		}},
		{"SELECT * FROM shop.users WHERE shop.users.id = 3", func(a *Analysis) bool { return a.Tables[0].Eq["id"][0].Const == "3" }},
		{"INSERT INTO `T` (`ID`, Name) VALUES (1, 'a')", func(a *Analysis) bool {
			return a.Tables[0].Name == "t" && slices.Equal(a.Tables[0].InsertCols, []string{"id", "name"})
		}},
		// Literals spell keys like arguments.
		{"DELETE FROM t WHERE a = -5 AND b = 1.50 AND c = 1e3 AND d = 'a''b' AND e = 'a\\'b' AND f = 18446744073709551615 AND g = _utf8mb4'x' AND h = NULL", func(a *Analysis) bool {
			eq := a.Tables[0].Eq
			return eq["a"][0].Const == "-5" && eq["b"][0].Const == "1.5" && eq["c"][0].Const == "1000" && eq["d"][0].Const == "a'b" &&
				eq["e"][0].Const == "a'b" && eq["f"][0].Const == "18446744073709551615" && eq["g"][0].Const == "x" && eq["h"][0].Const == nullKey
		}},
		{"DELETE FROM t WHERE a = TRUE AND b = FALSE AND c = x'41' AND d = lower(?) AND e = DATE '2024-01-01' AND f = -'1'", func(a *Analysis) bool {
			eq := a.Tables[0].Eq
			return eq["a"][0].Expr && eq["b"][0].Expr && eq["c"][0].Expr && eq["d"][0].Expr && eq["e"][0].Expr && eq["f"][0].Expr
		}},
		// Writes.
		{"INSERT INTO t (a) VALUES (1)", func(a *Analysis) bool {
			return a.Kind == Write && !a.Returning && !a.OnConflict && a.Tables[0].insert && !a.Tables[0].upsert && a.Tables[0].Target
		}},
		{"INSERT INTO t () VALUES ()", func(a *Analysis) bool {
			return a.Tables[0].insert && a.Tables[0].InsertCols == nil && len(a.Tables[0].InsertRows) == 1
		}},
		{"INSERT IGNORE INTO t (a) VALUES (1)", func(a *Analysis) bool { return a.OnConflict && !a.Tables[0].wide }},
		{"REPLACE INTO t (a) VALUES (1)", func(a *Analysis) bool { return a.OnConflict && a.Tables[0].wide && a.Tables[0].insert }},
		{"INSERT INTO t (a, b) VALUES (1, 2) ON DUPLICATE KEY UPDATE a = a, t.b = t.b", func(a *Analysis) bool {
			return a.OnConflict && a.Tables[0].SetCols == nil && a.Tables[0].Set == nil
		}},
		{"INSERT INTO t (a, b) VALUES (1, 2) ON DUPLICATE KEY UPDATE b = VALUES(a), c = VALUES(c), d = b + 1", func(a *Analysis) bool {
			s := a.Tables[0].Set
			return s["b"].Const == "1" && s["c"].Expr && s["d"].Expr && slices.Equal(a.Tables[0].SetCols, []string{"b", "c", "d"})
		}},
		{"UPDATE t SET a = ?, a = ? WHERE id = 1", func(a *Analysis) bool { return a.Tables[0].Set["a"].Expr }},
		{"UPDATE t SET a = 1 WHERE id IN (SELECT id FROM u LIMIT 1)", func(a *Analysis) bool { return a.Unordered == "LIMIT without ORDER BY" }},
		{"UPDATE t SET a = 1 LIMIT 10", func(a *Analysis) bool { return a.Unordered == "LIMIT without ORDER BY" }},
		{"UPDATE t SET a = 1 ORDER BY id LIMIT 10", func(a *Analysis) bool { return a.Unordered == "" }},
		{"DELETE FROM t ORDER BY id LIMIT 10", func(a *Analysis) bool { return a.Unordered == "" }},
		{"INSERT INTO a SELECT * FROM b", func(a *Analysis) bool { return a.Unordered == "INSERT ... SELECT without ORDER BY" }},
		{"INSERT INTO a SELECT * FROM b ORDER BY id", func(a *Analysis) bool { return a.Unordered == "" }},
		{"INSERT INTO a SELECT * FROM b UNION SELECT * FROM c", func(a *Analysis) bool { return a.Unordered == "INSERT ... SELECT without ORDER BY" }},
		{"INSERT INTO a SELECT 1, 2", func(a *Analysis) bool { return a.Unordered == "" }},
		{"INSERT INTO a (x) SELECT id FROM b WHERE id IN (SELECT id FROM c FOR UPDATE SKIP LOCKED) ORDER BY id", func(a *Analysis) bool {
			return a.Unordered == "SKIP LOCKED" && a.Locking
		}},
		{"SELECT * FROM t LIMIT 1", func(a *Analysis) bool { return a.Unordered == "" && !a.Locking }},
		{"LOAD DATA INFILE '/tmp/x.csv' INTO TABLE t", func(a *Analysis) bool { return a.Kind == Write && !a.OnConflict }},
		{"LOAD DATA INFILE '/tmp/x.csv' IGNORE INTO TABLE t", func(a *Analysis) bool {
			return a.Kind == Write && a.OnConflict && a.Tables[0].opaque && a.Tables[0].Target
		}},
		// Locking.
		{"SELECT * FROM t FOR UPDATE", func(a *Analysis) bool { return a.Kind == Read && a.Locking }},
		{"SELECT * FROM t LOCK IN SHARE MODE", func(a *Analysis) bool { return a.Locking }},
		{"SELECT * FROM t FOR SHARE SKIP LOCKED", func(a *Analysis) bool { return a.Locking && a.Unordered == "" }},
		// Tables.
		{"WITH x AS (SELECT * FROM users), y AS (SELECT * FROM x) SELECT * FROM y JOIN x USING (id)", func(a *Analysis) bool {
			return slices.Equal(tableNames(a), []string{"users"})
		}},
		{"WITH orders AS (SELECT * FROM orders) SELECT * FROM orders", func(a *Analysis) bool {
			return slices.Equal(tableNames(a), []string{"orders"})
		}},
		{"WITH x AS (SELECT 1 AS id) UPDATE t JOIN x ON x.id = t.id SET t.a = 1", func(a *Analysis) bool {
			return slices.Equal(tableNames(a), []string{"t"}) && a.Tables[0].Target
		}},
		{"(SELECT a FROM t) UNION (SELECT a FROM u ORDER BY a LIMIT 1)", func(a *Analysis) bool {
			return slices.Equal(tableNames(a), []string{"t", "u"})
		}},
		{"SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u) AND a IN (SELECT a FROM v)", func(a *Analysis) bool {
			return slices.Equal(tableNames(a), []string{"t", "u", "v"})
		}},
		{"SELECT * FROM t, t AS t2 WHERE t.id = 1", func(a *Analysis) bool {
			return len(a.Tables) == 1 && a.Tables[0].wide && a.Tables[0].Eq == nil
		}},
		{"UPDATE t AS x SET x.a = 1 WHERE x.id = 3", func(a *Analysis) bool {
			return a.Tables[0].Target && a.Tables[0].Eq["id"][0].Const == "3" && a.Tables[0].Set["a"].Const == "1"
		}},
		{"DELETE FROM t AS x WHERE x.id = 3", func(a *Analysis) bool { return a.Tables[0].Target && a.Tables[0].Eq["id"][0].Const == "3" }},
		{"TABLE t", func(a *Analysis) bool { return a.Kind == Read && slices.Equal(tableNames(a), []string{"t"}) }},
		{"EXPLAIN DELETE FROM t WHERE id = 1", func(a *Analysis) bool { return a.Kind == Read && !a.Tables[0].Target }},
		{"EXPLAIN ANALYZE UPDATE t SET a = 1 WHERE id = 1", func(a *Analysis) bool { return a.Kind == Write && a.Tables[0].Target }},
		{"DESC t", func(a *Analysis) bool { return a.Kind == Read && slices.Equal(tableNames(a), []string{"t"}) }},
		{"CREATE TABLE t (a INT REFERENCES p(id), FOREIGN KEY (a) REFERENCES q(id)) AS SELECT * FROM u", func(a *Analysis) bool {
			return a.Kind == DDL && slices.Equal(tableNames(a), []string{"t", "q", "u"}) && a.Tables[0].Target && !a.Tables[1].Target
		}},
		{"CREATE TABLE t2 LIKE t", func(a *Analysis) bool { return slices.Equal(tableNames(a), []string{"t2", "t"}) && !a.Tables[1].Target }},
		{"CREATE VIEW v AS SELECT * FROM t", func(a *Analysis) bool {
			return a.Kind == DDL && slices.Equal(tableNames(a), []string{"v", "t"}) && a.Tables[0].Target && !a.Tables[1].Target
		}},
		{"RENAME TABLE a TO b, c TO d", func(a *Analysis) bool {
			return a.Kind == DDL && slices.Equal(tableNames(a), []string{"a", "b", "c", "d"}) && a.Tables[3].Target
		}},
		{"ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES p(id)", func(a *Analysis) bool {
			return slices.Equal(tableNames(a), []string{"t", "p"}) && a.Tables[0].Target && !a.Tables[1].Target
		}},
		{"DROP TABLE a, db.b", func(a *Analysis) bool { return slices.Equal(tableNames(a), []string{"a", "db.b"}) }},
		{"CREATE DATABASE d", func(a *Analysis) bool { return a.Kind == DDL && len(a.Tables) == 0 }},
		{"GRANT SELECT ON db.* TO 'u'@'%'", func(a *Analysis) bool { return a.Kind == DDL }},
		{"ANALYZE TABLE t", func(a *Analysis) bool { return a.Kind == DDL && a.Tables[0].Target }},
		{"CALL p(?)", func(a *Analysis) bool { return a.Kind == DDL && a.NumParams == 1 }},
		{"DO 1", func(a *Analysis) bool { return a.Kind == DDL }},
		{"EXECUTE s USING @a", func(a *Analysis) bool { return a.Kind == DDL }},
		// Kinds.
		{"", func(a *Analysis) bool { return a.Kind == Session && !a.Multi }},
		{";", func(a *Analysis) bool { return a.Kind == Session }},
		{"SELECT 1; CREATE TABLE x (a INT)", func(a *Analysis) bool { return a.Multi && a.Kind == DDL }},
		{"SELECT 1; UPDATE t SET a = 1", func(a *Analysis) bool { return a.Multi && a.Kind == Write }},
		{"USE shop", func(a *Analysis) bool { return a.Kind == Session }},
		{"SET GLOBAL max_connections = 10", func(a *Analysis) bool { return a.Kind == Session }},
		{"SET ROLE ALL", func(a *Analysis) bool { return a.Kind == Session }},
		{"PREPARE s FROM 'SELECT 1'", func(a *Analysis) bool { return a.Kind == Session }},
		{"DEALLOCATE PREPARE s", func(a *Analysis) bool { return a.Kind == Session }},
		{"SHOW VARIABLES LIKE ?", func(a *Analysis) bool { return a.Kind == Read && a.NumParams == 1 }},
		{"SHOW INDEX FROM users", func(a *Analysis) bool { return a.Kind == Read && slices.Equal(tableNames(a), []string{"users"}) }},
		{"BEGIN", func(a *Analysis) bool { return a.Kind == Begin && !a.ReadOnly }},
		{"START TRANSACTION WITH CONSISTENT SNAPSHOT", func(a *Analysis) bool { return a.Kind == Begin }},
		{"COMMIT", func(a *Analysis) bool { return a.Kind == Commit }},
		{"ROLLBACK", func(a *Analysis) bool { return a.Kind == Rollback && a.Savepoint == "" }},
		{"SAVEPOINT `Sp1`", func(a *Analysis) bool { return a.Kind == Savepoint && a.Savepoint == "sp1" }},
		{"ROLLBACK TO SP1", func(a *Analysis) bool { return a.Kind == RollbackTo && a.Savepoint == "sp1" }},
		{"RELEASE SAVEPOINT Sp1", func(a *Analysis) bool { return a.Kind == Release && a.Savepoint == "sp1" }},
	}
	az := newMySQLAnalyzer(t)
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

func TestMySQLVolatile(t *testing.T) {
	tests := []struct {
		text     string
		volatile []string
		refused  string // the refused fragment; "" when Rewritten returns nil, nil
	}{
		{"UPDATE `users` SET `updated_at`=NOW() WHERE id = ? AND `users`.`deleted_at` IS NULL", []string{"NOW()"}, ""}, // Clock: SET timestamp fixes it
		{"UPDATE t SET a = CURRENT_TIMESTAMP, b = CURRENT_TIMESTAMP(3), c = LOCALTIME, d = LOCALTIMESTAMP(), e = curdate(), f = CURRENT_DATE, g = CURTIME(), h = UTC_TIMESTAMP(), i = UTC_DATE, j = SYSDATE() WHERE id = 1",
			[]string{"CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP(3)", "LOCALTIME", "LOCALTIMESTAMP()", "curdate()", "CURRENT_DATE", "CURTIME()", "UTC_TIMESTAMP()", "UTC_DATE", "SYSDATE()"},
			"SYSDATE()"}, // the others are Clock; SYSDATE() ignores SET timestamp
		{"INSERT INTO t (id, r, u, s) VALUES (UUID(), RAND(), UUID_SHORT(), RANDOM_BYTES(16))", []string{"UUID()", "RAND()", "UUID_SHORT()", "RANDOM_BYTES(16)"}, "UUID()"},
		{"INSERT INTO t (id) VALUES (UUID_TO_BIN(UUID()))", []string{"UUID()"}, "UUID()"},
		{"INSERT INTO t (parent) VALUES (LAST_INSERT_ID())", []string{"LAST_INSERT_ID()"}, "LAST_INSERT_ID()"},
		{"INSERT INTO t (c, u, d, v) VALUES (CONNECTION_ID(), CURRENT_USER(), DATABASE(), VERSION())",
			[]string{"CONNECTION_ID()", "CURRENT_USER()", "DATABASE()", "VERSION()"}, "CONNECTION_ID()"},
		{"INSERT INTO t (h) VALUES (@@hostname)", []string{"@@hostname"}, "@@hostname"},
		{"DELETE FROM t WHERE created_at < NOW() - INTERVAL 1 DAY", []string{"NOW()"}, ""},
		{"DELETE FROM t ORDER BY RAND() LIMIT 1", []string{"RAND()"}, "RAND()"},
		{"UPDATE t SET a = 1 WHERE id = 1 AND b = UNIX_TIMESTAMP()", []string{"UNIX_TIMESTAMP()"}, ""},
		{"SET @x = UUID()", []string{"UUID()"}, "UUID()"},
		{"DO GET_LOCK('x', 1)", []string{"GET_LOCK('x', 1)"}, "GET_LOCK('x', 1)"},
		{"SELECT 1; UPDATE t SET a = RAND()", []string{"RAND()"}, "RAND()"},
		// The first refused in text order; NOW() is Clock.
		{"UPDATE t SET a = (SELECT MAX(b) FROM u WHERE c < NOW()), d = RAND() WHERE id = 1", []string{"NOW()", "RAND()"}, "RAND()"},
		{"UPDATE t SET a = RAND(), d = UUID() WHERE id = 1", []string{"RAND()", "UUID()"}, "RAND()"},
		// Fixed by the text and the arguments.
		{"UPDATE t SET a = UNIX_TIMESTAMP(?), b = LAST_INSERT_ID(?), c = DATE_ADD(?, INTERVAL 1 DAY), d = db.now() WHERE id = 1", nil, ""},
		{"SET sql_mode = CONCAT(@@sql_mode, ',STRICT_ALL_TABLES')", []string{"@@sql_mode"}, ""},
		{"SET @@session.sql_mode = @@global.sql_mode, @h = @@hostname", []string{"@@global.sql_mode", "@@hostname"}, "@@hostname"},
		// Evaluated by one backend, or stored for later.
		{"SELECT NOW(), RAND(), UUID(), @@version", []string{"NOW()", "RAND()", "UUID()", "@@version"}, ""},
		{"EXPLAIN UPDATE t SET a = RAND()", []string{"RAND()"}, ""},
		{"CREATE TABLE t (id BINARY(16) DEFAULT (UUID_TO_BIN(UUID())), at DATETIME DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)",
			[]string{"UUID()", "CURRENT_TIMESTAMP"}, ""},
		{"CREATE VIEW v AS SELECT * FROM t WHERE at > NOW()", []string{"NOW()"}, ""},
		{"ALTER TABLE t ALTER COLUMN at SET DEFAULT (NOW())", []string{"NOW()"}, ""},
		// Evaluated now by DDL.
		{"ALTER TABLE t ADD COLUMN at DATETIME DEFAULT CURRENT_TIMESTAMP", []string{"CURRENT_TIMESTAMP"}, "CURRENT_TIMESTAMP"},
		{"CREATE TABLE t AS SELECT RAND() AS r", []string{"RAND()"}, "RAND()"},
	}
	az := newMySQLAnalyzer(t)
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
	a := analyzeMySQL(t, "ALTER TABLE t ADD COLUMN at DATETIME DEFAULT CURRENT_TIMESTAMP")
	if _, err := a.Rewritten(); err == nil || !strings.Contains(err.Error(), "fill the existing rows with an UPDATE") {
		t.Errorf("ADD COLUMN ... DEFAULT CURRENT_TIMESTAMP: %v", err)
	}
}

func TestMySQLParseError(t *testing.T) {
	az := newMySQLAnalyzer(t)
	for _, text := range []string{
		"SELEC 1",
		"SELECT 'unterminated",
		"SELECT * FROM users WHERE id = :id",
		// Outside TiDB's grammar, though MySQL or MariaDB accept them.
		"BEGIN WORK",
		"COMMIT WORK",
		"ROLLBACK WORK TO SAVEPOINT sp1",
		"INSERT INTO users (name, email) VALUES (?, ?) AS new ON DUPLICATE KEY UPDATE name = new.name",
		"SELECT a INTO @v FROM t",
		// Executable comments that servers treat differently.
		"DELETE FROM users /*M! WHERE id = 1 */",
		"DELETE FROM users /*!90000 WHERE id = 1 */",
		"DELETE FROM users /*!100100 WHERE id = 1 */",
		"DELETE FROM users /*!8 WHERE id = 1 */",
		// The parser's test driver panics on decimals of more than 81
		// digits.
		"SELECT 0." + strings.Repeat("1", 90),
		strings.Repeat("(", 100000),
	} {
		_, err := az.Analyze(text)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Text != text || errors.Unwrap(err) == nil ||
			!strings.HasPrefix(err.Error(), "calibrated: cannot parse statement: ") {
			t.Errorf("Analyze(%.40q) error = %v, want a *ParseError", text, err)
		}
	}
}

// TestMySQLConcurrent analyses the corpus from several goroutines, which
// share the pool of parsers.
func TestMySQLConcurrent(t *testing.T) {
	az, err := NewAnalyzer("mysql", 0)
	if err != nil {
		t.Fatal(err)
	}
	lines := mysqlCorpus(t)
	want := make([]string, len(lines))
	describe := func(a *Analysis, err error) string {
		if err != nil {
			return err.Error()
		}
		return a.Kind.String() + strconv.Itoa(a.NumParams) + strings.Join(tableNames(a), ",")
	}
	for i, line := range lines {
		want[i] = describe(az.Analyze(line))
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range lines {
				j := (i + g*len(lines)/4) % len(lines)
				if got := describe(az.Analyze(lines[j])); got != want[j] {
					t.Errorf("%s: %s, want %s", lines[j], got, want[j])
				}
			}
		})
	}
	wg.Wait()
}

// TestMySQLImportSideEffects checks that linking the TiDB parser registers
// no flags and starts no goroutines (DESIGN §6: importing calibrated must
// not).
func TestMySQLImportSideEffects(t *testing.T) {
	flag.CommandLine.VisitAll(func(f *flag.Flag) {
		if !strings.HasPrefix(f.Name, "test.") {
			t.Errorf("flag -%s is registered on the global flag set", f.Name)
		}
	})
	analyzeMySQL(t, "SELECT 1") // and using it starts none either
	buf := make([]byte, 1<<20)
	stacks := buf[:runtime.Stack(buf, true)]
	for _, pkg := range []string{"github.com/pingcap/", "go.uber.org/", "gopkg.in/natefinch/lumberjack"} {
		if bytes.Contains(stacks, []byte(pkg)) {
			t.Errorf("a goroutine runs code of %s:\n%s", pkg, stacks)
		}
	}
}

// TestMySQLMatchesSQLite checks that the dialects agree on the meaning of
// the statements both parse: GORM's SQLite and MySQL output differ little.
func TestMySQLMatchesSQLite(t *testing.T) {
	texts := append(sqliteCorpus(t), mysqlCorpus(t)...)
	texts = append(texts,
		"UPDATE users SET n = n + 1 WHERE id = ?",
		"DELETE FROM users WHERE id IN (?,?)",
		"SELECT * FROM users u JOIN orders o ON o.user_id = u.id WHERE u.id = ?",
		"INSERT INTO users (id, name) VALUES (?,?),(?,?)",
		"INSERT INTO users (id, email) VALUES (?, ?)",
		"UPDATE users SET email = ? WHERE id = ?",
		"UPDATE users SET handle = ? WHERE id = ? AND org_id = ?",
		"INSERT INTO orders (id, user_id, user_email) VALUES (?, ?, ?)",
		"UPDATE orders SET user_id = ? WHERE id = ?",
		"INSERT INTO mentions (id, handle, org_id, account_ref) VALUES (1, 'ann', 3, NULL)",
		"WITH x AS (SELECT * FROM orders WHERE id = ?) SELECT * FROM users WHERE id IN (SELECT user_id FROM x)",
	)
	myAz, liteAz := newMySQLAnalyzer(t), newSQLiteAnalyzer(t)
	both := 0
	for _, text := range texts {
		ma, err := myAz.Analyze(text)
		if err != nil {
			continue
		}
		la, err := liteAz.Analyze(text)
		if err != nil {
			continue
		}
		switch {
		case strings.Contains(text, "PRAGMA"), strings.HasPrefix(text, "SHOW "), strings.HasPrefix(text, "DESC"),
			strings.HasPrefix(text, "REPLACE"), strings.HasPrefix(text, "INSERT IGNORE"), strings.HasPrefix(text, "TRUNCATE"),
			strings.HasPrefix(text, "LOCK TABLES"), strings.HasPrefix(text, "SET "), strings.HasPrefix(text, "EXPLAIN ANALYZE"),
			strings.Contains(text, "LIMIT") && strings.HasPrefix(text, "UPDATE"), strings.HasPrefix(text, "BEGIN "),
			strings.Contains(text, "$"), strings.Contains(text, "= true"):
			continue // different statements in the two dialects
		case strings.Contains(text, " RENAME TO "):
			continue // MySQL names the new table too
		}
		both++
		if ma.Kind != la.Kind || !slices.Equal(tableNames(ma), tableNames(la)) || ma.NumParams != la.NumParams ||
			ma.OnConflict != la.OnConflict || ma.Unordered != la.Unordered || ma.Savepoint != la.Savepoint {
			t.Errorf("%s:\n  mysql  %v %q params %d conflict %v unordered %q savepoint %q\n  sqlite %v %q params %d conflict %v unordered %q savepoint %q",
				text, ma.Kind, tableNames(ma), ma.NumParams, ma.OnConflict, ma.Unordered, ma.Savepoint,
				la.Kind, tableNames(la), la.NumParams, la.OnConflict, la.Unordered, la.Savepoint)
			continue
		}
		vals := make([]any, ma.NumParams)
		for i := range vals {
			vals[i] = int64(i%3 + 1)
		}
		mk, merr := ma.Keys(rel, args(vals...))
		lk, lerr := la.Keys(rel, args(vals...))
		if !slices.Equal(keyStrings(mk), keyStrings(lk)) || (merr == nil) != (lerr == nil) {
			t.Errorf("%s:\n  mysql keys  %q, %v\n  sqlite keys %q, %v", text, keyStrings(mk), merr, keyStrings(lk), lerr)
		}
		for i := range ma.Tables {
			if m, l := ma.Tables[i], la.Tables[i]; !reflect.DeepEqual(m.InsertCols, l.InsertCols) || !reflect.DeepEqual(m.InsertRows, l.InsertRows) ||
				!reflect.DeepEqual(m.Eq, l.Eq) || !slices.Equal(m.SetCols, l.SetCols) || m.Target != l.Target || m.insert != l.insert || m.wide != l.wide {
				t.Errorf("%s: table %d:\n  mysql  %+v\n  sqlite %+v", text, i, m, l)
			}
		}
	}
	if both < 120 {
		t.Errorf("only %d statements parse in both dialects", both)
	}
	t.Logf("%d of %d statements compared", both, len(texts))
}

func FuzzAnalyzeMySQL(f *testing.F) {
	for _, line := range mysqlCorpus(f) {
		f.Add(line)
	}
	az := newMySQLAnalyzer(f)
	f.Fuzz(func(t *testing.T, text string) {
		a, err := az.Analyze(text)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if strings.Contains(err.Error(), "MySQL analysis failed") { // a recovered panic of the walker
				t.Fatalf("Analyze(%q): %v", text, err)
			}
			return
		}
		if a.Kind == 0 || a.Text != text {
			t.Fatalf("Analyze(%q) = kind %v, text %q", text, a.Kind, a.Text)
		}
		if a.NumParams > strings.Count(text, "?") {
			t.Fatalf("Analyze(%q): %d parameters", text, a.NumParams)
		}
		rw, err := a.Rewritten()
		var ue *UnsafeError
		switch {
		case rw != nil:
			t.Fatalf("Rewritten(%q) = %+v: MySQL statements are not rewritten", text, *rw)
		case err != nil && !errors.As(err, &ue):
			t.Fatalf("Rewritten: %v is not an *UnsafeError", err)
		case err != nil && !slices.Contains(a.Volatile, ue.Fragment):
			t.Fatalf("Rewritten: fragment %q is not in Volatile %q", ue.Fragment, a.Volatile)
		}
		for _, tb := range a.Tables {
			for _, srcs := range tb.Eq {
				for _, s := range srcs {
					if s.Param < 0 || s.Param > a.NumParams {
						t.Fatalf("Analyze(%q): %s pinned to $%d of %d", text, tb.Name, s.Param, a.NumParams)
					}
				}
			}
		}
		vals := make([]any, min(a.NumParams, 1<<16))
		for i := range vals {
			vals[i] = int64(i % 3)
		}
		if _, err := a.Keys(mySchema, args(vals...)); err != nil && len(vals) == a.NumParams {
			t.Fatalf("Keys: %v", err)
		}
	})
}

// BenchmarkAnalyzeMySQLNew parses and analyses a distinct text each time
// (DESIGN §6 targets < 15 µs).
func BenchmarkAnalyzeMySQLNew(b *testing.B) {
	const text = "SELECT * FROM `users` WHERE `users`.`id` = ? AND `users`.`deleted_at` IS NULL AND `users`.`id` = ? ORDER BY `users`.`id` LIMIT ?"
	az := newMySQLAnalyzer(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := az.Analyze(text + " /* " + strconv.Itoa(i) + " */"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnalyzeMySQLCorpus analyses every corpus statement the parser
// accepts, uncached.
func BenchmarkAnalyzeMySQLCorpus(b *testing.B) {
	az, err := NewAnalyzer("mysql", 0)
	if err != nil {
		b.Fatal(err)
	}
	var lines []string
	for _, line := range mysqlCorpus(b) {
		if _, err := az.Analyze(line); err == nil {
			lines = append(lines, line)
		}
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
