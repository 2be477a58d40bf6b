package backend

import (
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

// ConnError reports whether err says the backend could not be reached or
// the connection broke, as opposed to the backend refusing a statement.
func ConnError(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	switch {
	case errors.Is(err, driver.ErrBadConn), errors.As(err, &ne), errors.As(err, &ce),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	if errors.Is(err, mysql.ErrInvalidConn) {
		return true
	}
	if st, ok := SQLState(err); ok {
		return strings.HasPrefix(st, "08") || st == "57P01" || st == "57P02" || st == "57P03"
	}
	// pgx: a connection that was closed, or a statement never sent.
	return pgconn.SafeToRetry(err)
}

// SQLState returns the SQLSTATE of an error a database reported: through
// a SQLState() method (pgx, lib/pq), or go-sql-driver/mysql's field.
func SQLState(err error) (string, bool) {
	var s interface{ SQLState() string }
	if errors.As(err, &s) {
		return s.SQLState(), true
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		if me.SQLState == [5]byte{} {
			return "HY000", true
		}
		return string(me.SQLState[:]), true
	}
	// SQLite (modernc.org/sqlite) has result codes, not SQLSTATEs: give the
	// statement errors one, and leave the rest to be retried.
	var se interface{ Code() int }
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case 19: // SQLITE_CONSTRAINT
			return "23000", true
		case 20: // SQLITE_MISMATCH
			return "22000", true
		case 1: // SQLITE_ERROR: a bad statement, a missing table
			return "42000", true
		case 5, 6, 10, 11, 14, 26: // BUSY, LOCKED, IOERR, CORRUPT, CANTOPEN, NOTADB
			return "", false
		}
		return "HY000", true
	}
	return "", false
}
