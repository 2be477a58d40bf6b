package cli

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/calibrated/calibrated"
)

const logUsage = `usage: calibrated log [flags] DSN KEY

Prints the ordered history of KEY from the ledger: each entry's position,
time, kind (write or commit) and origin, its statements with their
arguments, and each backend's outcome (ok with the rows affected, skipped,
the error, or pending). These are the versions that a latest-value
database forgets. KEY is one row as TABLE/ROW (e.g. users/7, with the
primary-key values joined by commas), a whole TABLE, or * for every entry.
Quote the DSN, e.g.
  calibrated log 'db.a=postgres://app@h1/shop db.b=postgres://app@h2/shop ledger=file:///var/lib/shop' users/7

The history is what this process can read of the ledger. With
ledger=file:///DIR that is the whole ledger the application wrote (the
directory must not be open in a running application; there, call
calibrated.History instead). With ledger=local the history lived only in
the application's process and is gone: this process starts a new, empty
ledger, so use ledger=file:///DIR in the application to keep it.

Exits 0 when the history was read (even if empty), 2 on bad usage, 3 when
it cannot run.

flags:
`

func logCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var asJSON bool
	fs := flag.NewFlagSet("log", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, logUsage); fs.PrintDefaults() }
	fs.BoolVar(&asJSON, "json", false, "print the entries as a JSON array")
	rest, code, ok := parseInterleaved(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 2 {
		fmt.Fprintf(stderr, "calibrated log: want a DSN and a KEY argument, got %d arguments\n\n", len(rest))
		fs.Usage()
		return ExitUsage
	}
	key := rest[1]
	if err := checkKey(key); err != nil {
		fmt.Fprintf(stderr, "calibrated log: KEY %q: %v; want TABLE/ROW (e.g. users/7), TABLE or *\n", key, err)
		return ExitUsage
	}
	cfg, conn, db, code := openConnector(rest[0], "log", stderr)
	if conn == nil {
		return code
	}
	defer db.Close()
	entries, err := calibrated.History(ctx, conn, key)
	if err != nil {
		fmt.Fprintf(stderr, "calibrated log: %s\n", explain(err, cfg, "calibrated.History"))
		return ExitError
	}
	if entries == nil {
		entries = []calibrated.HistoryEntry{}
	}
	if len(entries) == 0 && cfg.Ledger == calibrated.LedgerLocal {
		fmt.Fprintln(stderr, "calibrated log: note: with ledger=local the history lives only in the process that wrote it, so this new process has none; use ledger=file:///DIR in the application, or call calibrated.History there")
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(entries); err != nil {
			fmt.Fprintf(stderr, "calibrated log: %v\n", err)
			return ExitError
		}
		return ExitOK
	}
	printHistory(stdout, key, backendNames(cfg), entries)
	return ExitOK
}

// checkKey rejects what cannot name a row, a table or everything: what
// [calibrated.ParseKey] rejects, and the typing slips it lets through.
func checkKey(key string) error {
	if _, err := calibrated.ParseKey(key); err != nil {
		return errors.New("not a key")
	}
	if key == "*" {
		return nil
	}
	table, row, isRow := strings.Cut(key, "/")
	switch {
	case table == "*":
		return errors.New("* stands alone, for every entry")
	case strings.ContainsFunc(table, unicode.IsSpace):
		return errors.New("space in the table name")
	case isRow && row == "":
		return errors.New("no row after the /")
	}
	return nil
}

// printHistory writes entries, oldest first, with the outcomes of the
// backends in DSN order.
func printHistory(out io.Writer, key string, backends []string, entries []calibrated.HistoryEntry) {
	if len(entries) == 0 {
		fmt.Fprintf(out, "calibrated log: %s: no entries in the ledger\n", key)
		return
	}
	fmt.Fprintf(out, "calibrated log: %s: %d entries, oldest first\n", key, len(entries))
	width := len("args")
	for _, b := range backends {
		width = max(width, len(b))
	}
	for _, e := range entries {
		fmt.Fprintf(out, "\n#%d  %s  %s  origin %s\n", e.Seq, formatStamp(e.At), e.Kind, e.Origin)
		if len(e.Keys) > 0 {
			fmt.Fprintf(out, "  %-*s  %s\n", width, "keys", strings.Join(e.Keys, ", "))
		}
		for i, q := range e.Stmts {
			fmt.Fprintf(out, "  %-*s  %s\n", width, "sql", oneLine(q))
			if i < len(e.Args) && len(e.Args[i]) > 0 {
				fmt.Fprintf(out, "  %-*s  %s\n", width, "args", formatArgs(e.Args[i]))
			}
		}
		for _, b := range outcomeOrder(backends, e.Outcomes) {
			fmt.Fprintf(out, "  %-*s  %s\n", width, b, e.Outcomes[b])
		}
	}
}

// outcomeOrder lists the backends of outcomes: those of the DSN in its
// order, then any others by name.
func outcomeOrder(backends []string, outcomes map[string]string) []string {
	var order, extra []string
	for _, b := range backends {
		if _, ok := outcomes[b]; ok {
			order = append(order, b)
		}
	}
	for b := range outcomes {
		if !slices.Contains(backends, b) {
			extra = append(extra, b)
		}
	}
	slices.Sort(extra)
	return append(order, extra...)
}

func formatStamp(t time.Time) string {
	if t.IsZero() {
		return "(no time)"
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

// oneLine folds a statement's whitespace so that it prints on one line.
func oneLine(q string) string {
	return strings.Join(strings.Fields(q), " ")
}

// formatArgs writes a statement's arguments as $1 = value, in SQL literal
// form.
func formatArgs(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = fmt.Sprintf("$%d = %s", i+1, sqlLiteral(a))
	}
	return strings.Join(parts, ", ")
}

func sqlLiteral(v any) string {
	switch v := v.(type) {
	case nil:
		return "NULL"
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case []byte:
		return `'\x` + hex.EncodeToString(v) + "'"
	case time.Time:
		return "'" + v.Format(time.RFC3339Nano) + "'"
	}
	return fmt.Sprint(v)
}
