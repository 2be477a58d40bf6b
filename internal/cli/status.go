package cli

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/calibrated/calibrated"
	"github.com/calibrated/calibrated/ledger/filelog"
)

const statusUsage = `usage: calibrated status [flags] DSN

Starts the DSN's connector in this process and prints the anchor, the
ledger's identity and position, and each backend's state, queued entries
(its lag) and reads in flight. Quote the DSN, e.g.
  calibrated status 'db.a=postgres://app@h1/shop db.b=postgres://app@h2/shop ledger=file:///var/lib/shop'

status sees the ledger only from this process. With ledger=file:///DIR it
replays the ledger, so it shows what the application left (the directory
must not be open in a running application). With ledger=local its ledger
is new and empty: states come only from what the backends tell at start,
such as stale after lost history. For a running application, call
calibrated.StatusOf in the application.

Exits 0 when every backend is active, 1 when one is not (down,
catching-up, diverged, stale, resyncing), 2 on bad usage, 3 when it cannot
run.

flags:
`

func statusCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var asJSON bool
	var wait time.Duration
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, statusUsage); fs.PrintDefaults() }
	fs.BoolVar(&asJSON, "json", false, "print the status as JSON")
	fs.DurationVar(&wait, "wait", 2*time.Second, "how long to let catching-up backends catch up before reporting")
	rest, code, ok := parseInterleaved(fs, args)
	if !ok {
		return code
	}
	if len(rest) != 1 {
		fmt.Fprintf(stderr, "calibrated status: want one DSN argument, got %d\n\n", len(rest))
		fs.Usage()
		return ExitUsage
	}
	if wait < 0 {
		fmt.Fprintln(stderr, "calibrated status: -wait must be ≥ 0")
		return ExitUsage
	}
	cfg, conn, db, code := openConnector(rest[0], "status", stderr)
	if conn == nil {
		return code
	}
	defer db.Close()
	st, err := settledStatus(ctx, conn, wait)
	if err != nil {
		fmt.Fprintf(stderr, "calibrated status: %s\n", explain(err, cfg, "calibrated.StatusOf"))
		return ExitError
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(st); err != nil {
			fmt.Fprintf(stderr, "calibrated status: %v\n", err)
			return ExitError
		}
	} else {
		printStatus(stdout, st)
	}
	if len(inactive(st)) > 0 {
		return ExitFailed
	}
	return ExitOK
}

