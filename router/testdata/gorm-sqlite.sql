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
CREATE TABLE `gt_companies` (`id` integer PRIMARY KEY AUTOINCREMENT,`name` text)
CREATE TABLE `gt_languages` (`code` text,`name` text,PRIMARY KEY (`code`))
CREATE TABLE `gt_users` (`id` integer PRIMARY KEY AUTOINCREMENT,`created_at` datetime,`updated_at` datetime,`deleted_at` datetime,`name` text,`age` integer,`birthday` datetime,`company_id` integer,`manager_id` integer,`active` numeric,CONSTRAINT `fk_gt_users_company` FOREIGN KEY (`company_id`) REFERENCES `gt_companies`(`id`),CONSTRAINT `fk_gt_users_team` FOREIGN KEY (`manager_id`) REFERENCES `gt_users`(`id`))
CREATE INDEX `idx_gt_users_deleted_at` ON `gt_users`(`deleted_at`)
CREATE TABLE `gt_user_speaks` (`user_id` integer,`language_code` text,PRIMARY KEY (`user_id`,`language_code`),CONSTRAINT `fk_gt_user_speaks_user` FOREIGN KEY (`user_id`) REFERENCES `gt_users`(`id`),CONSTRAINT `fk_gt_user_speaks_language` FOREIGN KEY (`language_code`) REFERENCES `gt_languages`(`code`))
CREATE TABLE `gt_user_friends` (`user_id` integer,`friend_id` integer,PRIMARY KEY (`user_id`,`friend_id`),CONSTRAINT `fk_gt_user_friends_user` FOREIGN KEY (`user_id`) REFERENCES `gt_users`(`id`),CONSTRAINT `fk_gt_user_friends_friends` FOREIGN KEY (`friend_id`) REFERENCES `gt_users`(`id`))
CREATE TABLE `gt_accounts` (`id` integer PRIMARY KEY AUTOINCREMENT,`created_at` datetime,`updated_at` datetime,`deleted_at` datetime,`user_id` integer,`number` text,CONSTRAINT `fk_gt_users_account` FOREIGN KEY (`user_id`) REFERENCES `gt_users`(`id`))
CREATE INDEX `idx_gt_accounts_deleted_at` ON `gt_accounts`(`deleted_at`)
CREATE TABLE `gt_pets` (`id` integer PRIMARY KEY AUTOINCREMENT,`created_at` datetime,`updated_at` datetime,`deleted_at` datetime,`user_id` integer,`name` text,CONSTRAINT `fk_gt_users_named_pet` FOREIGN KEY (`user_id`) REFERENCES `gt_users`(`id`),CONSTRAINT `fk_gt_users_pets` FOREIGN KEY (`user_id`) REFERENCES `gt_users`(`id`))
CREATE INDEX `idx_gt_pets_deleted_at` ON `gt_pets`(`deleted_at`)
CREATE TABLE `gt_toys` (`id` integer PRIMARY KEY AUTOINCREMENT,`created_at` datetime,`updated_at` datetime,`deleted_at` datetime,`name` text,`owner_id` integer,`owner_type` text)
CREATE INDEX `idx_gt_toys_deleted_at` ON `gt_toys`(`deleted_at`)
CREATE TABLE `gt_tools` (`id` integer PRIMARY KEY AUTOINCREMENT,`created_at` datetime,`updated_at` datetime,`deleted_at` datetime,`name` text,`custom_id` integer,`type` text)
CREATE INDEX `idx_gt_tools_deleted_at` ON `gt_tools`(`deleted_at`)
INSERT INTO `gt_users` (`created_at`,`updated_at`,`deleted_at`,`name`,`age`,`birthday`,`company_id`,`manager_id`,`active`) VALUES (?,?,?,?,?,?,?,?,?) RETURNING `id`
INSERT INTO `gt_companies` (`name`) VALUES (?) ON CONFLICT DO NOTHING RETURNING `id`
INSERT INTO `gt_users` (`created_at`,`updated_at`,`deleted_at`,`name`,`age`,`birthday`,`company_id`,`manager_id`,`active`,`id`) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING `id`
INSERT INTO `gt_accounts` (`created_at`,`updated_at`,`deleted_at`,`user_id`,`number`) VALUES (?,?,?,?,?) ON CONFLICT (`id`) DO UPDATE SET `user_id`=`excluded`.`user_id` RETURNING `id`
INSERT INTO `gt_pets` (`created_at`,`updated_at`,`deleted_at`,`user_id`,`name`) VALUES (?,?,?,?,?),(?,?,?,?,?) ON CONFLICT (`id`) DO UPDATE SET `user_id`=`excluded`.`user_id` RETURNING `id`
INSERT INTO `gt_toys` (`created_at`,`updated_at`,`deleted_at`,`name`,`owner_id`,`owner_type`) VALUES (?,?,?,?,?,?) ON CONFLICT (`id`) DO UPDATE SET `owner_type`=`excluded`.`owner_type`,`owner_id`=`excluded`.`owner_id` RETURNING `id`
INSERT INTO `gt_tools` (`created_at`,`updated_at`,`deleted_at`,`name`,`custom_id`,`type`) VALUES (?,?,?,?,?,?) ON CONFLICT (`id`) DO UPDATE SET `type`=`excluded`.`type`,`custom_id`=`excluded`.`custom_id` RETURNING `id`
INSERT INTO `gt_languages` (`code`,`name`) VALUES (?,?),(?,?) ON CONFLICT DO NOTHING
INSERT INTO `gt_user_speaks` (`user_id`,`language_code`) VALUES (?,?),(?,?) ON CONFLICT DO NOTHING
INSERT INTO `gt_users` (`created_at`,`updated_at`,`deleted_at`,`name`,`age`,`birthday`,`company_id`,`manager_id`,`active`) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING `id`
INSERT INTO `gt_user_friends` (`user_id`,`friend_id`) VALUES (?,?) ON CONFLICT DO NOTHING
INSERT INTO `gt_users` (`created_at`,`updated_at`,`deleted_at`,`name`,`age`,`birthday`,`company_id`,`manager_id`,`active`) VALUES (?,?,?,?,?,?,?,?,?),(?,?,?,?,?,?,?,?,?) RETURNING `id`
SELECT * FROM `gt_users` WHERE `gt_users`.`id` = ? AND `gt_users`.`deleted_at` IS NULL ORDER BY `gt_users`.`id` LIMIT 1
SELECT * FROM `gt_accounts` WHERE `gt_accounts`.`user_id` = ? AND `gt_accounts`.`deleted_at` IS NULL
SELECT * FROM `gt_companies` WHERE `gt_companies`.`id` = ?
SELECT * FROM `gt_user_friends` WHERE `gt_user_friends`.`user_id` = ?
SELECT * FROM `gt_users` WHERE `gt_users`.`id` = ? AND `gt_users`.`deleted_at` IS NULL
SELECT * FROM `gt_user_speaks` WHERE `gt_user_speaks`.`user_id` = ?
SELECT * FROM `gt_languages` WHERE `gt_languages`.`code` IN (?,?)
SELECT * FROM `gt_pets` WHERE `gt_pets`.`user_id` = ? AND `gt_pets`.`deleted_at` IS NULL
SELECT * FROM `gt_users` WHERE `gt_users`.`manager_id` = ? AND `gt_users`.`deleted_at` IS NULL
SELECT * FROM `gt_tools` WHERE `type` = ? AND `gt_tools`.`custom_id` = ? AND `gt_tools`.`deleted_at` IS NULL
SELECT * FROM `gt_toys` WHERE `owner_type` = ? AND `gt_toys`.`owner_id` = ? AND `gt_toys`.`deleted_at` IS NULL
SELECT * FROM `gt_users` WHERE `gt_users`.`id` = ? AND `gt_users`.`deleted_at` IS NULL AND `gt_users`.`id` = ? ORDER BY `gt_users`.`id` LIMIT 1
SELECT * FROM `gt_toys` WHERE `owner_type` = ? AND `gt_toys`.`owner_id` IN (?,?) AND `gt_toys`.`deleted_at` IS NULL
SELECT `gt_users`.`id`,`gt_users`.`created_at`,`gt_users`.`updated_at`,`gt_users`.`deleted_at`,`gt_users`.`name`,`gt_users`.`age`,`gt_users`.`birthday`,`gt_users`.`company_id`,`gt_users`.`manager_id`,`gt_users`.`active`,`Company`.`id` AS `Company__id`,`Company`.`name` AS `Company__name`,`Manager`.`id` AS `Manager__id`,`Manager`.`created_at` AS `Manager__created_at`,`Manager`.`updated_at` AS `Manager__updated_at`,`Manager`.`deleted_at` AS `Manager__deleted_at`,`Manager`.`name` AS `Manager__name`,`Manager`.`age` AS `Manager__age`,`Manager`.`birthday` AS `Manager__birthday`,`Manager`.`company_id` AS `Manager__company_id`,`Manager`.`manager_id` AS `Manager__manager_id`,`Manager`.`active` AS `Manager__active` FROM `gt_users` LEFT JOIN `gt_companies` `Company` ON `gt_users`.`company_id` = `Company`.`id` LEFT JOIN `gt_users` `Manager` ON `gt_users`.`manager_id` = `Manager`.`id` AND `Manager`.`deleted_at` IS NULL WHERE `gt_users`.`id` = ? AND `gt_users`.`deleted_at` IS NULL AND `gt_users`.`id` = ? ORDER BY `gt_users`.`id` LIMIT 1
SELECT `gt_users`.`id`,`gt_users`.`created_at`,`gt_users`.`updated_at`,`gt_users`.`deleted_at`,`gt_users`.`name`,`gt_users`.`age`,`gt_users`.`birthday`,`gt_users`.`company_id`,`gt_users`.`manager_id`,`gt_users`.`active`,`Account`.`id` AS `Account__id`,`Account`.`created_at` AS `Account__created_at`,`Account`.`updated_at` AS `Account__updated_at`,`Account`.`deleted_at` AS `Account__deleted_at`,`Account`.`user_id` AS `Account__user_id`,`Account`.`number` AS `Account__number` FROM `gt_users` LEFT JOIN `gt_accounts` `Account` ON `gt_users`.`id` = `Account`.`user_id` AND `Account`.`deleted_at` IS NULL WHERE `Account`.`number` = ? AND `gt_users`.`deleted_at` IS NULL
SELECT `gt_users`.`id`,`gt_users`.`created_at`,`gt_users`.`updated_at`,`gt_users`.`deleted_at`,`gt_users`.`name`,`gt_users`.`age`,`gt_users`.`birthday`,`gt_users`.`company_id`,`gt_users`.`manager_id`,`gt_users`.`active`,`Company`.`id` AS `Company__id`,`Company`.`name` AS `Company__name` FROM `gt_users` LEFT JOIN `gt_companies` `Company` ON `gt_users`.`company_id` = `Company`.`id` AND `Company`.`name` = ? WHERE `gt_users`.`deleted_at` IS NULL
SELECT * FROM `gt_users` WHERE `gt_users`.`deleted_at` IS NULL ORDER BY `gt_users`.`id` LIMIT 2
SELECT * FROM `gt_users` WHERE `gt_users`.`id` > ? AND `gt_users`.`deleted_at` IS NULL ORDER BY `gt_users`.`id` LIMIT 2
SELECT * FROM `gt_users` WHERE active = ? AND `gt_users`.`deleted_at` IS NULL
SELECT * FROM `gt_users` WHERE age > ? AND `gt_users`.`deleted_at` IS NULL
SELECT count(*) FROM `gt_users` LEFT JOIN `gt_companies` `Company` ON `gt_users`.`company_id` = `Company`.`id` WHERE `Company`.`name` = ? AND `gt_users`.`deleted_at` IS NULL
UPDATE `gt_users` SET `updated_at`=? WHERE `gt_users`.`deleted_at` IS NULL AND `id` = ?
UPDATE `gt_accounts` SET `user_id`=? WHERE `gt_accounts`.`id` <> ? AND `gt_accounts`.`user_id` = ? AND `gt_accounts`.`deleted_at` IS NULL
INSERT INTO `gt_pets` (`created_at`,`updated_at`,`deleted_at`,`user_id`,`name`,`id`) VALUES (?,?,?,?,?,?),(?,?,?,?,?,?),(?,?,?,?,?,NULL) ON CONFLICT (`id`) DO UPDATE SET `user_id`=`excluded`.`user_id` RETURNING `id`
INSERT INTO `gt_toys` (`created_at`,`updated_at`,`deleted_at`,`name`,`owner_id`,`owner_type`,`id`) VALUES (?,?,?,?,?,?,?),(?,?,?,?,?,?,NULL) ON CONFLICT (`id`) DO UPDATE SET `owner_type`=`excluded`.`owner_type`,`owner_id`=`excluded`.`owner_id` RETURNING `id`
UPDATE `gt_users` SET `updated_at`=?,`company_id`=? WHERE `gt_users`.`deleted_at` IS NULL AND `id` = ?
UPDATE `gt_users` SET `updated_at`=?,`manager_id`=? WHERE `gt_users`.`deleted_at` IS NULL AND `id` = ?
INSERT INTO `gt_languages` (`code`,`name`) VALUES (?,?),(?,?),(?,?) ON CONFLICT DO NOTHING
INSERT INTO `gt_user_speaks` (`user_id`,`language_code`) VALUES (?,?),(?,?),(?,?) ON CONFLICT DO NOTHING
INSERT INTO `gt_languages` (`code`,`name`) VALUES (?,?) ON CONFLICT DO NOTHING
INSERT INTO `gt_user_speaks` (`user_id`,`language_code`) VALUES (?,?) ON CONFLICT DO NOTHING
DELETE FROM `gt_user_speaks` WHERE `gt_user_speaks`.`user_id` = ? AND `gt_user_speaks`.`language_code` <> ?
DELETE FROM `gt_user_friends` WHERE `gt_user_friends`.`user_id` = ? AND `gt_user_friends`.`friend_id` = ?
SELECT * FROM `gt_pets` WHERE `gt_pets`.`user_id` = ? AND name <> ? AND `gt_pets`.`deleted_at` IS NULL
SELECT count(*) FROM `gt_toys` WHERE `gt_toys`.`owner_type` = ? AND `gt_toys`.`owner_id` = ? AND `gt_toys`.`deleted_at` IS NULL
UPDATE `gt_toys` SET `owner_id`=? WHERE `owner_type` = ? AND `gt_toys`.`owner_id` = ? AND `gt_toys`.`deleted_at` IS NULL
UPDATE `gt_pets` SET `deleted_at`=? WHERE `gt_pets`.`user_id` = ? AND `gt_pets`.`deleted_at` IS NULL
INSERT INTO `gt_companies` (`name`,`id`) VALUES (?,?) ON CONFLICT (`id`) DO UPDATE SET `name`=`excluded`.`name` RETURNING `id`
INSERT INTO `gt_users` (`created_at`,`updated_at`,`deleted_at`,`name`,`age`,`birthday`,`company_id`,`manager_id`,`active`,`id`) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT (`id`) DO UPDATE SET `updated_at`=?,`deleted_at`=`excluded`.`deleted_at`,`name`=`excluded`.`name`,`age`=`excluded`.`age`,`birthday`=`excluded`.`birthday`,`company_id`=`excluded`.`company_id`,`manager_id`=`excluded`.`manager_id`,`active`=`excluded`.`active` RETURNING `id`
UPDATE `gt_users` SET `created_at`=?,`updated_at`=?,`deleted_at`=?,`name`=?,`age`=?,`birthday`=?,`company_id`=?,`manager_id`=?,`active`=? WHERE `gt_users`.`deleted_at` IS NULL AND `id` = ?
INSERT INTO `gt_accounts` (`created_at`,`updated_at`,`deleted_at`,`user_id`,`number`,`id`) VALUES (?,?,?,?,?,?) ON CONFLICT (`id`) DO UPDATE SET `updated_at`=?,`deleted_at`=`excluded`.`deleted_at`,`user_id`=`excluded`.`user_id`,`number`=`excluded`.`number` RETURNING `id`
INSERT INTO `gt_tools` (`created_at`,`updated_at`,`deleted_at`,`name`,`custom_id`,`type`,`id`) VALUES (?,?,?,?,?,?,?) ON CONFLICT (`id`) DO UPDATE SET `updated_at`=?,`deleted_at`=`excluded`.`deleted_at`,`name`=`excluded`.`name`,`custom_id`=`excluded`.`custom_id`,`type`=`excluded`.`type` RETURNING `id`
INSERT INTO `gt_languages` (`code`,`name`) VALUES (?,?) ON CONFLICT (`code`) DO UPDATE SET `name`=`excluded`.`name`
INSERT INTO `gt_companies` (`name`,`id`) VALUES (?,?) ON CONFLICT DO NOTHING RETURNING `id`
UPDATE `gt_users` SET `active`=?,`company_id`=?,`manager_id`=?,`name`=?,`updated_at`=? WHERE `gt_users`.`deleted_at` IS NULL AND `id` = ?
INSERT INTO `gt_accounts` (`created_at`,`updated_at`,`deleted_at`,`user_id`,`number`,`id`) VALUES (?,?,?,?,?,?) ON CONFLICT (`id`) DO UPDATE SET `user_id`=`excluded`.`user_id` RETURNING `id`
INSERT INTO `gt_tools` (`created_at`,`updated_at`,`deleted_at`,`name`,`custom_id`,`type`,`id`) VALUES (?,?,?,?,?,?,?) ON CONFLICT (`id`) DO UPDATE SET `type`=`excluded`.`type`,`custom_id`=`excluded`.`custom_id` RETURNING `id`
UPDATE `gt_accounts` SET `deleted_at`=? WHERE `gt_accounts`.`user_id` = ? AND `gt_accounts`.`deleted_at` IS NULL
UPDATE `gt_users` SET `deleted_at`=? WHERE `gt_users`.`id` = ? AND `gt_users`.`deleted_at` IS NULL
UPDATE `gt_toys` SET `deleted_at`=? WHERE `gt_toys`.`owner_type` = ? AND `gt_toys`.`owner_id` = ? AND `gt_toys`.`deleted_at` IS NULL
UPDATE `gt_tools` SET `deleted_at`=? WHERE `gt_tools`.`type` = ? AND `gt_tools`.`custom_id` = ? AND `gt_tools`.`deleted_at` IS NULL
DELETE FROM `gt_user_speaks` WHERE `gt_user_speaks`.`user_id` = ?
DELETE FROM `gt_user_friends` WHERE `gt_user_friends`.`user_id` = ?
DELETE FROM `gt_users` WHERE name = ?
SELECT * FROM `gt_accounts` WHERE (user_id IS NULL OR user_id = ?) AND `gt_accounts`.`deleted_at` IS NULL
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
RELEASE SAVEPOINT sp1
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
