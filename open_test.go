package calibrated

import (
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/lib/pq"
)

// TestLibPQ runs one backend through lib/pq: errors stay *pq.Error when
// that backend is the anchor, and the data converge.
func TestLibPQ(t *testing.T) {
	urls := dbtest.Postgres(t, 2)
	cl := openCluster(t, []string{"pq:" + urls[0], urls[1]})
	cl.direct = dbtest.Open(t, urls)
	mustExec(t, cl.db, `CREATE TABLE t (id int PRIMARY KEY, v text)`)
	mustExec(t, cl.db, `INSERT INTO t VALUES ($1, $2)`, 1, "x")
	_, err := cl.db.Exec(`INSERT INTO t VALUES ($1, $2)`, 1, "y")
	var pqErr *pq.Error
	if !errors.As(err, &pqErr) || pqErr.Code != "23505" {
		t.Fatalf("duplicate through lib/pq: %v, want *pq.Error 23505", err)
	}
	dbtest.Converged(t, cl.direct, "t")
}

func TestBackendErrorsUnwrap(t *testing.T) {
	cl := newCluster(t, 2)
	mustExec(t, cl.db, `CREATE TABLE t (id int PRIMARY KEY)`)
	mustExec(t, cl.db, `INSERT INTO t VALUES (1)`)
	_, err := cl.db.Exec(`INSERT INTO t VALUES (1)`)
	var pgErr *pgconn.PgError
	var be *BackendError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" || !errors.As(err, &be) || be.Backend != "a" {
		t.Fatalf("duplicate: %v, want *pgconn.PgError 23505 from backend a", err)
	}
	if _, err := cl.db.Query(`SELECT nope FROM t`); !errors.As(err, &pgErr) || pgErr.Code != "42703" {
		t.Fatalf("bad column: %v, want *pgconn.PgError 42703", err)
	}
}

// TestUnreachableBackend: the error names the backend and hides its password.
func TestUnreachableBackend(t *testing.T) {
	urls := dbtest.Postgres(t, 1)
	db, err := sql.Open("calibrated", dbtest.DSN([]string{urls[0], "postgres://app:s3cret@127.0.0.1:1/x?sslmode=disable&connect_timeout=2"}))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Ping()
	var be *BackendError
	if !errors.As(err, &be) || be.Backend != "b" {
		t.Fatalf("Ping: %v, want a *BackendError for backend b", err)
	}
	if !strings.Contains(err.Error(), `"b"`) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("error %q should name backend b and hide the password", err)
	}
}

func TestOpenRejectsBadDSN(t *testing.T) {
	for _, dsn := range []string{
		"",
		"db.a=postgres://h/x bogus=1",
		"db.a=postgres://h/x db.a=postgres://h/y",
		"db.a=postgres://h/x db.b=mysql://root@tcp(h)/y",
		"db.a=postgres://h/x ledger=kafka://h:4222/L",
		"db.a=oracle://h/y",
	} {
		db, err := sql.Open("calibrated", dsn)
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%q: %v, want *ConfigError", dsn, err)
		}
	}
}
