package calibrated

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

func newTestMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	return m, reg
}

// histogram gathers reg and returns the histogram name whose labels include
// every pair in labels, or fails.
func histogram(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) *dto.Histogram {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, mt := range mf.GetMetric() {
			if hasLabels(mt, labels) {
				return mt.GetHistogram()
			}
		}
	}
	t.Fatalf("no histogram %s%v", name, labels)
	return nil
}

func hasLabels(mt *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, lp := range mt.GetLabel() {
		if v, ok := labels[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}

// bucketCount returns the cumulative count of h's bucket with upper bound le.
func bucketCount(t *testing.T, h *dto.Histogram, le float64) uint64 {
	t.Helper()
	for _, b := range h.GetBucket() {
		if b.GetUpperBound() == le {
			return b.GetCumulativeCount()
		}
	}
	t.Fatalf("no bucket le=%v", le)
	return 0
}

func TestMetricsWorkload(t *testing.T) {
	m, reg := newTestMetrics(t)

	// A known workload: three writes and a transaction (lock + commit) are
	// admitted; one write is rejected, one deadlocks, two time out.
	for range 3 {
		m.Admitted("write")
	}
	m.Admitted("lock")
	m.Admitted("commit")
	m.Conflict("reject")
	m.Conflict("deadlock")
	m.Conflict("lock_timeout")
	m.Conflict("lock_timeout")
	m.LockWait(200 * time.Microsecond)
	m.LockWait(2 * time.Second)
	m.ReadWait("pg", 3*time.Millisecond)
	m.ReadWait("pg", 40*time.Millisecond)
	m.ReadWait("my", time.Minute) // beyond the last bucket: +Inf only
	m.AppendLatency(20 * time.Microsecond)
	m.AppendLatency(time.Millisecond)
	m.AppendLatency(time.Millisecond)
	m.Applied("pg", 4)
	m.Applied("pg", 1)
	m.Applied("my", 2)
	m.Applied("my", 0) // no-op, and no panic on a counter
	m.SetLag("pg", 7)
	m.SetLag("pg", 0)
	m.SetLag("my", 3)

	counters := []struct {
		c    prometheus.Collector
		name string
		want float64
	}{
		{m.admissions.WithLabelValues("write"), "admissions write", 3},
		{m.admissions.WithLabelValues("lock"), "admissions lock", 1},
		{m.admissions.WithLabelValues("commit"), "admissions commit", 1},
		{m.conflicts.WithLabelValues("reject"), "conflicts reject", 1},
		{m.conflicts.WithLabelValues("deadlock"), "conflicts deadlock", 1},
		{m.conflicts.WithLabelValues("lock_timeout"), "conflicts lock_timeout", 2},
		{m.applied.WithLabelValues("pg"), "applied pg", 5},
		{m.applied.WithLabelValues("my"), "applied my", 2},
		{m.lag.WithLabelValues("pg"), "lag pg", 0},
		{m.lag.WithLabelValues("my"), "lag my", 3},
	}
	for _, c := range counters {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	for _, c := range []struct {
		c    prometheus.Collector
		name string
		want int
	}{
		{m.admissions, "admissions", 3},
		{m.conflicts, "conflicts", 3},
		{m.readWait, "read waits", 2},
		{m.applied, "applied", 2},
		{m.lag, "lag", 2},
	} {
		if got := testutil.CollectAndCount(c.c); got != c.want {
			t.Errorf("%s: %d series, want %d", c.name, got, c.want)
		}
	}

	lw := histogram(t, reg, "calibrated_lock_wait_seconds", nil)
	if lw.GetSampleCount() != 2 || bucketCount(t, lw, 0.00025) != 1 || bucketCount(t, lw, 2.5) != 2 {
		t.Errorf("lock wait histogram = %v", lw)
	}
	if got, want := lw.GetSampleSum(), 2.0002; got < want-1e-9 || got > want+1e-9 {
		t.Errorf("lock wait sum = %v, want %v", got, want)
	}
	pg := histogram(t, reg, "calibrated_read_wait_seconds", map[string]string{"backend": "pg"})
	if pg.GetSampleCount() != 2 || bucketCount(t, pg, 0.005) != 1 || bucketCount(t, pg, 0.05) != 2 {
		t.Errorf("read wait pg histogram = %v", pg)
	}
	my := histogram(t, reg, "calibrated_read_wait_seconds", map[string]string{"backend": "my"})
	if my.GetSampleCount() != 1 || bucketCount(t, my, 30) != 0 {
		t.Errorf("read wait my histogram = %v", my)
	}
	al := histogram(t, reg, "calibrated_ledger_append_seconds", nil)
	if al.GetSampleCount() != 3 || bucketCount(t, al, 0.00001) != 0 || bucketCount(t, al, 0.000025) != 1 || bucketCount(t, al, 0.001) != 3 {
		t.Errorf("append histogram = %v", al)
	}
}

func TestMetricsBuckets(t *testing.T) {
	for _, b := range []struct {
		name      string
		buckets   []float64
		low, high float64
	}{
		{"wait", waitBuckets, 0.0001, 30},
		{"append", appendBuckets, 0.00001, 1},
	} {
		if b.buckets[0] != b.low || b.buckets[len(b.buckets)-1] != b.high {
			t.Errorf("%s buckets span %v..%v, want %v..%v", b.name, b.buckets[0], b.buckets[len(b.buckets)-1], b.low, b.high)
		}
		for i := 1; i < len(b.buckets); i++ {
			if b.buckets[i] <= b.buckets[i-1] {
				t.Errorf("%s buckets not increasing at %d: %v", b.name, i, b.buckets)
			}
		}
	}
}

// stateSeries returns backend's calibrated_backend_state series, state -> value.
func stateSeries(t *testing.T, reg *prometheus.Registry, backend string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "calibrated_backend_state" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			var b, s string
			for _, lp := range mt.GetLabel() {
				switch lp.GetName() {
				case "backend":
					b = lp.GetValue()
				case "state":
					s = lp.GetValue()
				}
			}
			if b == backend {
				got[s] = mt.GetGauge().GetValue()
			}
		}
	}
	return got
}

func checkOneState(t *testing.T, reg *prometheus.Registry, backend, want string) {
	t.Helper()
	got := stateSeries(t, reg, backend)
	ones := 0
	for s, v := range got {
		switch {
		case v == 1:
			ones++
			if s != want {
				t.Errorf("%s: state %q = 1, want only %q", backend, s, want)
			}
		case v != 0:
			t.Errorf("%s: state %q = %v, want 0 or 1", backend, s, v)
		}
	}
	if ones != 1 {
		t.Errorf("%s: %d states at 1, want exactly 1 (%v)", backend, ones, got)
	}
	for _, s := range []string{"active", "down", "catching-up", "diverged", "stale", "resyncing"} {
		if _, ok := got[s]; !ok {
			t.Errorf("%s: no series for state %q (%v)", backend, s, got)
		}
	}
}

func TestMetricsSetState(t *testing.T) {
	m, reg := newTestMetrics(t)
	for _, s := range []string{"active", "down", "catching-up", "active", "diverged", "resyncing", "stale", "active"} {
		m.SetState("pg", s)
		checkOneState(t, reg, "pg", s)
	}
	m.SetState("my", "down")
	checkOneState(t, reg, "my", "down")
	checkOneState(t, reg, "pg", "active") // untouched by another backend
	if got := testutil.ToFloat64(m.state.WithLabelValues("my", "down")); got != 1 {
		t.Errorf("my down = %v, want 1", got)
	}
	if got, want := testutil.CollectAndCount(m.state, "calibrated_backend_state"), 12; got != want {
		t.Errorf("%d state series, want %d", got, want)
	}

	// An unknown state still leaves exactly one series at 1, and goes away
	// on the next change.
	m.SetState("pg", "bogus")
	checkOneState(t, reg, "pg", "bogus")
	m.SetState("pg", "bogus")
	checkOneState(t, reg, "pg", "bogus")
	m.SetState("pg", "weird")
	checkOneState(t, reg, "pg", "weird")
	if _, ok := stateSeries(t, reg, "pg")["bogus"]; ok {
		t.Error("the previous unknown state's series was kept")
	}
	m.SetState("pg", "stale")
	checkOneState(t, reg, "pg", "stale")
	if got := len(stateSeries(t, reg, "pg")); got != 6 {
		t.Errorf("pg has %d state series, want 6", got)
	}
}

func TestMetricsNil(t *testing.T) {
	var m *Metrics
	m.Admitted("write")
	m.Conflict("reject")
	m.LockWait(time.Second)
	m.ReadWait("pg", time.Second)
	m.AppendLatency(time.Second)
	m.Applied("pg", 3)
	m.SetLag("pg", 3)
	m.SetState("pg", "active")

	c := NewConfig()
	if err := WithMetrics(nil)(c); err != nil || c.Metrics != nil {
		t.Errorf("WithMetrics(nil) = %v, Metrics %v", err, c.Metrics)
	}
}

func TestWithMetrics(t *testing.T) {
	m, _ := newTestMetrics(t)
	c := NewConfig()
	if err := WithMetrics(m)(c); err != nil {
		t.Fatal(err)
	}
	if c.Metrics != m {
		t.Errorf("Config.Metrics = %p, want %p", c.Metrics, m)
	}
}

func TestNewMetricsRegistration(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewMetrics(reg); err != nil {
		t.Fatalf("first NewMetrics: %v", err)
	}
	m, err := NewMetrics(reg)
	if err == nil {
		t.Fatal("second NewMetrics on one registry: no error")
	}
	if m != nil {
		t.Errorf("second NewMetrics returned %v with its error", m)
	}
	if !strings.HasPrefix(err.Error(), "calibrated: ") {
		t.Errorf("error %q lacks the calibrated: prefix", err)
	}
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("error %v does not wrap prometheus.AlreadyRegisteredError", err)
	}

	if _, err := NewMetrics(nil); err == nil {
		t.Error("NewMetrics(nil): no error")
	}

	// Another registry is independent.
	if _, err := NewMetrics(prometheus.NewRegistry()); err != nil {
		t.Errorf("NewMetrics on a second registry: %v", err)
	}
}

