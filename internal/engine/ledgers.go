package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"sync"

	"github.com/calibrated/calibrated/backend"
	"github.com/calibrated/calibrated/internal/dsn"
	"github.com/calibrated/calibrated/ledger"
	"github.com/calibrated/calibrated/ledger/filelog"
	"github.com/calibrated/calibrated/ledger/memlog"
	"github.com/calibrated/calibrated/ledger/natslog"
	"github.com/calibrated/calibrated/ledger/redislog"
)

// fileLogs shares one open file ledger per directory within this process:
// the directory's lock admits a single opener, and two sql.DBs on the same
// DSN must see one log.
var fileLogs = struct {
	sync.Mutex
	m map[string]*sharedLog
}{m: map[string]*sharedLog{}}

// FileLogOptions, for tests, are the options file ledgers are opened with
// (small segments, say).
var FileLogOptions []filelog.Option

type sharedLog struct {
	*filelog.Log
	dir  string
	refs int
}

// Close releases this user's reference; the last one closes the log.
func (s *sharedLog) Close() error {
	fileLogs.Lock()
	defer fileLogs.Unlock()
	if s.refs--; s.refs > 0 {
		return nil
	}
	delete(fileLogs.m, s.dir)
	return s.Log.Close()
}

// openLedger opens the ledger the config names; shared says whether other
// processes may append to it (the remote ledgers).
func openLedger(ctx context.Context, cfg *Config) (l ledger.Log, shared bool, err error) {
	switch {
	case strings.HasPrefix(cfg.Ledger, "nats:"):
		if l, err = natslog.Open(ctx, cfg.Ledger); err != nil {
			return nil, false, ledgerOpenError(err)
		}
		return l, true, nil
	case strings.HasPrefix(cfg.Ledger, "redis:"):
		if l, err = redislog.Open(ctx, cfg.Ledger); err != nil {
			return nil, false, ledgerOpenError(err)
		}
		return l, true, nil
	}
	l, err = openLocalLedger(cfg)
	return l, false, err
}

// ledgerOpenError classes a remote ledger's Open error: unreachable is a
// [*LedgerError]; anything else (a refused durability, a malformed option)
// is the DSN's "ledger" to fix.
func ledgerOpenError(err error) error {
	if errors.Is(err, ledger.ErrUnavailable) {
		return &LedgerError{Err: err}
	}
	return &dsn.ConfigError{Key: "ledger", Err: err}
}

// openLocalLedger opens a ledger of this process: local or file.
func openLocalLedger(cfg *Config) (ledger.Log, error) {
	switch {
	case cfg.Ledger == LedgerLocal:
		return memlog.New(), nil
	case strings.HasPrefix(cfg.Ledger, "file:"):
		u, err := url.Parse(cfg.Ledger)
		if err != nil {
			return nil, &dsn.ConfigError{Key: "ledger", Err: err}
		}
		dir := filepath.Clean(u.Path)
		fileLogs.Lock()
		defer fileLogs.Unlock()
		if s := fileLogs.m[dir]; s != nil {
			s.refs++
			return s, nil
		}
		l, err := filelog.Open(dir, FileLogOptions...)
		if err != nil {
			return nil, &LedgerError{Err: err}
		}
		s := &sharedLog{Log: l, dir: dir, refs: 1}
		fileLogs.m[dir] = s
		return s, nil
	}
	return nil, &dsn.ConfigError{Key: "ledger", Err: fmt.Errorf("%s: %w; use ledger=local or ledger=file:///DIR", dsn.Redact(cfg.Ledger), dsn.ErrNotSupported)}
}

// lostHistory finds backends that lag behind the others in the history of
// a ledger this process cannot read (DESIGN §7): after a restart on
// ledger=local, or a backend attached to another ledger. Each backend
// counts the entries it applied from every ledger but the current one; a
// backend with fewer than another for some ledger is stale: only a resync
// can tell what it missed.
func lostHistory(ctx context.Context, backends []*backend.Backend, current string) (map[string]string, error) {
	counts := map[string]map[string]int64{} // ledger -> backend -> entries
	for _, b := range backends {
		rows, err := b.DB.QueryContext(ctx, `SELECT ledger, `+backend.AppliedCount+` FROM `+backend.AppliedTable+` WHERE ledger <> `+backend.Placeholder(b.Dialect, 1)+` GROUP BY ledger`, current)
		if err != nil {
			return nil, &BackendError{Backend: b.Name, Op: "read applied positions", Err: err}
		}
		for rows.Next() {
			var id string
			var n int64
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, &BackendError{Backend: b.Name, Op: "read applied positions", Err: err}
			}
			if counts[id] == nil {
				counts[id] = map[string]int64{}
			}
			counts[id][b.Name] = n
		}
		if err := closeRows(rows); err != nil {
			return nil, &BackendError{Backend: b.Name, Op: "read applied positions", Err: err}
		}
	}
	stale := map[string]string{}
	for id, per := range counts {
		var most int64
		for _, n := range per {
			most = max(most, n)
		}
		for _, b := range backends {
			if n := per[b.Name]; n < most {
				stale[b.Name] = fmt.Sprintf("applied %d of at least %d entries of ledger %s, whose history is gone", n, most, id)
			}
		}
	}
	return stale, nil
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}
