// Command corpusgen regenerates the router's GORM corpora,
// testdata/gorm-postgres.sql, testdata/gorm-mysql.sql and
// testdata/gorm-sqlite.sql: every statement GORM (the version in go.mod)
// sends to a database for a workload of the kinds applications run, one a
// line, once each, in the order GORM first sent it.
//
// It runs from the router package (go generate ./router/):
//
//	go run ./internal/corpusgen [-dialect postgres,mysql,sqlite] [-out testdata]
//	    [-postgres URL] [-mysql DSN]
//
// PostgreSQL and MySQL need servers: -postgres (default
// $CALIBRATED_TEST_POSTGRES) and -mysql (default $CALIBRATED_TEST_MYSQL) are
// a connection to a server where the generator may create and drop its own
// scratch database. SQLite uses a file in a temporary folder.
//
// GORM talks to each database through a database/sql connector that records
// every statement text before the driver runs it (recorder, connector), so
// the corpus holds what GORM really sent, the migrator's queries included.
// The workload (workload) runs AutoMigrate and the migrator's column, index
// and table changes, creates, batch creates, upserts, finds, joins,
// preloads, associations, updates, soft and unscoped deletes, counts,
// locking reads and nested transactions with savepoints; then statements an
// application passes to db.Exec by hand, which GORM forwards as written
// (raw.go). Those are built in a DryRun session and not run: several name
// tables and columns the models lack.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	dialects := flag.String("dialect", "postgres,mysql,sqlite", "comma-separated dialects to record")
	out := flag.String("out", "testdata", "folder of the corpus files")
	pgURL := flag.String("postgres", os.Getenv("CALIBRATED_TEST_POSTGRES"), "PostgreSQL server URL (default $CALIBRATED_TEST_POSTGRES)")
	myDSN := flag.String("mysql", os.Getenv("CALIBRATED_TEST_MYSQL"), "MySQL server DSN (default $CALIBRATED_TEST_MYSQL)")
	flag.Parse()
	for _, d := range strings.Split(*dialects, ",") {
		var (
			lines []string
			err   error
		)
		switch d {
		case "postgres":
			lines, err = recordPostgres(*pgURL)
		case "mysql":
			lines, err = recordMySQL(*myDSN)
		case "sqlite":
			lines, err = recordSQLite()
		default:
			err = fmt.Errorf("unknown dialect %q; known: postgres, mysql, sqlite", d)
		}
		if err == nil {
			err = write(filepath.Join(*out, "gorm-"+d+".sql"), lines)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "corpusgen: %s: %v\n", d, err)
			os.Exit(1)
		}
		fmt.Printf("corpusgen: %s: %d statements\n", d, len(lines))
	}
}

func write(path string, lines []string) error {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
