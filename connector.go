package calibrated

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/calibrated/calibrated/internal/dsn"
	"github.com/calibrated/calibrated/internal/engine"
)

var (
	_ driver.Connector = (*connector)(nil)
	_ io.Closer        = (*connector)(nil)
)

// connector opens conns onto one engine: the backends, the ledger, the
// calibrator and the appliers that one sql.DB shares. The engine starts on
// the first Connect, so sql.Open does no I/O.
type connector struct {
	cfg *Config
	drv *Driver

	mu sync.Mutex
	e  *engine.Engine
}

// NewConnector returns a connector for cfg, for use with [sql.OpenDB]. The
// config is cloned and validated; opts apply Go-only settings.
func NewConnector(cfg *Config, opts ...Option) (driver.Connector, error) {
	return newConnector(cfg, opts...)
}

func newConnector(cfg *Config, opts ...Option) (*connector, error) {
	if cfg == nil {
		return nil, &ConfigError{Err: errors.New("nil Config")}
	}
	cfg = cfg.Clone()
	for _, o := range opts {
		if err := o(cfg); err != nil {
			return nil, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch d := cfg.Dialect(); d {
	case "postgres", "mysql":
	case "sqlite":
		if cfg.Opener == nil && !slices.Contains(sql.Drivers(), "sqlite") {
			return nil, &ConfigError{Key: "db." + cfg.Backends[0].Name, Err: errors.New(`sqlite backends need their driver: import _ "github.com/calibrated/calibrated/sqlite"`)}
		}
	default:
		return nil, &ConfigError{Key: "db." + cfg.Backends[0].Name, Err: fmt.Errorf("%s backends: %w; use postgres://, mysql:// or sqlite: backends", d, dsn.ErrNotSupported)}
	}
	return &connector{cfg: cfg, drv: &Driver{}}, nil
}

// Connect implements [driver.Connector].
func (c *connector) Connect(ctx context.Context) (driver.Conn, error) {
	e, err := c.engine(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{s: e.NewSession(), native: c.cfg.Errors == ErrorsNative}, nil
}

// Driver implements [driver.Connector].
func (c *connector) Driver() driver.Driver { return c.drv }

// Close stops the appliers and the calibrator and closes the backends.
// [sql.DB.Close] calls it.
func (c *connector) Close() error {
	c.mu.Lock()
	e := c.e
	c.e = nil
	c.mu.Unlock()
	if e == nil {
		return nil
	}
	return e.Close()
}

func (c *connector) engine(ctx context.Context) (*engine.Engine, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.e != nil {
		return c.e, nil
	}
	e, err := engine.Start(ctx, c.cfg.engine())
	if err != nil {
		return nil, err
	}
	c.e = e
	return e, nil
}
