package calibrated

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/calibrated/calibrated/internal/dbtest"
)

// liteFKCluster opens calibrated over three SQLite files whose URLs end in
// params, each file directly, and the connector (for StatusOf).
func liteFKCluster(t *testing.T, params string) (*sql.DB, []*sql.DB, driver.Connector) {
	t.Helper()
	dir := t.TempDir()
	var urls []string
	var direct []*sql.DB
	for _, n := range []string{"a", "b", "c"} {
		p := filepath.Join(dir, n+".db")
		urls = append(urls, "sqlite:"+p+params)
		d, err := sql.Open("sqlite", "file:"+p+"?_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		direct = append(direct, d)
	}
	db, c := openDSN(t, dbtest.DSN(urls))
	return db, direct, c
}

// allActive fails t unless every backend is active: none diverged because
// it applied an entry with other foreign key checks than the anchor.
func allActive(t *testing.T, c driver.Connector) {
	t.Helper()
	st, err := StatusOf(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range st.Backends {
		if b.State != "active" {
			t.Errorf("backend %s is %s", b.Name, b.State)
		}
	}
}

func countOn(t *testing.T, direct []*sql.DB, q string) []int {
	t.Helper()
	out := make([]int, len(direct))
	for i, d := range direct {
		if err := d.QueryRow(q).Scan(&out[i]); err != nil {
			t.Fatalf("backend %c: %s: %v", 'a'+i, q, err)
		}
	}
	return out
}

func fkValue(t *testing.T, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) int {
	t.Helper()
	var on int
	if err := q.QueryRowContext(context.Background(), "PRAGMA foreign_keys").Scan(&on); err != nil {
		t.Fatal(err)
	}
	return on
}

const liteFKSchema = "CREATE TABLE parents (id INTEGER PRIMARY KEY, name text);" +
	"CREATE TABLE children (id INTEGER PRIMARY KEY, parent_id integer REFERENCES parents (id) ON DELETE CASCADE)"

func liteFKTables(t *testing.T, db *sql.DB) {
	t.Helper()
	for _, q := range strings.Split(liteFKSchema, ";") {
		mustExec(t, db, q)
	}
}

// TestSQLiteForeignKeysPragma: with backends whose URLs leave foreign keys
// off, a conn that sends PRAGMA foreign_keys = ON has its writes applied
// with enforcement on every backend (an orphan refused everywhere alike, a
// cascade everywhere), keeps the setting when database/sql reuses it, and
// reports it; other conns' writes are not checked, as in SQLite.
func TestSQLiteForeignKeysPragma(t *testing.T) {
	db, direct, c := liteFKCluster(t, "")
	liteFKTables(t, db)
	ctx := context.Background()
	on, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer on.Close()
	if _, err := on.ExecContext(ctx, "PRAGMA foreign_keys = ON"); err != nil {
		t.Fatal(err)
	}
	if v := fkValue(t, on); v != 1 {
		t.Errorf("PRAGMA foreign_keys on the conn that set it: %d, want 1", v)
	}
	if _, err := on.ExecContext(ctx, "INSERT INTO children (id, parent_id) VALUES (1, 42)"); err == nil {
		t.Error("an orphan was accepted with foreign_keys = ON")
	}
	mustExec(t, db, "INSERT INTO children (id, parent_id) VALUES (2, 43)") // another conn: unchecked, as in SQLite
	if _, err := on.ExecContext(ctx, "INSERT INTO parents (id, name) VALUES (1, 'p')"); err != nil {
		t.Fatal(err)
	}
	tx, err := on.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO children (id, parent_id) VALUES (3, 1)"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO children (id, parent_id) VALUES (4, 44)"); err == nil {
		t.Error("an orphan was accepted in a transaction with foreign_keys = ON")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := on.ExecContext(ctx, "DELETE FROM parents WHERE id = 1"); err != nil { // cascades to child 3
		t.Fatal(err)
	}
	liteConverged(t, db, direct, "parents", "children")
	for i, n := range countOn(t, direct, "SELECT count(*) FROM children") {
		if n != 1 {
			t.Errorf("backend %c holds %d children, want 1 (the unchecked orphan 2; 1 refused, 3 cascaded)", 'a'+i, n)
		}
	}
	if v := fkValue(t, db); v != 0 {
		t.Errorf("PRAGMA foreign_keys through the pool: %d; the URLs leave it off", v)
	}
	allActive(t, c)
}

// TestSQLiteForeignKeysRebuild: backends whose URLs turn foreign keys on;
// GORM's SQLite migrator rebuilds a referenced table with PRAGMA
// foreign_keys = OFF … ON around a transaction (CREATE t__temp, INSERT …
// SELECT, DROP t, RENAME). The anchor runs it, and every backend applies
// it, with enforcement off: DROP TABLE deletes no child by cascade. A write
// sent while off is applied unchecked everywhere; afterwards enforcement is
// back on everywhere, the connections switched for the rebuild included.
func TestSQLiteForeignKeysRebuild(t *testing.T) {
	db, direct, c := liteFKCluster(t, "?_pragma=foreign_keys(1)")
	liteFKTables(t, db)
	mustExec(t, db, "INSERT INTO parents (id, name) VALUES (1, 'p'), (2, 'q')")
	mustExec(t, db, "INSERT INTO children (id, parent_id) VALUES (10, 1), (11, 2)")
	if v := fkValue(t, db); v != 1 {
		t.Fatalf("PRAGMA foreign_keys: %d, want the URLs' 1", v)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		t.Fatal(err)
	}
	if v := fkValue(t, conn); v != 0 {
		t.Errorf("PRAGMA foreign_keys after OFF: %d", v)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"CREATE TABLE `parents__temp` (id INTEGER PRIMARY KEY, name text, extra text)",
		"INSERT INTO `parents__temp`(`id`,`name`) SELECT `id`,`name` FROM `parents`",
		"DROP TABLE `parents`",
		"ALTER TABLE `parents__temp` RENAME TO `parents`",
	} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "INSERT INTO children (id, parent_id) VALUES (12, 99)"); err != nil {
		t.Errorf("an orphan with foreign_keys = OFF: %v", err)
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = ON"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	liteConverged(t, db, direct, "parents", "children")
	for i, n := range countOn(t, direct, "SELECT count(*) FROM children WHERE id IN (10, 11, 12)") {
		if n != 3 {
			t.Errorf("backend %c holds %d of children 10, 11, 12: the rebuild or the unchecked write ran with foreign keys on", 'a'+i, n)
		}
	}
	// Every connection of every backend has enforcement back on: orphans
	// from many conns at once are refused everywhere alike.
	errs := make(chan error, 8)
	for i := range 8 {
		go func() {
			_, err := db.Exec("INSERT INTO children (id, parent_id) VALUES (?, 98)", 100+i)
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err == nil {
			t.Error("an orphan was accepted after PRAGMA foreign_keys = ON")
		}
	}
	liteConverged(t, db, direct, "children")
	for i, n := range countOn(t, direct, "SELECT count(*) FROM children WHERE id >= 100") {
		if n != 0 {
			t.Errorf("backend %c holds %d orphans", 'a'+i, n)
		}
	}
	allActive(t, c)
}

// TestSQLiteForeignKeysDisagree: backends whose URLs disagree on foreign
// keys would apply the same entry differently; calibrated refuses them.
func TestSQLiteForeignKeysDisagree(t *testing.T) {
	dir := t.TempDir()
	dsn := dbtest.DSN([]string{
		"sqlite:" + filepath.Join(dir, "a.db") + "?_pragma=foreign_keys(1)",
		"sqlite:" + filepath.Join(dir, "b.db"),
	})
	db, err := sql.Open("calibrated", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Ping()
	if err == nil || !strings.Contains(err.Error(), "foreign_keys") {
		t.Fatalf("backends disagreeing on foreign_keys: %v, want a refusal naming it", err)
	}
}

// TestSQLiteErrorJSON: a SQLite constraint error through calibrated has the
// JSON form of mattn/go-sqlite3's sqlite3.Error, from which GORM's SQLite
// dialector (gorm.io/driver/sqlite) translates errors: it unmarshals the
// error's JSON into {Code, ExtendedCode, SystemErrno int} and maps
// ExtendedCode 2067/1555 to ErrDuplicatedKey and 787 to
// ErrForeignKeyViolated. Done here as that dialector does it.
func TestSQLiteErrorJSON(t *testing.T) {
	db, _, _ := liteFKCluster(t, "?_pragma=foreign_keys(1)")
	liteFKTables(t, db)
	mustExec(t, db, "CREATE TABLE users (id INTEGER PRIMARY KEY, email text UNIQUE)")
	mustExec(t, db, "INSERT INTO users (id, email) VALUES (1, 'a@x')")
	for _, c := range []struct {
		q    string
		code int
	}{
		{"INSERT INTO users (id, email) VALUES (2, 'a@x')", 2067},    // SQLITE_CONSTRAINT_UNIQUE
		{"INSERT INTO users (id, email) VALUES (1, 'b@x')", 1555},    // SQLITE_CONSTRAINT_PRIMARYKEY
		{"INSERT INTO children (id, parent_id) VALUES (1, 42)", 787}, // SQLITE_CONSTRAINT_FOREIGNKEY
	} {
		_, err := db.Exec(c.q)
		if err == nil {
			t.Fatalf("%s: no error", c.q)
		}
		b, merr := json.Marshal(err)
		var got struct {
			Code         int `json:"Code"`
			ExtendedCode int `json:"ExtendedCode"`
			SystemErrno  int `json:"SystemErrno"`
		}
		if merr != nil {
			t.Fatalf("%s: %v", c.q, merr)
		}
		if uerr := json.Unmarshal(b, &got); uerr != nil || got.ExtendedCode != c.code || got.Code != 19 {
			t.Errorf("%s: JSON %s (%v); want Code 19, ExtendedCode %d", c.q, b, uerr, c.code)
		}
	}
}
