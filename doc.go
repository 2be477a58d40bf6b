// Package calibrated is a database/sql driver that makes several
// independent databases behave as one.
//
//	import _ "github.com/calibrated/calibrated"
//
//	db, err := sql.Open("calibrated",
//		"db.east=postgres://app@10.0.0.1/shop db.west=postgres://app@10.0.0.2/shop")
//
// Every write to a shared table is admitted into one totally ordered ledger,
// locked record by record, and applied to every backend in ledger order;
// every read runs on a backend that has no pending write on the rows it
// touches. After any workload quiesces, every backend holds the same shared
// data.
//
// # DSN
//
// A DSN is a list of key=value pairs separated by whitespace or ';'. Values
// may be single-quoted, with \' and \\ as escapes (libpq conninfo rules).
// db.NAME=URL declares a backend; their order is the anchor preference.
//
//	db.NAME=postgres://…      PostgreSQL through pgx
//	db.NAME=pq:postgres://…   PostgreSQL through lib/pq
//	db.NAME=mysql://DSN       MySQL/MariaDB through go-sql-driver/mysql (DSN in its form)
//	db.NAME=sqlite:PATH       SQLite through modernc.org/sqlite (import
//	                          github.com/calibrated/calibrated/sqlite)
//	ledger=local              the in-process ledger (default)
//	ledger=file:///DIR        a ledger on disk: a restart resumes from it
//	ledger=nats://HOST:4222/NAME[?replicas=3&group=N&monitor=URL&durability=relaxed]
//	                          a JetStream stream shared by every process on it
//	ledger=redis://HOST:6379/NAME[?wait=N]
//	                          a Redis stream shared by every process on it
//	conflict=wait|reject      a write meeting a pending write on its rows waits
//	                          in arrival order (default) or fails with ErrConflict
//	lock_timeout=5s           how long a write waits for its rows
//	ack=all|anchor            a write returns once every backend (default) or the
//	                          anchor has applied it
//	consistency=strong|local|none
//	read=nearest|anchor|NAME  where reads run: the least busy backend with nothing
//	                          pending on their rows (default), the anchor, or one backend
//	shared=*|t1,t2  private=t3,t4
//	                          private tables are served by the anchor alone
//	unparsed=reject|barrier   what to do with a write the parser cannot read
//	down_after=2s             a backend failing this long is marked down
//	tx_lease=30s              a transaction idle this long (in log time) loses its locks
//	errors=wrapped|native     a statement a backend refused fails with *BackendError
//	                          (default) or with the backend driver's own error
//
// Unknown keys and bad values are [*ConfigError]s that name the key and the
// legal values. [ParseDSN], [Config.FormatDSN] and [NewConnector] are the
// programmatic form. Passwords never appear in errors or logs.
//
// # Writes
//
// An autocommit INSERT, UPDATE or DELETE is analysed (the PostgreSQL parser
// itself, through pg_query_go), given keys (a row key per primary-key value
// pinned by = or IN, else the table), appended to the ledger and applied by
// one applier per backend, in batches, each recording the entries it applied
// in the table calibrated_applied inside the same transaction, so nothing is
// applied twice. Exec returns the anchor's RowsAffected; a statement error
// (a unique violation, say) is the anchor's own error, unwrappable with
// errors.As. DDL is ordered against everything.
//
// Statements are made deterministic before they enter the ledger: now(),
// CURRENT_TIMESTAMP, random(), gen_random_uuid() and kin become parameters
// whose values are fixed once; an INSERT … VALUES that leaves a serial or
// identity id or a volatile default to the database gets those values from
// the anchor first and sets them explicitly, and every backend's sequence
// is moved past them (PostgreSQL). On MySQL/MariaDB an INSERT that leaves
// an AUTO_INCREMENT id to the database runs on the anchor first, inside a
// transaction, and the other backends replay it with the anchor's ids;
// LastInsertId and RowsAffected are the anchor's, and NOW(),
// CURRENT_TIMESTAMP defaults and ON UPDATE CURRENT_TIMESTAMP take one
// instant everywhere through SET timestamp. On SQLite, INTEGER PRIMARY KEY
// ids and CURRENT_TIMESTAMP or random() defaults are drawn from the anchor
// and set explicitly, and LastInsertId is the last id drawn. What cannot be
// made deterministic is refused with an [*UnsafeStatementError] that names
// the fragment and the fix: random() in an UPDATE of many rows, generated
// ids in an INSERT … SELECT, SYSDATE(), LIMIT without ORDER BY in a
// write. (An AUTO_INCREMENT id given NULL, 0 or DEFAULT in some rows of a
// batch is taken from the anchor like any other generated id.) MySQL row and unique keys
// compare strings as their columns' collations do.
//
// # Transactions
//
// A transaction runs on the anchor, the first backend. Each write first locks
// its keys through the ledger, then executes on the anchor; Commit appends
// the transaction's statements to the ledger, records the entry as applied in
// the anchor transaction and commits it, and the other backends replay it in
// ledger order. Reads inside a transaction wait until the anchor has no
// pending write on their rows. Savepoints work; what is rolled back never
// reaches the other backends. Rollback releases the locks.
//
// # Failures
//
// A backend whose connections fail for down_after is marked down in the
// ledger: writes go on without it, its entries wait in the ledger, and reads
// go elsewhere (or, pinned to it, wait). When it answers again it catches
// up, serving reads of rows it has already caught up on, and rejoins. A
// backend whose outcome for an entry (error class, rows affected) differs
// from the anchor's is marked diverged and serves nothing until [Resync]
// rebuilds it. See [StatusOf], [History], [Resync] and the calibrated
// command's status, log, verify and resync.
//
// # Remote mode
//
// With ledger=nats:// or ledger=redis:// any number of processes share one
// timeline: every process runs the same calibrator over the same stream, so
// all take the same decisions, and no other channel joins them. Exactly one
// process applies to each backend: the holder of that backend's applier
// lease, a Lease event in the ledger that lapses in log time; a process
// that dies holding leases is replaced within about three seconds, and the
// applied marks in the backends keep every entry applied once across the
// hand-over. Open refuses a NATS stream that could lose acknowledged
// appends (one replica on a server that does not sync every write) unless
// durability=relaxed. A Redis ledger is as durable as the Redis server: its
// replication is asynchronous, so a failover can lose the acknowledged
// tail; use it on one node or for development, or with wait=N. When the
// ledger does not answer, writes and strong reads fail fast with
// [ErrLedgerUnavailable] and the driver goes on by itself when it returns.
// A gap, a rewind or a recreated stream stops the driver with a
// [*LedgerError] naming what was seen ([ledger.ErrHistory]); nothing past
// it is applied. [WithLedger] supplies a ledger of the application's own.
//
// # Consistency
//
// Under consistency=strong (the default) a read never returns a row older
// than a write already acknowledged to any client: it waits while its
// backend has a pending write on its rows, or goes to a backend that has
// none. With the in-process ledger this is the same as consistency=local.
// On a shared ledger a strong read first learns the ledger's tail (one round
// trip to NATS or Redis) and waits until this process has read that far;
// consistency=local skips that round trip: a process reads its own writes
// and never goes back in time, but may not yet see another process's.
// consistency=none skips the wait: reads may be stale.
//
// # Errors
//
// [ErrConflict] (SQLSTATE 40001) and [ErrLockTimeout] (55P03) mean nothing
// was applied: retry. [*BackendError] wraps a backend driver's error
// (*pgconn.PgError, *pq.Error, *mysql.MySQLError) with the backend's name;
// errors.As finds the driver's error through it, and its JSON form is the
// driver's (what GORM's PostgreSQL and SQLite dialectors translate
// gorm.ErrDuplicatedKey from under TranslateError). Code that type-asserts
// the driver's error instead, as GORM's MySQL dialector does, needs
// errors=native: a statement a backend refused then fails with the
// driver's own error value, as on a direct connection. (Not for GORM on
// SQLite: modernc's own error has no JSON form GORM reads.)
// Connection failures stay *BackendError either way, and so do errors
// another process reported through a shared ledger (their driver's value
// is not at hand). [*LedgerError] matches [ErrLedgerUnavailable].
// [*UnsafeStatementError] and [*UnsupportedError] say what to do instead.
package calibrated
