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
package sqlite

import (
	_ "modernc.org/sqlite" // registers the database/sql driver "sqlite"
)
