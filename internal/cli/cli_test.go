package cli

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/calibrated/calibrated/internal/dbtest"
)

// TestDemo runs the README's first command in a short mode, on the
// embedded default: three SQLite files, one cut off midway.
func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"demo", "-duration", "4s", "-cut", "1500ms", "-clients", "4"}, &out, &errb)
	if code != ExitOK {
		t.Fatalf("demo exited %d\n%s\n%s", code, out.String(), errb.String())
	}
	for _, want := range []string{"c cut off", "c back", "caught up", "PASSED"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("no %q in the demo's output:\n%s", want, out.String())
		}
	}
}

// TestDemoPostgres runs the demo on PostgreSQL.
func TestDemoPostgres(t *testing.T) {
	url := dbtest.PostgresServer(t)
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"demo", "-postgres", url, "-duration", "3s", "-cut", "1s", "-clients", "4"}, &out, &errb)
	if code != ExitOK || !strings.Contains(out.String(), "PASSED") {
		t.Fatalf("demo exited %d\n%s\n%s", code, out.String(), errb.String())
	}
}

// TestDemoMySQL runs the demo on MySQL/MariaDB.
func TestDemoMySQL(t *testing.T) {
	dsn := os.Getenv("CALIBRATED_TEST_MYSQL")
	if dsn == "" {
		if os.Getenv("CALIBRATED_TEST_REQUIRE") == "1" {
			t.Fatal("CALIBRATED_TEST_MYSQL not set, and CALIBRATED_TEST_REQUIRE=1")
		}
		t.Skip("CALIBRATED_TEST_MYSQL not set")
	}
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"demo", "-mysql", dsn, "-duration", "3s", "-cut", "1s", "-clients", "4"}, &out, &errb)
	if code != ExitOK || !strings.Contains(out.String(), "PASSED") {
		t.Fatalf("demo exited %d\n%s\n%s", code, out.String(), errb.String())
	}
}

// TestDemoCatchesDivergence: a row written behind the driver's back on one
// database makes the demo fail, so its checks can fail.
func TestDemoCatchesDivergence(t *testing.T) {
	var out bytes.Buffer
	cfg := demoConfig{clients: 2, accounts: 10, duration: 2 * time.Second, sabotage: func(direct []*sql.DB) {
		if _, err := direct[2].Exec(`UPDATE accounts SET balance = balance + 1 WHERE id = 1`); err != nil {
			t.Error(err)
		}
	}}
	code, err := runDemo(context.Background(), cfg, &out)
	if code != ExitFailed || !strings.Contains(out.String(), "FAILED") {
		t.Fatalf("sabotaged demo exited %d, %v\n%s", code, err, out.String())
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(context.Background(), nil, &out, &errb); code != ExitUsage {
		t.Errorf("no args: exit %d", code)
	}
	if code := Main(context.Background(), []string{"nope"}, &out, &errb); code != ExitUsage || !strings.Contains(errb.String(), `unknown command "nope"`) {
		t.Errorf("unknown command: exit %d, %q", code, errb.String())
	}
	if code := Main(context.Background(), []string{"demo", "-clients", "0"}, &out, &errb); code != ExitUsage {
		t.Errorf("bad flag value: exit %d", code)
	}
	if code := Main(context.Background(), []string{"demo", "-h"}, &out, &errb); code != ExitOK {
		t.Errorf("demo -h: exit %d", code)
	}
}
