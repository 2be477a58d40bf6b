package cli

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/calibrated/calibrated/internal/dbtest"
)

// TestBench runs a short bench against real PostgreSQL and checks that
// every row measured something, that ratios are against direct's row of
// the same workload, and that pgpool without its binary says so.
func TestBench(t *testing.T) {
	rows, errs := benchJSON(t, "-duration", "400ms", "-clients", "2",
		"-workloads", "point,tpcb,hot-10", "-targets", "direct,calibrated-2,dual-2,pgpool-2")
	if len(rows) != 12 {
		t.Fatalf("%d rows, want 12:\n%+v", len(rows), rows)
	}
	direct := map[string]float64{}
	for _, r := range rows {
		if r.Target == "pgpool-2" {
			if r.Ops != 0 || !strings.Contains(r.Note, "pgpool absent") {
				t.Errorf("pgpool row without -pgpool: %+v", r)
			}
			continue
		}
		if r.Ops == 0 || r.TPS <= 0 || r.P99ms < r.P50ms || r.Note != "" {
			t.Errorf("row did not measure: %+v", r)
		}
		if r.Target == "direct" {
			direct[r.Workload] = r.TPS
			if r.Ratio != 1 {
				t.Errorf("direct's ratio is %v, want 1", r.Ratio)
			}
		} else if d := direct[r.Workload]; d == 0 || r.Ratio != r.TPS/d {
			t.Errorf("%s %s: ratio %v, want %v/%v", r.Workload, r.Target, r.Ratio, r.TPS, d)
		}
	}
	if !strings.Contains(errs, "tpcb") {
		t.Errorf("no progress on stderr: %q", errs)
	}
}

// TestBenchRounds: with -rounds the targets take turns, and each row adds
// up its turns.
func TestBenchRounds(t *testing.T) {
	rows, errs := benchJSON(t, "-duration", "600ms", "-rounds", "3", "-clients", "2",
		"-workloads", "tpcb", "-targets", "direct,calibrated-2")
	if len(rows) != 2 || rows[0].Target != "direct" || rows[1].Target != "calibrated-2" {
		t.Fatalf("rows %+v; want direct, calibrated-2", rows)
	}
	for _, r := range rows {
		if r.Ops == 0 || r.Note != "" || r.Ratio <= 0 {
			t.Errorf("row did not measure: %+v", r)
		}
	}
	// The turns alternate: direct's last round ends before calibrated's.
	var order []string
	for _, line := range strings.Split(strings.ReplaceAll(errs, "\r", "\n"), "\n") {
		if strings.Contains(line, "done (round") {
			order = append(order, strings.Join(strings.Fields(line)[1:2], "")+" "+line[strings.Index(line, "round"):strings.Index(line, ")")])
		}
	}
	want := []string{"direct round 1/3", "calibrated-2 round 1/3", "direct round 2/3", "calibrated-2 round 2/3", "direct round 3/3", "calibrated-2 round 3/3"}
	if !slices.Equal(order, want) {
		t.Errorf("turns %q; want %q", order, want)
	}
}

// benchJSON runs bench -json with args on the test server and returns
// its rows and what it printed on stderr.
func benchJSON(t *testing.T, args ...string) ([]benchRow, string) {
	t.Helper()
	args = append([]string{"bench", "-postgres", dbtest.PostgresServer(t), "-json"}, args...)
	code, out, errs := runCLI(t, args...)
	if code != ExitOK {
		t.Fatalf("bench exited %d\n%s\n%s", code, out, errs)
	}
	var rows []benchRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("bench -json: %v\n%s", err, out)
	}
	return rows, errs
}

func TestBenchFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench"},
		{"bench", "-postgres", "postgres://x/y", "-workloads", "nope"},
		{"bench", "-postgres", "postgres://x/y", "-targets", "calibrated-9"},
		{"bench", "-postgres", "postgres://x/y", "-clients", "0"},
		{"bench", "-postgres", "postgres://x/y", "-rounds", "0"},
	} {
		if code, _, errs := runCLI(t, args...); code != ExitUsage || !strings.Contains(errs, "calibrated bench") {
			t.Errorf("%v: exit %d, %q; want %d and a message", args, code, errs, ExitUsage)
		}
	}
}
