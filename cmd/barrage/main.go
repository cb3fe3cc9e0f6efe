// Command barrage runs the live bullet-comment service: with no argument, every part in
// one process on this machine; with a role, one part, as the Helm chart deploys it.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/barrage-live/barrage/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, os.Args[1:], os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "barrage:", err)
		os.Exit(1)
	}
}
