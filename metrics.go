package calibrated

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/calibrated/calibrated/ledger"
)

// waitBuckets spans lock and read waits: from a key that was free almost at
// once (100µs) to one held past any sensible lock_timeout (30s).
var waitBuckets = []float64{
	0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05,
	0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 30,
}

// appendBuckets spans a ledger append: from the in-memory log (10µs) to a
// slow remote log (1s).
var appendBuckets = []float64{
	0.00001, 0.000025, 0.00005,
	0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1,
}

// Metrics holds the driver's Prometheus collectors. The zero of *Metrics
// (nil) is valid and records nothing, so the engine calls these methods
// unconditionally. A Metrics is safe for concurrent use.
//
// Nothing is registered globally: the application creates a Metrics with
// [NewMetrics] on its own [prometheus.Registerer] and passes it to the
// connector with [WithMetrics].
type Metrics struct {
	admissions    *prometheus.CounterVec
	conflicts     *prometheus.CounterVec
	lockWait      prometheus.Histogram
	readWait      *prometheus.HistogramVec
	appendLatency prometheus.Histogram
	applied       *prometheus.CounterVec
	lag           *prometheus.GaugeVec
	state         *prometheus.GaugeVec

	// mu makes SetState switch a backend's state series as one step, so a
	// scrape never sees two states at 1 because of two racing calls.
	mu    sync.Mutex
	other map[string]string // backend -> current state not in states
}

// states are the backend states SetState reports, each as its own series.
var states = func() []string {
	var s []string
	for st := ledger.Active; st <= ledger.Resyncing; st++ {
		s = append(s, st.String())
	}
	return s
}()

// NewMetrics creates the collectors and registers them on reg. It returns
// an error, and registers nothing, if reg is nil or a registration fails
// (for example because reg already holds calibrated metrics). Names are
// prefixed "calibrated_".
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("calibrated: NewMetrics: nil prometheus.Registerer")
	}
	m := &Metrics{
		admissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calibrated_admissions_total",
			Help: "Ledger entries admitted by the calibrator, by kind (write, lock, commit).",
		}, []string{"kind"}),
		conflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calibrated_conflicts_total",
			Help: "Writes refused because of a conflict, by kind (reject, deadlock, lock_timeout).",
		}, []string{"kind"}),
		lockWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "calibrated_lock_wait_seconds",
			Help:    "Time from a ledger append to the calibrator's admission decision.",
			Buckets: waitBuckets,
		}),
		readWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "calibrated_read_wait_seconds",
			Help:    "Time a read waited for pending keys on a backend.",
			Buckets: waitBuckets,
		}, []string{"backend"}),
		appendLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "calibrated_ledger_append_seconds",
			Help:    "Latency of appending an entry to the ledger.",
			Buckets: appendBuckets,
		}),
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "calibrated_applied_entries_total",
			Help: "Ledger entries applied to a backend.",
		}, []string{"backend"}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "calibrated_applier_lag_entries",
			Help: "Ledger entries admitted but not yet applied to a backend.",
		}, []string{"backend"}),
		state: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "calibrated_backend_state",
			Help: "A backend's state: 1 for the current state, 0 for the others.",
		}, []string{"backend", "state"}),
		other: map[string]string{},
	}
	cs := []prometheus.Collector{m.admissions, m.conflicts, m.lockWait, m.readWait, m.appendLatency, m.applied, m.lag, m.state}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			// Undo the partial registration so the caller can retry on reg.
			for _, r := range cs[:i] {
				reg.Unregister(r)
			}
			return nil, fmt.Errorf("calibrated: register metrics: %w", err)
		}
	}
	return m, nil
}

// WithMetrics makes the connector record into m; nil records nothing.
func WithMetrics(m *Metrics) Option {
	return func(c *Config) error {
		c.Metrics = m
		return nil
	}
}

// Admitted counts an entry the calibrator admitted; kind is "write", "lock"
// or "commit".
func (m *Metrics) Admitted(kind string) {
	if m == nil {
		return
	}
	m.admissions.WithLabelValues(kind).Inc()
}

// Conflict counts a write refused because of a conflict; policy is
// "reject", "deadlock" or "lock_timeout".
func (m *Metrics) Conflict(policy string) {
	if m == nil {
		return
	}
	m.conflicts.WithLabelValues(policy).Inc()
}

// LockWait observes the time from an append to its admission decision.
func (m *Metrics) LockWait(d time.Duration) {
	if m == nil {
		return
	}
	m.lockWait.Observe(d.Seconds())
}

// ReadWait observes the time a read on backend waited for pending keys.
func (m *Metrics) ReadWait(backend string, d time.Duration) {
	if m == nil {
		return
	}
	m.readWait.WithLabelValues(backend).Observe(d.Seconds())
}

// AppendLatency observes the latency of one ledger append.
func (m *Metrics) AppendLatency(d time.Duration) {
	if m == nil {
		return
	}
	m.appendLatency.Observe(d.Seconds())
}

// Applied counts entries applied to backend.
func (m *Metrics) Applied(backend string, entries int) {
	if m == nil || entries <= 0 {
		return
	}
	m.applied.WithLabelValues(backend).Add(float64(entries))
}

// SetLag sets how many admitted entries backend has yet to apply.
func (m *Metrics) SetLag(backend string, entries int) {
	if m == nil {
		return
	}
	m.lag.WithLabelValues(backend).Set(float64(entries))
}

// SetState sets backend's state series: 1 for state, 0 for every other
// known state (active, down, catching-up, diverged, stale, resyncing). An
// unknown state gets its own series at 1 that the next SetState removes, so
// exactly one series per backend is ever 1.
func (m *Metrics) SetState(backend, state string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if prev, ok := m.other[backend]; ok && prev != state {
		m.state.DeleteLabelValues(backend, prev)
		delete(m.other, backend)
	}
	known := false
	for _, s := range states {
		v := 0.0
		if s == state {
			v, known = 1, true
		}
		m.state.WithLabelValues(backend, s).Set(v)
	}
	if !known {
		m.other[backend] = state
		m.state.WithLabelValues(backend, state).Set(1)
	}
}
