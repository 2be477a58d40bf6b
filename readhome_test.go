package calibrated

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
	"github.com/calibrated/calibrated/ledger"
)

// servedBy returns the database that served a read on conn: with every
// backend a database of its own, that names the backend.
func servedBy(t *testing.T, conn *sql.Conn) string {
	t.Helper()
	var name string
	if err := conn.QueryRowContext(context.Background(), `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestReadHome: under read=nearest each session keeps to one backend, the
// sessions spread evenly over the backends, and a session whose backend
// stops serving moves to another for good.
func TestReadHome(t *testing.T) {
	cl := openCluster(t, dbtest.Postgres(t, 3))
	ctx := context.Background()
	conns := make([]*sql.Conn, 6)
	homes := map[string]int{}
	for i := range conns {
		c, err := cl.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	home := make([]string, len(conns))
	for i, c := range conns {
		home[i] = servedBy(t, c)
		homes[home[i]]++
	}
	if len(homes) != 3 || homes[home[0]] != 2 || homes[home[1]] != 2 || homes[home[2]] != 2 {
		t.Fatalf("6 sessions over 3 backends read from %v; want 2 each", homes)
	}
	for range 5 {
		for i, c := range conns {
			if got := servedBy(t, c); got != home[i] {
				t.Fatalf("session %d read from %s, then from %s", i, home[i], got)
			}
		}
	}

	// Backend a stops serving: its sessions read elsewhere, and stay
	// there once it serves again.
	e := cl.engine(t)
	dbA := servedByName(t, cl, "a")
	e.StopApplier("a")
	e.SetState(ctx, "a", ledger.Down)
	if err := e.Calibrator().Sync(ctx); err != nil {
		t.Fatal(err)
	}
	moved := map[int]string{}
	for i, c := range conns {
		got := servedBy(t, c)
		if got == dbA {
			t.Fatalf("session %d read from backend a while it was down", i)
		}
		if home[i] == dbA {
			moved[i] = got
		} else if got != home[i] {
			t.Fatalf("session %d left its home %s for %s when another backend went down", i, home[i], got)
		}
	}
	if len(moved) != 2 {
		t.Fatalf("%d sessions had backend a as home; want 2", len(moved))
	}
	e.SetState(ctx, "a", ledger.CatchingUp)
	e.StartApplier("a")
	for e.Calibrator().State("a") != ledger.Active {
		time.Sleep(5 * time.Millisecond)
	}
	for i, at := range moved {
		if got := servedBy(t, conns[i]); got != at {
			t.Fatalf("session %d moved to %s, then read from %s", i, at, got)
		}
	}
	// A new session goes where fewest sessions read: backend a.
	c, err := cl.db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := servedBy(t, c); got != dbA {
		t.Errorf("a new session read from %s; want backend a (%s), which no session calls home", got, dbA)
	}
}

// servedByName returns the name of backend name's database.
func servedByName(t *testing.T, cl *cluster, name string) string {
	t.Helper()
	var db string
	ctx := ReadFrom(context.Background(), name)
	if err := cl.db.QueryRowContext(ctx, `SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	return db
}
