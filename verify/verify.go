// Package verify compares the shared tables of calibrated's backends by
// ordered checksum (DESIGN §3 P7, §9): the Go side of "calibrated verify".
//
// [Run] opens every backend of a [calibrated.Config] directly, without the
// driver, reads each one in a single read-only REPEATABLE READ transaction
// (one consistent snapshot per backend), and asks each backend for one
// checksum per table, computed in the database. Tables are compared when
// [calibrated.Config.IsShared] says so, in every schema but the system ones,
// named "table" in schema public and "schema.table" elsewhere; the driver's
// own table calibrated_applied never is. For the tables that differ it can
// also list the primary keys whose rows differ.
//
// The backends are read at slightly different moments, so a table that is
// being written through calibrated may differ for a moment; verify a
// quiescent system, or run it again before acting on a difference.
package verify

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/calibrated/calibrated"
)

// Checksum values that are not digests.
const (
	ChecksumEmpty   = ""        // the table has no rows
	ChecksumMissing = "missing" // the backend has no such table
)

// DefaultMaxKeys is how many differing keys a table lists when
// [Options.MaxKeys] is 0.
const DefaultMaxKeys = 20

// ErrUnknownTable is returned, wrapped, for an [Options.Tables] entry that
// names no shared table on any backend.
var ErrUnknownTable = errors.New("calibrated: verify: no such shared table")

// Options say what [Run] compares and reports.
type Options struct {
	Keys    bool     // also list the differing primary keys of each differing table (up to MaxKeys)
	MaxKeys int      // how many keys to list per table; 0 means DefaultMaxKeys
	Tables  []string // limit to these tables ("table" or "schema.table"); empty means every shared table
}

// Report is what [Run] found.
type Report struct {
	Backends []string      `json:"backends"` // backend names, in DSN order
	Tables   []TableReport `json:"tables"`   // sorted by name
}

// TableReport compares one table across the backends.
type TableReport struct {
	Table string `json:"table"`
	// Checksums maps each backend to the table's ordered checksum there: a
	// hex md5 over the md5 of each row's text in primary-key order (in
	// blocks of rows, so that large tables stay within PostgreSQL's 1 GB
	// limit on a value), [ChecksumEmpty] for an empty table, or
	// [ChecksumMissing] where the table does not exist.
	Checksums map[string]string `json:"checksums"`
	Rows      map[string]int64  `json:"rows"` // backend -> row count; absent where the table is missing
	Differs   bool              `json:"differs"`
	Keys      []KeyDiff         `json:"keys,omitempty"` // with Options.Keys, the first MaxKeys differing rows, keys in byte order
}

// KeyDiff is one row that differs between backends or exists on only some.
type KeyDiff struct {
	// Key is the row's primary-key values as text, joined by ",". For a
	// table without a primary key it is the whole row's text.
	Key string `json:"key"`
	// Backends maps every backend to the md5 of the row's text there, ""
	// where the row is absent. For a table without a primary key, a row
	// present n > 1 times reads "MD5*n".
	Backends map[string]string `json:"backends"`
}

// Differs reports whether any table differs between the backends.
func (r *Report) Differs() bool {
	return slices.ContainsFunc(r.Tables, func(t TableReport) bool { return t.Differs })
}

// DifferingTables returns the names of the tables that differ, in report order.
func (r *Report) DifferingTables() []string {
	var names []string
	for _, t := range r.Tables {
		if t.Differs {
			names = append(names, t.Table)
		}
	}
	return names
}

// defaultBlockRows is how many rows each first-level digest covers.
const defaultBlockRows = 100_000

// Run compares the backends of cfg. The backends are opened directly; the
// driver is not involved. Backends are queried concurrently. An error from
// a backend is a *[calibrated.BackendError] naming it (several are joined);
// a Tables entry that is no shared table wraps [ErrUnknownTable].
func Run(ctx context.Context, cfg *calibrated.Config, opts Options) (*Report, error) {
	return run(ctx, cfg, opts, defaultBlockRows)
}

func run(ctx context.Context, cfg *calibrated.Config, opts Options, blockRows int64) (*Report, error) {
	if cfg == nil {
		return nil, errors.New("calibrated: verify: nil Config")
	}
	cfg = cfg.Clone()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d := cfg.Dialect(); d != "postgres" {
		return nil, &calibrated.UnsupportedError{What: "verify of " + d + " backends", Fix: "verify compares PostgreSQL backends only"}
	}
	maxKeys := opts.MaxKeys
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}

	sessions := make([]*session, len(cfg.Backends))
	defer func() {
		for _, s := range sessions {
			if s != nil {
				s.close()
			}
		}
	}()
	err := each(len(sessions), func(i int) (err error) {
		sessions[i], err = open(ctx, cfg.Backends[i])
		return err
	})
	if err != nil {
		return nil, err
	}

	names, err := selectTables(cfg, sessions, opts.Tables)
	if err != nil {
		return nil, err
	}
	err = each(len(sessions), func(i int) error {
		s := sessions[i]
		for _, name := range names {
			if t := s.tables[name]; t != nil {
				if err := s.checksum(ctx, t, blockRows); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	rep := &Report{Backends: make([]string, len(sessions))}
	for i, s := range sessions {
		rep.Backends[i] = s.name
	}
	for _, name := range names {
		tr := TableReport{Table: name, Checksums: map[string]string{}, Rows: map[string]int64{}}
		for _, s := range sessions {
			t := s.tables[name]
			if t == nil {
				tr.Checksums[s.name] = ChecksumMissing
				continue
			}
			tr.Checksums[s.name] = t.sum
			tr.Rows[s.name] = t.rows
		}
		for _, s := range sessions[1:] {
			tr.Differs = tr.Differs || tr.Checksums[s.name] != tr.Checksums[sessions[0].name]
		}
		if tr.Differs && opts.Keys {
			if tr.Keys, err = keyDiffs(ctx, sessions, name, maxKeys); err != nil {
				return nil, err
			}
		}
		rep.Tables = append(rep.Tables, tr)
	}
	return rep, nil
}

// selectTables returns, sorted, the shared tables to compare: every one on
// any backend, or those of only that match names case-insensitively.
func selectTables(cfg *calibrated.Config, sessions []*session, only []string) ([]string, error) {
	all := map[string]bool{}
	for _, s := range sessions {
		for name, t := range s.tables {
			all[name] = all[name] || cfg.IsShared(name) && t.name != appliedTable
		}
	}
	var names []string
	if len(only) == 0 {
		for name, shared := range all {
			if shared {
				names = append(names, name)
			}
		}
	}
	for _, want := range only {
		name, ok := want, all[want]
		if _, exact := all[want]; !exact {
			for n, shared := range all {
				if strings.EqualFold(n, want) {
					name, ok = n, shared
					break
				}
			}
		}
		switch _, exists := all[name]; {
		case exists && !ok:
			return nil, fmt.Errorf("%w: %q is not shared (private, or the driver's own)", ErrUnknownTable, calibrated.Redact(want))
		case !ok:
			return nil, fmt.Errorf("%w: %q is on no backend", ErrUnknownTable, calibrated.Redact(want))
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// each runs f(0) … f(n-1) concurrently and joins their errors.
func each(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
