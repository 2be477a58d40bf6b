package main

import "testing"

func TestOrderConstraints(t *testing.T) {
	const want = "CREATE TABLE `user_languages` (`user_id` bigint unsigned,`language_id` bigint unsigned,PRIMARY KEY (`user_id`,`language_id`),CONSTRAINT `fk_user_languages_user` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`),CONSTRAINT `fk_user_languages_language` FOREIGN KEY (`language_id`) REFERENCES `languages`(`id`))"
	for _, q := range []string{
		want,
		"CREATE TABLE `user_languages` (`user_id` bigint unsigned,`language_id` bigint unsigned,PRIMARY KEY (`user_id`,`language_id`),CONSTRAINT `fk_user_languages_language` FOREIGN KEY (`language_id`) REFERENCES `languages`(`id`),CONSTRAINT `fk_user_languages_user` FOREIGN KEY (`user_id`) REFERENCES `users`(`id`))",
	} {
		if got := orderConstraints(q); got != want {
			t.Errorf("orderConstraints(%s)\n = %s\nwant %s", q, got, want)
		}
	}
	const one = `CREATE TABLE "orders" ("id" bigserial,"user_id" bigint NOT NULL,PRIMARY KEY ("id"),CONSTRAINT "fk_users_orders" FOREIGN KEY ("user_id") REFERENCES "users"("id"))`
	if got := orderConstraints(one); got != one {
		t.Errorf("orderConstraints(%s) = %s", one, got)
	}
}

func TestRecorder(t *testing.T) {
	r := newRecorder([]string{"sp1111111"})
	for _, q := range []string{"SELECT 1", "SAVEPOINT sp18446744073709551615", "SELECT\n\t  1", "ROLLBACK TO SAVEPOINT sp18446744073709551615", "SAVEPOINT sp1", "SAVEPOINT sp22222222"} {
		r.add(q)
	}
	want := []string{"SELECT 1", "SAVEPOINT sp1111111", "ROLLBACK TO SAVEPOINT sp1111111", "SAVEPOINT sp1", "SAVEPOINT sp22222222"}
	if len(r.lines) != len(want) {
		t.Fatalf("lines %q, want %q", r.lines, want)
	}
	for i := range want {
		if r.lines[i] != want[i] {
			t.Errorf("line %d: %q, want %q", i, r.lines[i], want[i])
		}
	}
}
