select sqlite_version()
SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?
CREATE TABLE `users` (`id` integer PRIMARY KEY AUTOINCREMENT,`created_at` datetime,`updated_at` datetime,`deleted_at` datetime,`name` text NOT NULL,`email` text,`age` integer)
CREATE UNIQUE INDEX `idx_users_email` ON `users`(`email`)
CREATE INDEX `idx_users_deleted_at` ON `users`(`deleted_at`)
CREATE TABLE `languages` (`id` integer PRIMARY KEY AUTOINCREMENT,`code` text,`name` text)
CREATE UNIQUE INDEX `idx_languages_code` ON `languages`(`code`)
CREATE TABLE `user_languages` (`user_id` integer,`language_id` integer,PRIMARY KEY (`user_id`,`language_id`),CONSTRAINT `fk_user_languages_user` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`),CONSTRAINT `fk_user_languages_language` FOREIGN KEY (`language_id`) REFERENCES `languages`(`id`))
CREATE TABLE `orders` (`id` integer PRIMARY KEY AUTOINCREMENT,`user_id` integer NOT NULL,`amount` integer,`status` text DEFAULT "pending",`created_at` datetime,`updated_at` datetime,`deleted_at` datetime,CONSTRAINT `fk_users_orders` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`))
CREATE INDEX `idx_orders_deleted_at` ON `orders`(`deleted_at`)
CREATE INDEX `idx_orders_user_id` ON `orders`(`user_id`)
CREATE TABLE `audit_logs` (`id` integer PRIMARY KEY AUTOINCREMENT,`at` datetime DEFAULT CURRENT_TIMESTAMP,`action` text)
CREATE TABLE `accounts` (`id` integer,`balance` integer NOT NULL,PRIMARY KEY (`id`))
CREATE TABLE `tokens` (`id` text DEFAULT (lower(hex(randomblob(16)))),`created_at` datetime NOT NULL DEFAULT (datetime('now')),PRIMARY KEY (`id`))
ALTER TABLE `users` ADD `nickname` text
PRAGMA foreign_keys
PRAGMA foreign_keys = OFF
SELECT sql FROM sqlite_master WHERE type = ? AND tbl_name = ? AND name = ?
BEGIN
CREATE TABLE `users__temp`  (`id` integer PRIMARY KEY AUTOINCREMENT,`created_at` datetime,`updated_at` datetime,`deleted_at` datetime,`name` text NOT NULL,`email` text,`age` integer,`nickname` text)
INSERT INTO `users__temp`(`id`,`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age`,`nickname`) SELECT `id`,`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age`,`nickname` FROM `users`
DROP TABLE `users`
ALTER TABLE `users__temp` RENAME TO `users`
COMMIT
PRAGMA foreign_keys = ON
ALTER TABLE `users` RENAME COLUMN `nickname` TO `nick`
CREATE TABLE `users__temp`  (`id` integer PRIMARY KEY AUTOINCREMENT,`created_at` datetime,`updated_at` datetime,`deleted_at` datetime,`name` text NOT NULL,`email` text,`age` integer)
INSERT INTO `users__temp`(`id`,`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age`) SELECT `id`,`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age` FROM `users`
SELECT sql FROM sqlite_master WHERE type IN (?,?) AND tbl_name = ? AND sql IS NOT NULL order by type = ? desc
SELECT * FROM `users` LIMIT 1
SELECT count(*) FROM sqlite_master WHERE type = ? AND tbl_name = ? AND name = ?
SELECT * FROM `languages` LIMIT 1
SELECT * FROM `user_languages` LIMIT 1
SELECT count(*) FROM sqlite_master WHERE type = ? AND tbl_name = ? AND (sql LIKE ? OR sql LIKE ? OR sql LIKE ? OR sql LIKE ? OR sql LIKE ?)
SELECT * FROM `orders` LIMIT 1
DROP INDEX `idx_users_deleted_at`
SELECT * FROM `audit_logs` LIMIT 1
SELECT * FROM PRAGMA_index_list(?)
SELECT name FROM PRAGMA_index_info(?)
SELECT name FROM sqlite_master where type=?
ALTER TABLE `audit_logs` RENAME TO `audit_log_archive`
DROP TABLE IF EXISTS `audit_log_archive`
INSERT INTO `users` (`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age`) VALUES (?,?,?,?,?,?) RETURNING `id`
INSERT INTO `users` (`created_at`,`updated_at`,`name`,`email`) VALUES (?,?,?,?) RETURNING `id`
INSERT INTO `users` (`created_at`,`updated_at`,`deleted_at`,`name`,`email`) VALUES (?,?,?,?,?) RETURNING `id`
INSERT INTO `audit_logs` (`action`) VALUES (?) RETURNING `at`,`id`
INSERT INTO `users` (`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age`) VALUES (?,?,?,?,?,?),(?,?,?,?,?,?),(?,?,?,?,?,?) RETURNING `id`
INSERT INTO `users` (`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age`) VALUES (?,?,?,?,?,?),(?,?,?,?,?,?) RETURNING `id`
INSERT INTO `users` (`email`,`name`) VALUES (?,?) RETURNING `id`
INSERT INTO `orders` (`user_id`,`amount`,`status`,`created_at`,`updated_at`,`deleted_at`) VALUES (?,?,?,?,?,?),(?,?,?,?,?,?) ON CONFLICT (`id`) DO UPDATE SET `user_id`=`excluded`.`user_id` RETURNING `id`
INSERT INTO `languages` (`code`,`name`) VALUES (?,?),(?,?) ON CONFLICT DO NOTHING RETURNING `id`
INSERT INTO `user_languages` (`user_id`,`language_id`) VALUES (?,?),(?,?) ON CONFLICT DO NOTHING
INSERT INTO `accounts` (`id`,`balance`) VALUES (?,?)
SELECT sum(balance) FROM accounts
INSERT INTO `tokens` DEFAULT VALUES RETURNING `id`,`created_at`
SELECT * FROM `users` WHERE `users`.`deleted_at` IS NULL ORDER BY `users`.`id` LIMIT 1
SELECT * FROM `users` WHERE `users`.`id` = ? AND `users`.`deleted_at` IS NULL AND `users`.`id` = ? ORDER BY `users`.`id` LIMIT 1
SELECT * FROM `users` WHERE id = ? AND `users`.`deleted_at` IS NULL AND `users`.`id` = ? ORDER BY `users`.`id` LIMIT 1
SELECT * FROM `users` WHERE `users`.`deleted_at` IS NULL AND `users`.`id` = ? LIMIT 1
SELECT * FROM `users` WHERE `users`.`deleted_at` IS NULL AND `users`.`id` = ? ORDER BY `users`.`id` DESC LIMIT 1
SELECT * FROM `users` WHERE `users`.`id` IN (?,?,?) AND `users`.`deleted_at` IS NULL
SELECT * FROM `users` WHERE name = ? AND `users`.`deleted_at` IS NULL AND `users`.`id` = ? ORDER BY `users`.`id` LIMIT 1
SELECT * FROM `users` WHERE name <> ? AND `users`.`deleted_at` IS NULL
SELECT * FROM `users` WHERE name IN (?,?) AND `users`.`deleted_at` IS NULL
SELECT * FROM `users` WHERE name LIKE ? AND `users`.`deleted_at` IS NULL
SELECT * FROM `users` WHERE (name = ? AND age >= ?) AND `users`.`deleted_at` IS NULL
SELECT * FROM `users` WHERE created_at > ? AND `users`.`deleted_at` IS NULL
SELECT * FROM `users` WHERE (created_at BETWEEN ? AND ?) AND `users`.`deleted_at` IS NULL
SELECT * FROM `users` WHERE (`users`.`name` = ? AND `users`.`age` = ?) AND `users`.`deleted_at` IS NULL AND `users`.`id` = ? ORDER BY `users`.`id` LIMIT 1
SELECT * FROM `users` WHERE (`users`.`age` = ? AND `users`.`name` = ?) AND `users`.`deleted_at` IS NULL
SELECT * FROM `users` WHERE NOT name = ? AND `users`.`deleted_at` IS NULL AND `users`.`id` = ? ORDER BY `users`.`id` LIMIT 1
SELECT * FROM `users` WHERE `users`.`name` NOT IN (?,?) AND `users`.`deleted_at` IS NULL
SELECT * FROM `users` WHERE (name = ? OR name = ?) AND `users`.`deleted_at` IS NULL
SELECT * FROM `users` WHERE (id = ? OR (email = ? AND age > ?)) AND `users`.`deleted_at` IS NULL
SELECT `name`,`age` FROM `users` WHERE `users`.`deleted_at` IS NULL
SELECT * FROM `users` WHERE `users`.`deleted_at` IS NULL ORDER BY age desc, name LIMIT 10 OFFSET 5
SELECT name, sum(age) as total FROM `users` WHERE `users`.`deleted_at` IS NULL GROUP BY `name` HAVING sum(age) > ?
SELECT DISTINCT `name`,`age` FROM `users` WHERE `users`.`deleted_at` IS NULL ORDER BY name
SELECT * FROM `users` WHERE id = ?
SELECT `id` FROM `users` WHERE age > ? AND `users`.`deleted_at` IS NULL
SELECT `name` FROM `users` WHERE `users`.`deleted_at` IS NULL
SELECT `name` FROM `users` WHERE id = ? AND `users`.`deleted_at` IS NULL LIMIT 1
SELECT * FROM `users` WHERE age > (SELECT AVG(age) FROM `users`) AND `users`.`deleted_at` IS NULL
SELECT * FROM `users` WHERE id IN (SELECT user_id FROM `orders` WHERE amount > ?) AND `users`.`deleted_at` IS NULL
SELECT * FROM (SELECT `name`,`age` FROM `users` WHERE `users`.`deleted_at` IS NULL) as u WHERE age = ?
SELECT * FROM `users` WHERE email = ? AND `users`.`deleted_at` IS NULL ORDER BY `users`.`id` LIMIT 1
SELECT * FROM `users` WHERE email = ? AND `users`.`deleted_at` IS NULL AND `users`.`id` = ? ORDER BY `users`.`id` LIMIT 1
SELECT * FROM `users` WHERE `users`.`email` = ? AND `users`.`deleted_at` IS NULL AND `users`.`id` = ? ORDER BY `users`.`id` LIMIT 1
SELECT * FROM `users` WHERE age > ? AND `users`.`deleted_at` IS NULL
SELECT * FROM `users` WHERE deleted_at IS NOT NULL
SELECT name, age FROM `users` WHERE name = ? AND `users`.`deleted_at` IS NULL
SELECT * FROM `users` WHERE `users`.`deleted_at` IS NULL
SELECT * FROM `user_languages` WHERE `user_languages`.`user_id` IN (?,?,?,?,?,?,?,?,?,?,?,?,?)
SELECT * FROM `languages` WHERE `languages`.`id` IN (?,?)
SELECT * FROM `orders` WHERE `orders`.`user_id` IN (?,?,?,?,?,?,?,?,?,?,?,?,?) AND `orders`.`deleted_at` IS NULL
SELECT * FROM `users` WHERE id = ? AND `users`.`deleted_at` IS NULL
SELECT * FROM `user_languages` WHERE `user_languages`.`user_id` = ?
SELECT * FROM `orders` WHERE `orders`.`user_id` = ? AND `orders`.`deleted_at` IS NULL
SELECT * FROM `orders` WHERE `orders`.`user_id` = ? AND status = ? AND `orders`.`deleted_at` IS NULL
SELECT `orders`.`id`,`orders`.`user_id`,`orders`.`amount`,`orders`.`status`,`orders`.`created_at`,`orders`.`updated_at`,`orders`.`deleted_at`,`User`.`id` AS `User__id`,`User`.`created_at` AS `User__created_at`,`User`.`updated_at` AS `User__updated_at`,`User`.`deleted_at` AS `User__deleted_at`,`User`.`name` AS `User__name`,`User`.`email` AS `User__email`,`User`.`age` AS `User__age` FROM `orders` LEFT JOIN `users` `User` ON `orders`.`user_id` = `User`.`id` AND `User`.`deleted_at` IS NULL WHERE `orders`.`deleted_at` IS NULL
SELECT `orders`.`id`,`orders`.`user_id`,`orders`.`amount`,`orders`.`status`,`orders`.`created_at`,`orders`.`updated_at`,`orders`.`deleted_at`,`User`.`id` AS `User__id`,`User`.`created_at` AS `User__created_at`,`User`.`updated_at` AS `User__updated_at`,`User`.`deleted_at` AS `User__deleted_at`,`User`.`name` AS `User__name`,`User`.`email` AS `User__email`,`User`.`age` AS `User__age` FROM `orders` LEFT JOIN `users` `User` ON `orders`.`user_id` = `User`.`id` AND `User`.`deleted_at` IS NULL WHERE `User`.`name` = ? AND `orders`.`deleted_at` IS NULL
SELECT `orders`.`id`,`orders`.`user_id`,`orders`.`amount`,`orders`.`status`,`orders`.`created_at`,`orders`.`updated_at`,`orders`.`deleted_at`,`User`.`id` AS `User__id`,`User`.`created_at` AS `User__created_at`,`User`.`updated_at` AS `User__updated_at`,`User`.`deleted_at` AS `User__deleted_at`,`User`.`name` AS `User__name`,`User`.`email` AS `User__email`,`User`.`age` AS `User__age` FROM `orders` LEFT JOIN `users` `User` ON `orders`.`user_id` = `User`.`id` AND `User`.`deleted_at` IS NULL WHERE User.name = ? AND `orders`.`deleted_at` IS NULL
SELECT `orders`.`id`,`orders`.`user_id`,`orders`.`amount`,`orders`.`status`,`orders`.`created_at`,`orders`.`updated_at`,`orders`.`deleted_at`,`User`.`id` AS `User__id`,`User`.`created_at` AS `User__created_at`,`User`.`updated_at` AS `User__updated_at`,`User`.`deleted_at` AS `User__deleted_at`,`User`.`name` AS `User__name`,`User`.`email` AS `User__email`,`User`.`age` AS `User__age` FROM `orders` INNER JOIN `users` `User` ON `orders`.`user_id` = `User`.`id` AND `User`.`deleted_at` IS NULL WHERE orders.amount > ? AND `orders`.`deleted_at` IS NULL
SELECT users.name, orders.amount FROM `users` left join orders on orders.user_id = users.id WHERE users.id = ? AND `users`.`deleted_at` IS NULL
SELECT users.name, orders.amount FROM `users` left join orders on orders.user_id = users.id WHERE users.id = ?
SELECT users.name, count(orders.id) FROM `users` JOIN orders ON orders.user_id = users.id AND orders.amount > ? GROUP BY `users`.`name`
SELECT users.name, count(orders.id) FROM `users` JOIN orders ON orders.user_id = users.id AND orders.amount > ? WHERE `users`.`deleted_at` IS NULL GROUP BY `users`.`name`
SELECT count(*) FROM `users` WHERE `users`.`deleted_at` IS NULL
SELECT count(*) FROM `users` WHERE name = ? AND `users`.`deleted_at` IS NULL
SELECT COUNT(DISTINCT(`name`)) FROM `users` WHERE `users`.`deleted_at` IS NULL
SELECT count(*) FROM `orders` WHERE user_id = ?
UPDATE `users` SET `name`=?,`updated_at`=? WHERE `users`.`deleted_at` IS NULL AND `id` = ?
UPDATE `users` SET `name`=?,`updated_at`=? WHERE age > ? AND `users`.`deleted_at` IS NULL
UPDATE `users` SET `updated_at`=?,`name`=?,`age`=? WHERE `users`.`deleted_at` IS NULL AND `id` = ?
UPDATE `users` SET `age`=?,`name`=?,`updated_at`=? WHERE `users`.`deleted_at` IS NULL AND `id` = ?
UPDATE `users` SET `age`=age + ?,`updated_at`=? WHERE `users`.`deleted_at` IS NULL AND `id` = ?
UPDATE `users` SET `age`=age * ? + ? WHERE `users`.`deleted_at` IS NULL AND `id` = ?
UPDATE `users` SET `name`=?,`age`=? WHERE `users`.`deleted_at` IS NULL AND `id` = ?
UPDATE `users` SET `age`=?,`updated_at`=? WHERE id IN (?,?,?) AND `users`.`deleted_at` IS NULL
UPDATE `users` SET `updated_at`=CURRENT_TIMESTAMP WHERE id = ? AND `users`.`deleted_at` IS NULL
UPDATE `users` SET `updated_at`=CURRENT_TIMESTAMP WHERE `users`.`deleted_at` IS NULL AND `id` = ?
UPDATE `users` SET `name`=UPPER(name) WHERE id = ?
UPDATE `users` SET `name`=UPPER(name),`updated_at`=? WHERE `users`.`deleted_at` IS NULL AND `id` = ?
UPDATE `users` SET `age`=?,`updated_at`=? WHERE `users`.`deleted_at` IS NULL
UPDATE `orders` SET `status`=?,`updated_at`=? WHERE id = ? AND status = ? AND `orders`.`deleted_at` IS NULL
UPDATE `orders` SET `status`=?,`updated_at`=? WHERE (id = ? AND status = ?) AND `orders`.`deleted_at` IS NULL
UPDATE `users` SET `age`=?,`updated_at`=? WHERE age > ? AND `users`.`deleted_at` IS NULL RETURNING *
UPDATE `accounts` SET `balance`=balance + ? WHERE id = ?
UPDATE `users` SET `created_at`=?,`updated_at`=?,`deleted_at`=?,`name`=?,`email`=?,`age`=? WHERE `users`.`deleted_at` IS NULL AND `id` = ?
INSERT INTO `users` (`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age`) VALUES (?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING `id`
INSERT INTO `users` (`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age`,`id`) VALUES (?,?,?,?,?,?,?) ON CONFLICT (`id`) DO UPDATE SET `updated_at`=?,`deleted_at`=`excluded`.`deleted_at`,`name`=`excluded`.`name`,`email`=`excluded`.`email`,`age`=`excluded`.`age` RETURNING `id`
INSERT INTO `users` (`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age`) VALUES (?,?,?,?,?,?),(?,?,?,?,?,?) ON CONFLICT (`email`) DO UPDATE SET `name`=`excluded`.`name`,`age`=`excluded`.`age` RETURNING `id`
INSERT INTO `users` (`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age`) VALUES (?,?,?,?,?,?) ON CONFLICT (`email`) DO UPDATE SET `age`=users.age + 1,`updated_at`=CURRENT_TIMESTAMP RETURNING `id`
INSERT INTO `users` (`created_at`,`updated_at`,`deleted_at`,`name`,`email`,`age`) VALUES (?,?,?,?,?,?) ON CONFLICT (`email`) DO UPDATE SET `age`=`users`.`age` + 1,`updated_at`=CURRENT_TIMESTAMP RETURNING `id`
UPDATE `users` SET `updated_at`=? WHERE `users`.`deleted_at` IS NULL AND `id` = ?
INSERT INTO `languages` (`code`,`name`) VALUES (?,?) ON CONFLICT DO NOTHING RETURNING `id`
INSERT INTO `user_languages` (`user_id`,`language_id`) VALUES (?,?) ON CONFLICT DO NOTHING
SELECT * FROM `users` WHERE `users`.`id` = ? AND `users`.`deleted_at` IS NULL ORDER BY `users`.`id` LIMIT 1
SELECT * FROM `languages` WHERE `languages`.`id` = ?
INSERT INTO `languages` (`code`,`name`,`id`) VALUES (?,?,?),(?,?,?),(?,?,NULL) ON CONFLICT DO NOTHING RETURNING `id`
INSERT INTO `user_languages` (`user_id`,`language_id`) VALUES (?,?),(?,?),(?,?) ON CONFLICT DO NOTHING
SELECT * FROM `languages` WHERE code = ? ORDER BY `languages`.`id` LIMIT 1
INSERT INTO `languages` (`code`,`name`,`id`) VALUES (?,?,?),(?,?,?),(?,?,?) ON CONFLICT DO NOTHING RETURNING `id`
INSERT INTO `user_languages` (`user_id`,`language_id`) VALUES (?,?),(?,?),(?,?),(?,?) ON CONFLICT DO NOTHING
INSERT INTO `languages` (`code`,`name`,`id`) VALUES (?,?,?) ON CONFLICT DO NOTHING RETURNING `id`
DELETE FROM `user_languages` WHERE `user_languages`.`user_id` = ? AND `user_languages`.`language_id` <> ?
INSERT INTO `languages` (`code`,`name`,`id`) VALUES (?,?,?),(?,?,?) ON CONFLICT DO NOTHING RETURNING `id`
DELETE FROM `user_languages` WHERE `user_languages`.`user_id` = ? AND `user_languages`.`language_id` = ?
SELECT count(*) FROM `languages` JOIN `user_languages` ON `user_languages`.`language_id` = `languages`.`id` AND `user_languages`.`user_id` = ?
SELECT `languages`.`id`,`languages`.`code`,`languages`.`name` FROM `languages` JOIN `user_languages` ON `user_languages`.`language_id` = `languages`.`id` AND `user_languages`.`user_id` = ?
DELETE FROM `user_languages` WHERE `user_languages`.`user_id` = ?
INSERT INTO `languages` (`code`,`name`) VALUES (?,?) RETURNING `id`
DELETE FROM `languages` WHERE `languages`.`id` = ?
UPDATE `orders` SET `user_id`=? WHERE `orders`.`user_id` = ? AND `orders`.`deleted_at` IS NULL
ROLLBACK
UPDATE `users` SET `deleted_at`=? WHERE `users`.`id` = ? AND `users`.`deleted_at` IS NULL
UPDATE `users` SET `deleted_at`=? WHERE `users`.`id` IN (?,?,?) AND `users`.`deleted_at` IS NULL
UPDATE `users` SET `deleted_at`=? WHERE email LIKE ? AND `users`.`deleted_at` IS NULL
UPDATE `users` SET `deleted_at`=? WHERE name = ? AND `users`.`deleted_at` IS NULL
DELETE FROM `users` WHERE `users`.`id` = ?
DELETE FROM `users` WHERE deleted_at < ?
UPDATE `orders` SET `deleted_at`=? WHERE id = ? AND `orders`.`deleted_at` IS NULL RETURNING *
UPDATE `orders` SET `deleted_at`=? WHERE `orders`.`user_id` = ? AND `orders`.`deleted_at` IS NULL
SAVEPOINT sp7906413175461652015
UPDATE `users` SET `age`=?,`updated_at`=? WHERE id = ? AND `users`.`deleted_at` IS NULL
ROLLBACK TO SAVEPOINT sp7906413175461652015
INSERT INTO `orders` (`user_id`,`amount`,`status`,`created_at`,`updated_at`,`deleted_at`) VALUES (?,?,?,?,?,?) RETURNING `id`
SAVEPOINT sp1
UPDATE `orders` SET `amount`=?,`updated_at`=? WHERE id = ? AND `orders`.`deleted_at` IS NULL
ROLLBACK TO SAVEPOINT sp1
PRAGMA journal_mode = WAL
PRAGMA busy_timeout = 5000
PRAGMA table_info(`users`)
PRAGMA index_list(`users`)
PRAGMA foreign_key_list(`orders`)
UPDATE users SET updated_at = datetime('now') WHERE id = ?
SELECT id, name FROM users WHERE id = ? AND created_at < CURRENT_TIMESTAMP
DELETE FROM orders WHERE user_id IN (?,?)
SELECT * FROM users WHERE name = ? OR email = ?
INSERT INTO users (name, email, created_at) VALUES (?, ?, datetime('now')) RETURNING id, created_at
INSERT INTO users (name, email) VALUES (?, ?) ON CONFLICT (email) DO UPDATE SET name = excluded.name, updated_at = CURRENT_TIMESTAMP RETURNING *
INSERT OR IGNORE INTO languages (code, name) VALUES (?, ?)
INSERT OR REPLACE INTO languages (id, code, name) VALUES (?, ?, ?)
REPLACE INTO languages (id, code, name) VALUES (?, ?, ?)
INSERT INTO orders (user_id, amount) SELECT id, 0 FROM users WHERE age > ?
UPDATE users SET name = ? WHERE id IN (1, 2, 3)
UPDATE orders SET status = ? FROM users WHERE users.id = orders.user_id AND users.id = ?
DELETE FROM orders WHERE id = ? RETURNING *
DELETE FROM orders WHERE id IN (SELECT id FROM orders WHERE status = 'cancelled' LIMIT 10)
WITH recent AS (SELECT user_id, count(*) AS n FROM orders WHERE created_at > datetime('now', '-1 day') GROUP BY user_id) SELECT u.id, u.name, r.n FROM users u JOIN recent r ON r.user_id = u.id
WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 10) SELECT sum(n) FROM t
/* app=api,route=/users/:id */ SELECT * FROM `users` WHERE `users`.`id` = ? AND `users`.`deleted_at` IS NULL
SELECT id FROM users WHERE email = ? -- trailing comment
SELECT id, name, row_number() OVER (PARTITION BY age ORDER BY id) FROM users
SELECT json_extract(name, '$.theme') FROM users WHERE id = ?
SELECT random(), randomblob(16), datetime('now'), date('now'), time('now'), CURRENT_TIMESTAMP, CURRENT_DATE, CURRENT_TIME, julianday('now'), strftime('%s', 'now'), unixepoch()
SELECT last_insert_rowid()
SELECT changes()
SELECT 1
VALUES (1, 'a'), (2, 'b')
SELECT * FROM users WHERE id = ?1
SELECT * FROM users WHERE id = ?1 OR id = ?1
SELECT * FROM users WHERE id = $1
SELECT * FROM users WHERE name = :name
BEGIN IMMEDIATE
BEGIN EXCLUSIVE
BEGIN DEFERRED TRANSACTION
END TRANSACTION
RELEASE sp1
ROLLBACK TRANSACTION TO SAVEPOINT sp1
EXPLAIN QUERY PLAN SELECT * FROM users WHERE id = ?
EXPLAIN SELECT * FROM users WHERE id = ?
ANALYZE
VACUUM
REINDEX users
ATTACH DATABASE 'other.db' AS other
DETACH DATABASE other
SELECT * FROM other.users WHERE id = ?
CREATE TABLE tokens2 (id TEXT PRIMARY KEY DEFAULT (lower(hex(randomblob(16)))), created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP) WITHOUT ROWID
CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB) STRICT
CREATE VIEW IF NOT EXISTS adults AS SELECT * FROM users WHERE age >= 18
CREATE TRIGGER IF NOT EXISTS orders_touch AFTER UPDATE ON orders BEGIN UPDATE orders SET updated_at = CURRENT_TIMESTAMP WHERE id = NEW.id; END
CREATE VIRTUAL TABLE docs USING fts5(title, body)
ALTER TABLE users ADD COLUMN nickname text DEFAULT ''
DROP VIEW IF EXISTS adults
DROP TRIGGER IF EXISTS orders_touch
DROP TABLE IF EXISTS kv
CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)
INSERT INTO accounts (id, balance) VALUES (?, ?)
UPDATE accounts SET balance = balance + ? WHERE id = ?
SELECT balance FROM accounts WHERE id = ?
