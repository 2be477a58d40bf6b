package calibrated

import (
	"context"
	"database/sql"
	"database/sql/driver"

	// The drivers behind postgres:// (pgx), pq:postgres:// (lib/pq) and
	// mysql:// (go-sql-driver/mysql) backends, so that a bare
	// sql.Open("calibrated", …) works. SQLite, heavier, is opt-in.
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/lib/pq"
)

var (
	_ driver.Driver        = (*Driver)(nil)
	_ driver.DriverContext = (*Driver)(nil)
)

// Driver is the database/sql driver registered as "calibrated".
type Driver struct{}

func init() {
	sql.Register("calibrated", &Driver{})
}

// Open implements [driver.Driver]. Each call starts a new engine; use
// sql.Open, which calls OpenConnector once per sql.DB.
func (d *Driver) Open(dsn string) (driver.Conn, error) {
	c, err := d.OpenConnector(dsn)
	if err != nil {
		return nil, err
	}
	return c.Connect(context.Background())
}

// OpenConnector implements [driver.DriverContext]. It parses and checks the
// DSN; the backends are contacted on first use.
func (d *Driver) OpenConnector(dsn string) (driver.Connector, error) {
	cfg, err := ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	return NewConnector(cfg)
}