// countingRegisterer tracks which collectors are registered through it.
type countingRegisterer struct {
	prometheus.Registerer
	live map[prometheus.Collector]bool
}

func (r *countingRegisterer) Register(c prometheus.Collector) error {
	if err := r.Registerer.Register(c); err != nil {
		return err
	}
	r.live[c] = true
	return nil
}

func (r *countingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *countingRegisterer) Unregister(c prometheus.Collector) bool {
	delete(r.live, c)
	return r.Registerer.Unregister(c)
}

// TestNewMetricsPartial checks that a failed registration takes back the
// collectors it had already registered.
func TestNewMetricsPartial(t *testing.T) {
	reg := prometheus.NewRegistry()
	// calibrated_backend_state is registered last, so every other collector
	// is registered before the clash.
	clash := prometheus.NewGauge(prometheus.GaugeOpts{Name: "calibrated_backend_state", Help: "clash"})
	reg.MustRegister(clash)
	cr := &countingRegisterer{Registerer: reg, live: map[prometheus.Collector]bool{}}
	if m, err := NewMetrics(cr); err == nil || m != nil {
		t.Fatalf("NewMetrics with a clashing name = %v, %v; want nil and an error", m, err)
	}
	if len(cr.live) != 0 {
		t.Errorf("%d collectors left registered after the failed NewMetrics", len(cr.live))
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 1 {
		t.Errorf("registry holds %d series (%v), want only the clash", n, err)
	}
}

func TestMetricsNamesAndLint(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.Admitted("write")
	m.Conflict("reject")
	m.LockWait(time.Millisecond)
	m.ReadWait("pg", time.Millisecond)
	m.AppendLatency(time.Millisecond)
	m.Applied("pg", 1)
	m.SetLag("pg", 1)
	m.SetState("pg", "active")

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"calibrated_admissions_total":      true,
		"calibrated_conflicts_total":       true,
		"calibrated_lock_wait_seconds":     true,
		"calibrated_read_wait_seconds":     true,
		"calibrated_ledger_append_seconds": true,
		"calibrated_applied_entries_total": true,
		"calibrated_applier_lag_entries":   true,
		"calibrated_backend_state":         true,
	}
	for _, mf := range mfs {
		if !want[mf.GetName()] {
			t.Errorf("unexpected metric %s", mf.GetName())
		}
		delete(want, mf.GetName())
	}
	for n := range want {
		t.Errorf("missing metric %s", n)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

// TestMetricsNotGlobal checks that nothing calibrated is on the default
// registry: importing the driver and creating metrics registers nothing
// globally.
func TestMetricsNotGlobal(t *testing.T) {
	newTestMetrics(t)
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "calibrated_") {
			t.Errorf("%s is registered on the default registry", mf.GetName())
		}
	}
}

