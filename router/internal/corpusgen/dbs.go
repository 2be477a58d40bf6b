package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/glebarez/sqlite"
	gomysql "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// scratch is the name of the generator's scratch database.
const scratch = "calibrated_corpusgen"

func gormConfig() *gorm.Config {
	return &gorm.Config{Logger: logger.Discard}
}

// recordPostgres records the workload on a scratch database of the server
// at u.
func recordPostgres(u string) (lines []string, err error) {
	if u == "" {
		return nil, errors.New("no server: set -postgres or CALIBRATED_TEST_POSTGRES")
	}
	admin, err := sql.Open("pgx", u)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	ctx := context.Background()
	drop := `DROP DATABASE IF EXISTS ` + scratch + ` WITH (FORCE)`
	if _, err := admin.ExecContext(ctx, drop); err != nil {
		return nil, err
	}
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+scratch); err != nil {
		return nil, err
	}
	defer func() {
		if _, derr := admin.ExecContext(ctx, drop); err == nil {
			err = derr
		}
	}()
	pu, err := url.Parse(u)
	if err != nil {
		return nil, err
	}
	pu.Path = "/" + scratch
	r := newRecorder(postgresSavepoints)
	sdb, err := openDB("pgx", pu.String(), r)
	if err != nil {
		return nil, err
	}
	defer sdb.Close()
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: sdb}), gormConfig())
	if err != nil {
		return nil, err
	}
	if err := workload(db, r, explicitKit, postgresRaw); err != nil {
		return nil, err
	}
	return r.lines, nil
}

// recordMySQL records the workload on a scratch database of the server at
// dsn.
func recordMySQL(dsn string) (lines []string, err error) {
	if dsn == "" {
		return nil, errors.New("no server: set -mysql or CALIBRATED_TEST_MYSQL")
	}
	cfg, err := gomysql.ParseDSN(dsn)
	if err != nil {
		return nil, err
	}
	cfg.DBName = ""
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	ctx := context.Background()
	drop := "DROP DATABASE IF EXISTS " + scratch
	if _, err := admin.ExecContext(ctx, drop); err != nil {
		return nil, err
	}
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+scratch); err != nil {
		return nil, err
	}
	defer func() {
		if _, derr := admin.ExecContext(ctx, drop); err == nil {
			err = derr
		}
	}()
	cfg.DBName = scratch
	cfg.ParseTime = true
	r := newRecorder(mysqlSavepoints)
	sdb, err := openDB("mysql", cfg.FormatDSN(), r)
	if err != nil {
		return nil, err
	}
	defer sdb.Close()
	// GORM asks the server its version and, for MariaDB 10.5 or later,
	// adds RETURNING to inserts, updates and deletes. The corpus is MySQL's:
	// skipping the question makes GORM speak MySQL 8 to any server.
	db, err := gorm.Open(mysql.New(mysql.Config{Conn: sdb, SkipInitializeWithVersion: true}), gormConfig())
	if err != nil {
		return nil, err
	}
	if err := workload(db, r, explicitKit, mysqlRaw); err != nil {
		return nil, err
	}
	return r.lines, nil
}

// recordSQLite records the workload on a new database file.
func recordSQLite() ([]string, error) {
	dir, err := os.MkdirTemp("", "corpusgen")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	r := newRecorder(sqliteSavepoints)
	// Foreign keys on, as applications (and the demo) run SQLite.
	sdb, err := openDB(sqlite.DriverName, filepath.Join(dir, "corpus.db")+"?_pragma=foreign_keys(1)", r)
	if err != nil {
		return nil, err
	}
	defer sdb.Close()
	sdb.SetMaxOpenConns(1)
	db, err := gorm.Open(sqlite.Dialector{Conn: sdb}, gormConfig())
	if err != nil {
		return nil, err
	}
	if err := workload(db, r, liteKit, sqliteRaw); err != nil {
		return nil, err
	}
	return r.lines, nil
}

// errs collects the errors of the workload's steps.
type errs []string

func (e *errs) check(step string, tx *gorm.DB) {
	if tx.Error != nil {
		*e = append(*e, fmt.Sprintf("%s: %v", step, tx.Error))
	}
}

func (e *errs) checkErr(step string, err error) {
	if err != nil {
		*e = append(*e, fmt.Sprintf("%s: %v", step, err))
	}
}

func (e errs) err() error {
	if len(e) == 0 {
		return nil
	}
	return errors.New(strings.Join(e, "\n"))
}
