package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/calibrated/calibrated"
)

const resyncUsage = `usage: calibrated resync --from A --to B DSN

Rebuilds backend B from backend A: B stops serving, every shared table, its
sequences and the applied positions are copied from one consistent
snapshot of A, then B replays what was written since and becomes active.
Use it on a backend that status reports diverged or stale. A must be
active; both must be postgres:// backends. Quote the DSN, e.g.
  calibrated resync --from a --to b 'db.a=postgres://app@h1/shop db.b=postgres://app@h2/shop ledger=file:///var/lib/shop'

resync holds keys only in the ledger this process reads. With
ledger=file:///DIR the directory must not be open in a running
application: stop it first, or call calibrated.Resync in the application.
With ledger=local this process cannot see the application's writes, so
stop the application first.

Exits 0 when B is rebuilt and active, 2 on bad usage, 3 when the resync
fails; B then stays stale.

flags:
`

func resyncCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var from, to string
	fs := flag.NewFlagSet("resync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, resyncUsage); fs.PrintDefaults() }
	fs.StringVar(&from, "from", "", "the active backend to copy from (required)")
	fs.StringVar(&to, "to", "", "the backend to rebuild (required)")
	rest, code, ok := parseInterleaved(fs, args)
	if !ok {
		return code
	}
	switch {
	case len(rest) != 1:
		fmt.Fprintf(stderr, "calibrated resync: want one DSN argument, got %d\n\n", len(rest))
		fs.Usage()
		return ExitUsage
	case from == "" || to == "":
		fmt.Fprintln(stderr, "calibrated resync: --from and --to are required: name the active backend to copy from and the backend to rebuild")
		return ExitUsage
	case from == to:
		fmt.Fprintf(stderr, "calibrated resync: --from and --to both name %q; name the active backend to copy from and another to rebuild\n", from)
		return ExitUsage
	}
	cfg, conn, db, code := openConnector(rest[0], "resync", stderr)
	if conn == nil {
		return code
	}
	defer db.Close()
	names := backendNames(cfg)
	for _, n := range []string{from, to} {
		if !slices.Contains(names, n) {
			fmt.Fprintf(stderr, "calibrated resync: the DSN has no backend %q; its backends are %s\n", n, quoteList(names))
			return ExitUsage
		}
	}
	fmt.Fprintf(stdout, "calibrated resync: rebuilding %s from %s\n", to, from)
	start := time.Now()
	var tables, rows int64
	err := calibrated.Resync(ctx, conn, from, to, func(table string, n int64) {
		tables++
		rows += n
		fmt.Fprintf(stdout, "  %s: %d rows copied\n", table, n)
	})
	if err != nil {
		fmt.Fprintf(stderr, "calibrated resync: %s\n", explain(err, cfg, "calibrated.Resync"))
		fmt.Fprintf(stderr, "calibrated resync: %s was not rebuilt and stays stale until a resync succeeds; fix the cause above and run this command again\n", to)
		return ExitError
	}
	fmt.Fprintf(stdout, "calibrated resync: OK: %s rebuilt from %s in %.1fs: %d tables, %d rows copied; %s is active\n",
		to, from, time.Since(start).Seconds(), tables, rows, to)
	return ExitOK
}
