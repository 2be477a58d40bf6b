// Package sqlite enables SQLite backends (db.NAME=sqlite:PATH) through
// modernc.org/sqlite, a SQLite without cgo. It lives in its own package so
// that applications that do not use SQLite do not carry it:
//
//	import (
//		_ "github.com/calibrated/calibrated"
//		_ "github.com/calibrated/calibrated/sqlite"
//	)
//
//	db, err := sql.Open("calibrated", "db.a=sqlite:/var/lib/app/a.db db.b=sqlite:/var/lib/app/b.db")
//
// A backend URL takes modernc.org/sqlite's parameters after the path, the
// same for every backend: ?_pragma=foreign_keys(1) turns foreign key
// enforcement on for every connection (calibrated refuses backends that
// disagree on it), and _texttotime=1 reports DATETIME columns as time.Time
// (ColumnTypeScanType), as mattn/go-sqlite3 does, which GORM's map results
// rely on.
package sqlite

import (
	_ "modernc.org/sqlite" // registers the database/sql driver "sqlite"
)
