// Command barrage-bench runs the benchmark scenarios against the real parts on this
// machine. It is a command of its own so that the service's image carries none of it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/barrage-live/barrage/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := bench.Main(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "barrage-bench:", err)
		os.Exit(1)
	}
}
