package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/calibrated/calibrated"
	"github.com/calibrated/calibrated/verify"
)

const verifyUsage = `usage: calibrated verify [flags] DSN

Compares every shared table of the DSN's backends by ordered checksum,
reading each backend directly in one snapshot, and prints each table's rows
and checksum per backend with OK or DIFFERS. Quote the DSN, e.g.
  calibrated verify 'db.a=postgres://app@h1/shop db.b=postgres://app@h2/shop'
Exits 0 when every table is identical, 1 when one differs, 2 on bad usage,
3 when a backend cannot be reached or read.

flags:
`

// tableList is a repeatable -table flag.
type tableList []string

func (l *tableList) String() string { return strings.Join(*l, ",") }

func (l *tableList) Set(v string) error {
	if v == "" {
		return errors.New("empty table name")
	}
	*l = append(*l, v)
	return nil
}

func verifyCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var opts verify.Options
	var asJSON bool
	var tables tableList
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, verifyUsage); fs.PrintDefaults() }
	fs.BoolVar(&opts.Keys, "keys", false, "also list the primary keys of the rows that differ")
	fs.IntVar(&opts.MaxKeys, "max-keys", verify.DefaultMaxKeys, "how many differing keys to list per table, with -keys")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.Var(&tables, "table", "compare only this table (\"table\" or \"schema.table\"); repeatable")
	// Flags may follow the DSN too: parse again after each argument.
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return ExitOK
			}
			return ExitUsage
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(rest) != 1 {
		fmt.Fprintf(stderr, "calibrated verify: want one DSN argument, got %d\n\n", len(rest))
		fs.Usage()
		return ExitUsage
	}
	if opts.MaxKeys < 1 {
		fmt.Fprintln(stderr, "calibrated verify: -max-keys must be ≥ 1")
		return ExitUsage
	}
	opts.Tables = tables
	cfg, err := calibrated.ParseDSN(rest[0])
	if err != nil {
		fmt.Fprintln(stderr, calibrated.Redact(err.Error()))
		return ExitUsage
	}
	rep, err := verify.Run(ctx, cfg, opts)
	if err != nil {
		fmt.Fprintln(stderr, calibrated.Redact(err.Error()))
		if errors.Is(err, verify.ErrUnknownTable) {
			return ExitUsage
		}
		return ExitError
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "calibrated verify: %v\n", err)
			return ExitError
		}
	} else {
		printReport(stdout, rep)
	}
	if rep.Differs() {
		return ExitFailed
	}
	return ExitOK
}

// printReport writes rep as a table, a line per table and backend, then the
// differing keys, then a verdict.
func printReport(out io.Writer, rep *verify.Report) {
	w := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "TABLE\tBACKEND\tROWS\tCHECKSUM\tSTATUS")
	for _, t := range rep.Tables {
		status := "OK"
		if t.Differs {
			status = "DIFFERS"
		}
		for _, b := range rep.Backends {
			rows, sum := fmt.Sprint(t.Rows[b]), t.Checksums[b]
			switch sum {
			case verify.ChecksumMissing:
				rows, sum = "-", "(missing)"
			case verify.ChecksumEmpty:
				sum = "(empty)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.Table, b, rows, sum, status)
		}
	}
	w.Flush()
	for _, t := range rep.Tables {
		if len(t.Keys) == 0 {
			continue
		}
		fmt.Fprintf(out, "\n%s: rows that differ (key, then the row's md5 on each backend):\n", t.Table)
		w := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
		fmt.Fprintf(w, "  KEY\t%s\n", strings.ToUpper(strings.Join(rep.Backends, "\t")))
		for _, k := range t.Keys {
			cells := make([]string, len(rep.Backends))
			for i, b := range rep.Backends {
				if cells[i] = k.Backends[b]; cells[i] == "" {
					cells[i] = "(absent)"
				}
			}
			key := k.Key
			if strings.ContainsAny(key, "\t\r\n") {
				key = strconv.Quote(key)
			}
			fmt.Fprintf(w, "  %s\t%s\n", key, strings.Join(cells, "\t"))
		}
		w.Flush()
	}
	fmt.Fprintln(out)
	if d := rep.DifferingTables(); len(d) > 0 {
		fmt.Fprintf(out, "calibrated verify: DIFFERS: %d of %d tables differ across %d backends: %s\n",
			len(d), len(rep.Tables), len(rep.Backends), strings.Join(d, ", "))
		return
	}
	fmt.Fprintf(out, "calibrated verify: OK: %d tables identical on %d backends (%s)\n",
		len(rep.Tables), len(rep.Backends), strings.Join(rep.Backends, ", "))
}
