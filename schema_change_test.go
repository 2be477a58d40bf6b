package calibrated

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/calibrated/calibrated/internal/dbtest"
)

// TestSchemaChange: a table read on every backend, dropped and recreated
// with other columns through the driver, then read again with the same
// text on every backend, by several connections at once and through a
// prepared statement. A backend connection that kept the statement
// planned against the old table would fail with "cached plan must not
// change result type" (PostgreSQL, pgx) or error 1615 (MySQL).
func TestSchemaChange(t *testing.T) {
	t.Run("pgx", func(t *testing.T) {
		t.Parallel()
		schemaChange(t, newCluster(t, 3), "$1", "text")
	})
	t.Run("pq", func(t *testing.T) {
		t.Parallel()
		urls := dbtest.Postgres(t, 3)
		pq := make([]string, len(urls))
		for i, u := range urls {
			pq[i] = "pq:" + u
		}
		cl := openCluster(t, pq)
		cl.direct = dbtest.Open(t, urls)
		schemaChange(t, cl, "$1", "text")
	})
	t.Run("mysql", func(t *testing.T) {
		t.Parallel()
		schemaChange(t, mysqlCluster(t, 3), "?", "varchar(64)")
	})
}

// readers is how many reads run at once on each backend, so that as many
// pooled connections plan the statement.
const readers = 4

func schemaChange(t *testing.T, cl *cluster, ph, text string) {
	t.Helper()
	check := schemaReads(t, cl, ph)
	mustExec(t, cl.db, "CREATE TABLE sc (id int PRIMARY KEY, name "+text+")")
	mustExec(t, cl.db, "INSERT INTO sc (id, name) VALUES (1, 'one')")
	check("id=1,name=one")
	// The appliers' own connections: a write whose result has the
	// table's shape, prepared against the old table.
	touch := "UPDATE sc SET id = id WHERE id = " + ph
	if ph == "$1" {
		touch += " RETURNING *"
	}
	touched := func(want int) {
		t.Helper()
		for range readers {
			rows, err := cl.db.Query(touch, 1)
			if err != nil {
				t.Fatalf("%s: %v", touch, err)
			}
			cols, _ := rows.Columns()
			rows.Close()
			if ph == "$1" && len(cols) != want {
				t.Fatalf("%s: columns %q, want %d", touch, cols, want)
			}
		}
	}
	touched(2)

	mustExec(t, cl.db, "DROP TABLE sc")
	mustExec(t, cl.db, "CREATE TABLE sc (id int PRIMARY KEY, title "+text+", n int)")
	mustExec(t, cl.db, "INSERT INTO sc (id, title, n) VALUES (1, 'uno', 7)")
	touched(3)
	check("id=1,title=uno,n=7")

	// Twice more, each shape written before it is read.
	for i := range 2 {
		cols := fmt.Sprintf("id int PRIMARY KEY, c%d int", i)
		mustExec(t, cl.db, "DROP TABLE sc")
		mustExec(t, cl.db, "CREATE TABLE sc ("+cols+")")
		mustExec(t, cl.db, fmt.Sprintf("INSERT INTO sc (id, c%d) VALUES (1, %d)", i, i))
		check(fmt.Sprintf("id=1,c%d=%d", i, i))
	}
}

// TestSchemaChangeOutside: DDL the driver never saw, run on each backend
// directly, makes the statements its pgx connections prepared stale. The
// first read that meets one makes every connection of that backend forget
// its statements and is retried once.
func TestSchemaChangeOutside(t *testing.T) {
	cl := newCluster(t, 3)
	check := schemaReads(t, cl, "$1")
	mustExec(t, cl.db, "CREATE TABLE sc (id int PRIMARY KEY, name text)")
	mustExec(t, cl.db, "INSERT INTO sc (id, name) VALUES (1, 'one')")
	check("id=1,name=one")
	waitApplied(t, cl)
	for _, db := range cl.direct {
		mustExec(t, db, "ALTER TABLE sc ADD COLUMN n int NOT NULL DEFAULT 5")
	}
	check("id=1,name=one,n=5")
}

// schemaReads returns a check that reads table sc's row 1 on every backend,
// from several connections at once, as a query and through a prepared
// statement, and compares it with want.
func schemaReads(t *testing.T, cl *cluster, ph string) func(want string) {
	t.Helper()
	ctx := context.Background()
	names := []string{"a", "b", "c"}
	query := "SELECT * FROM sc WHERE id = " + ph
	prepared, err := cl.db.Prepare(query)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prepared.Close() })

	// read runs the query on backend name from readers connections at once
	// and returns each row as text.
	read := func(name string, run func(context.Context) (*sql.Rows, error)) []string {
		t.Helper()
		ctx := ReadFrom(ctx, name)
		var mu sync.Mutex
		var got []string
		var start, wg sync.WaitGroup
		start.Add(readers)
		for range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rows, err := run(ctx)
				start.Done()
				if err != nil {
					t.Errorf("backend %s: %s: %v", name, query, err)
					return
				}
				defer rows.Close()
				start.Wait() // every reader holds its connection now
				cols, _ := rows.Columns()
				for rows.Next() {
					vals := make([]sql.RawBytes, len(cols))
					ptrs := make([]any, len(vals))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rows.Scan(ptrs...); err != nil {
						t.Errorf("backend %s: scan: %v", name, err)
						return
					}
					parts := make([]string, len(vals))
					for i, v := range vals {
						parts[i] = cols[i] + "=" + string(v)
					}
					mu.Lock()
					got = append(got, strings.Join(parts, ","))
					mu.Unlock()
				}
				if err := rows.Err(); err != nil {
					t.Errorf("backend %s: %v", name, err)
				}
			}()
		}
		wg.Wait()
		slices.Sort(got)
		return slices.Compact(got)
	}
	ways := map[string]func(context.Context) (*sql.Rows, error){
		"query":    func(ctx context.Context) (*sql.Rows, error) { return cl.db.QueryContext(ctx, query, 1) },
		"prepared": func(ctx context.Context) (*sql.Rows, error) { return prepared.QueryContext(ctx, 1) },
	}
	return func(want string) {
		t.Helper()
		for _, name := range names {
			for way, run := range ways {
				if got := read(name, run); len(got) != 1 || got[0] != want {
					t.Errorf("backend %s, %s: got %q, want %q", name, way, got, want)
				}
			}
		}
	}
}
