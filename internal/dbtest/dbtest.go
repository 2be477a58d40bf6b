// Package dbtest gives integration tests their own databases on the real
// servers named by the environment (DESIGN §10).
package dbtest

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the maintenance connections
	_ "github.com/jackc/pgx/v5/stdlib"
)

// skip skips t for want of a server, or fails it when CI requires every
// integration test to run.
func skip(t testing.TB, env string) {
	t.Helper()
	if os.Getenv("CALIBRATED_TEST_REQUIRE") == "1" {
		t.Fatalf("%s not set, and CALIBRATED_TEST_REQUIRE=1", env)
	}
	t.Skipf("%s not set; set it to the server's URL to run this test", env)
}

// Postgres creates n empty databases on the server named by
// CALIBRATED_TEST_POSTGRES and returns their URLs. They are dropped when t
// ends.
func Postgres(t testing.TB, n int) []string {
	t.Helper()
	admin := os.Getenv("CALIBRATED_TEST_POSTGRES")
	if admin == "" {
		skip(t, "CALIBRATED_TEST_POSTGRES")
	}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("CALIBRATED_TEST_POSTGRES: %v", err)
	}
	db, err := sql.Open("pgx", admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() }) // after the drops below: cleanups run last first
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "calibrated_test_" + hex.EncodeToString(b[:])
	urls := make([]string, n)
	for i := range urls {
		name := fmt.Sprintf("%s_%c", prefix, 'a'+i)
		if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			db.Close()
			t.Fatalf("create test database: %v", err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				t.Errorf("drop test database %s: %v", name, err)
			}
		})
		v := *u
		v.Path = "/" + name
		urls[i] = v.String()
	}
	return urls
}

// DSN returns a calibrated DSN over urls, named a, b, c…, with opts appended.
func DSN(urls []string, opts ...string) string {
	parts := make([]string, 0, len(urls)+len(opts))
	for i, u := range urls {
		parts = append(parts, fmt.Sprintf("db.%c='%s'", 'a'+i, u))
	}
	return strings.Join(append(parts, opts...), " ")
}

// Open opens each URL directly with pgx, closed when t ends.
func Open(t testing.TB, urls []string) []*sql.DB {
	t.Helper()
	dbs := make([]*sql.DB, len(urls))
	for i, u := range urls {
		db, err := sql.Open("pgx", u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs
}

// Checksum returns an order-independent digest of a table's rows: the md5
// of every row's text form, ordered.
func Checksum(t testing.TB, db *sql.DB, table string) string {
	t.Helper()
	var sum sql.NullString
	q := fmt.Sprintf(`SELECT md5(string_agg(r::text, '|' ORDER BY r::text)) FROM %s r`, table)
	if err := db.QueryRow(q).Scan(&sum); err != nil {
		t.Fatalf("checksum %s: %v", table, err)
	}
	return sum.String
}

// Converged fails t unless table has the same checksum on every db, and
// returns that checksum.
func Converged(t testing.TB, dbs []*sql.DB, table string) string {
	t.Helper()
	first := Checksum(t, dbs[0], table)
	for i, db := range dbs[1:] {
		if got := Checksum(t, db, table); got != first {
			t.Errorf("table %s differs: backend %c has %s, backend a has %s", table, 'b'+i, got, first)
		}
	}
	return first
}

// MySQL creates n empty databases on the server named by
// CALIBRATED_TEST_MYSQL (a go-sql-driver DSN such as root@tcp(host:3306)/)
// and returns their go-sql-driver DSNs. They are dropped when t ends.
func MySQL(t testing.TB, n int) []string {
	t.Helper()
	admin := os.Getenv("CALIBRATED_TEST_MYSQL")
	if admin == "" {
		skip(t, "CALIBRATED_TEST_MYSQL")
	}
	base, _, _ := strings.Cut(admin, "/")
	db, err := sql.Open("mysql", admin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var b [4]byte
	_, _ = rand.Read(b[:])
	prefix := "calibrated_test_" + hex.EncodeToString(b[:])
	dsns := make([]string, n)
	for i := range dsns {
		name := fmt.Sprintf("%s_%c", prefix, 'a'+i)
		if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
			t.Fatalf("create test database: %v", err)
		}
		t.Cleanup(func() {
			if _, err := db.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
				t.Errorf("drop test database %s: %v", name, err)
			}
		})
		dsns[i] = base + "/" + name
	}
	return dsns
}

// RowsDigest returns a digest of every row of table, read in orderBy
// order and formatted by Go, for databases without PostgreSQL's row text.
func RowsDigest(t testing.TB, db *sql.DB, table, orderBy string) string {
	t.Helper()
	rows, err := db.Query(`SELECT * FROM ` + table + ` ORDER BY ` + orderBy)
	if err != nil {
		t.Fatalf("digest %s: %v", table, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	h := md5.New()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			fmt.Fprintf(h, "%v|", v)
		}
		h.Write([]byte("\n"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// NATS returns the URL of the NATS server named by CALIBRATED_TEST_NATS
// (nats://host:4222), with JetStream enabled. Tests make their own streams
// on it, under unique names, and delete them when they end.
func NATS(t testing.TB) string {
	t.Helper()
	u := os.Getenv("CALIBRATED_TEST_NATS")
	if u == "" {
		skip(t, "CALIBRATED_TEST_NATS")
	}
	return strings.TrimSuffix(u, "/")
}

// PostgresServer returns the maintenance URL of the PostgreSQL server
// named by CALIBRATED_TEST_POSTGRES, for a test that makes its databases
// itself (the bench and the demo do).
func PostgresServer(t testing.TB) string {
	t.Helper()
	u := os.Getenv("CALIBRATED_TEST_POSTGRES")
	if u == "" {
		skip(t, "CALIBRATED_TEST_POSTGRES")
	}
	return u
}

// Redis returns the URL of the Redis server named by CALIBRATED_TEST_REDIS
// (redis://host:6379). Tests use their own keys on it, under unique names,
// and delete them when they end.
func Redis(t testing.TB) string {
	t.Helper()
	u := os.Getenv("CALIBRATED_TEST_REDIS")
	if u == "" {
		skip(t, "CALIBRATED_TEST_REDIS")
	}
	return strings.TrimSuffix(u, "/")
}

// Name returns a name unique to this run, for a test's stream or key:
// prefix followed by random hex.
func Name(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}
