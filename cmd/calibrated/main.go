// Command calibrated runs the demo and, in later versions, the operator
// tools of DESIGN §9. Run "calibrated -h" for the subcommands.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/calibrated/calibrated/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