func TestMetricsConcurrent(t *testing.T) {
	m, reg := newTestMetrics(t)
	const workers, n = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			states := []string{"active", "down", "catching-up", "diverged", "stale", "resyncing"}
			for i := range n {
				m.Admitted("write")
				m.Conflict("lock_timeout")
				m.LockWait(time.Millisecond)
				m.ReadWait("pg", time.Millisecond)
				m.AppendLatency(time.Microsecond)
				m.Applied("pg", 1)
				m.SetLag("pg", i)
				m.SetState("pg", states[(w+i)%len(states)])
			}
		})
	}
	wg.Wait()
	const total = workers * n
	if got := testutil.ToFloat64(m.admissions.WithLabelValues("write")); got != total {
		t.Errorf("admissions = %v, want %v", got, total)
	}
	if got := testutil.ToFloat64(m.conflicts.WithLabelValues("lock_timeout")); got != total {
		t.Errorf("conflicts = %v, want %v", got, total)
	}
	if got := testutil.ToFloat64(m.applied.WithLabelValues("pg")); got != total {
		t.Errorf("applied = %v, want %v", got, total)
	}
	if got := histogram(t, reg, "calibrated_lock_wait_seconds", nil).GetSampleCount(); got != total {
		t.Errorf("lock waits = %d, want %d", got, total)
	}
	if got := histogram(t, reg, "calibrated_read_wait_seconds", map[string]string{"backend": "pg"}).GetSampleCount(); got != total {
		t.Errorf("read waits = %d, want %d", got, total)
	}
	ones := 0
	for _, v := range stateSeries(t, reg, "pg") {
		if v == 1 {
			ones++
		}
	}
	if ones != 1 {
		t.Errorf("%d states at 1 after concurrent SetState, want 1", ones)
	}
}
