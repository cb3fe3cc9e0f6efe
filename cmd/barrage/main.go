// Command barrage runs the live bullet-comment service: with no argument, every part in
// one process on this machine; with a role, one part, as the Helm chart deploys it.
// `barrage bench` runs the benchmark scenarios.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/barrage-live/barrage/internal/app"
	"github.com/barrage-live/barrage/internal/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args := os.Args[1:]; {
	case len(args) > 0 && args[0] == "bench":
		err = bench.Main(ctx, args[1:], os.Stdout)
	case len(args) > 0 && args[0] == "bench-viewers":
		err = bench.Main(ctx, args, os.Stdout)
	default:
		err = app.Run(ctx, args, os.Getenv, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "barrage:", err)
		os.Exit(1)
	}
}
