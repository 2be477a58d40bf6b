// Package cli is the calibrated command: Main(ctx, args, stdout, stderr).
package cli

import (
	"context"
	"fmt"
	"io"
)

// Exit codes, documented in the README.
const (
	ExitOK     = 0 // success; for demo, every check passed
	ExitFailed = 1 // a check failed: the backends disagree or money was lost
	ExitUsage  = 2 // bad flags or arguments
	ExitError  = 3 // could not run: a server unreachable, a database error
)

const usage = `usage: calibrated <command> [flags]

commands:
  demo    three databases kept identical under a concurrent bank workload
  verify  compare the shared tables of a DSN's backends by ordered checksum
  status  each backend's state, lag and reads, as this process sees the ledger
  log     a key's history from the ledger, with each backend's outcome
  resync  rebuild a diverged or stale backend from an active one
  bench   calibrated against one database, dual writes and pgpool-II, on PostgreSQL

Run "calibrated <command> -h" for a command's flags.
`

// Main runs the command line args and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return ExitUsage
	}
	switch args[0] {
	case "demo":
		return demo(ctx, args[1:], stdout, stderr)
	case "verify":
		return verifyCmd(ctx, args[1:], stdout, stderr)
	case "status":
		return statusCmd(ctx, args[1:], stdout, stderr)
	case "log":
		return logCmd(ctx, args[1:], stdout, stderr)
	case "resync":
		return resyncCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		return bench(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return ExitOK
	}
	fmt.Fprintf(stderr, "calibrated: unknown command %q\n\n%s", args[0], usage)
	return ExitUsage
}