// settledStatus returns the connector's status once it has stopped
// changing, no backend is catching up and no entry is queued, or after
// wait, whichever comes first: a connector that has just started is still
// reading the states it recorded at start and, on a file ledger, letting
// its appliers confirm what the backends already hold.
func settledStatus(ctx context.Context, conn driver.Connector, wait time.Duration) (calibrated.Status, error) {
	deadline := time.Now().Add(wait)
	var last calibrated.Status
	for i := 0; ; i++ {
		st, err := calibrated.StatusOf(ctx, conn)
		if err != nil {
			return st, err
		}
		if i > 0 && settled(st) && slices.Equal(st.Backends, last.Backends) && st.Processed == last.Processed || time.Now().After(deadline) {
			return st, nil
		}
		last = st
		select {
		case <-ctx.Done():
			return st, nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// settled reports whether no backend of st is catching up or has entries
// queued.
func settled(st calibrated.Status) bool {
	for _, b := range st.Backends {
		if b.State == "catching-up" || b.Queued > 0 {
			return false
		}
	}
	return true
}

// inactive returns the backends of st that are not active.
func inactive(st calibrated.Status) []calibrated.BackendStatus {
	var out []calibrated.BackendStatus
	for _, b := range st.Backends {
		if b.State != "active" {
			out = append(out, b)
		}
	}
	return out
}

// printStatus writes st as a header, a table of backends and a verdict
// that says what to do about each backend that is not active.
func printStatus(out io.Writer, st calibrated.Status) {
	anchor := st.Anchor
	if anchor == "" {
		anchor = "(none: no backend is active)"
	}
	fmt.Fprintf(out, "anchor   %s\n", anchor)
	fmt.Fprintf(out, "ledger   %s at position %d\n", st.Ledger, st.Processed)
	fmt.Fprintf(out, "writes   %d holding keys, %d waiting\n", st.Holders, st.Waiting)
	if st.Shared {
		// Remote mode: who else shares the ledger, as its events show.
		for _, p := range st.Processes {
			me := ""
			if p.Name == st.Process {
				me = " (this one)"
			}
			fmt.Fprintf(out, "process  %s%s, last seen %v before the ledger's latest event\n", p.Name, me, st.LogTime.Sub(p.LastSeen).Round(time.Millisecond))
		}
	}
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 8, 2, ' ', 0)
	fmt.Fprintln(w, "BACKEND\tSTATE\tQUEUED\tREADING\tAPPLIED BY")
	for _, b := range st.Backends {
		applier := b.Applier
		if applier == "" {
			applier = "(nobody: lease free)"
		} else if applier == st.Process {
			applier = "this process"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\n", b.Name, b.State, b.Queued, b.Reading, applier)
	}
	w.Flush()
	fmt.Fprintln(out)
	bad := inactive(st)
	if len(bad) == 0 {
		fmt.Fprintf(out, "calibrated status: OK: %d of %d backends active\n", len(st.Backends), len(st.Backends))
		return
	}
	fmt.Fprintf(out, "calibrated status: NOT OK: %d of %d backends not active\n", len(bad), len(st.Backends))
	from := st.Anchor
	if from == "" {
		from = "A"
	}
	for _, b := range bad {
		fmt.Fprintf(out, "  %s is %s: %s\n", b.Name, b.State, advice(b.State, b.Name, from))
	}
}

// advice says what an operator does about a backend in state.
func advice(state, name, from string) string {
	switch state {
	case "down":
		return "check that its server is up and reachable; it catches up by itself when it returns"
	case "catching-up":
		return "it is replaying the entries it missed; wait, or run status again with a longer -wait"
	case "diverged", "stale":
		return fmt.Sprintf("rebuild it with: calibrated resync --from %s --to %s DSN", from, name)
	case "resyncing":
		return "a resync is rebuilding it; wait for it to finish"
	}
	return "see DESIGN §7"
}

// parseInterleaved parses fs over args, letting flags follow the positional
// arguments too, and returns the positional ones. ok is false when the
// command should return code: after -h (ExitOK) or a bad flag (ExitUsage).
func parseInterleaved(fs *flag.FlagSet, args []string) (rest []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, ExitOK, false
			}
			return nil, ExitUsage, false
		}
		if fs.NArg() == 0 {
			return rest, 0, true
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// openConnector parses dsn and makes its connector and a sql.DB on it,
// without I/O; closing the DB closes the connector. On failure it reports
// to stderr and returns a nil connector and the exit code.
func openConnector(dsn, cmd string, stderr io.Writer) (*calibrated.Config, driver.Connector, *sql.DB, int) {
	cfg, err := calibrated.ParseDSN(dsn)
	if err != nil {
		fmt.Fprintf(stderr, "calibrated %s: %s\n", cmd, calibrated.Redact(err.Error()))
		return nil, nil, nil, ExitUsage
	}
	conn, err := calibrated.NewConnector(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "calibrated %s: %s\n", cmd, calibrated.Redact(err.Error()))
		return nil, nil, nil, ExitUsage
	}
	return cfg, conn, sql.OpenDB(conn), ExitOK
}

// explain returns err's message, passwords hidden, with a hint when the
// ledger directory is held by a running application, whose own process is
// then the place to call inProcess.
func explain(err error, cfg *calibrated.Config, inProcess string) string {
	msg := calibrated.Redact(err.Error())
	if errors.Is(err, filelog.ErrLocked) {
		msg += fmt.Sprintf("\nthe ledger %s is open in another process, such as the running application: stop it first, or call %s in the application",
			calibrated.Redact(cfg.Ledger), inProcess)
	}
	return msg
}

// backendNames returns the names of cfg's backends, in DSN order.
func backendNames(cfg *calibrated.Config) []string {
	names := make([]string, len(cfg.Backends))
	for i, b := range cfg.Backends {
		names[i] = b.Name
	}
	return names
}

// quoteList formats names as "a", "b" and "c" for messages.
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
