// Command barrage-otstest serves the Tablestore test server (internal/store/ots/otstest) on
// a network address, so that pods run as containers can share one store. It is for checks
// only and never part of the service's image.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/barrage-live/barrage/internal/store/ots/otstest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "barrage-otstest:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends. The instance and access key come from the environment under
// the names the service reads them by, so that no secret is on a command line.
func run(ctx context.Context, args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("barrage-otstest", flag.ContinueOnError)
	addr := fs.String("addr", ":8080", "address to listen on")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	s := otstest.Serve(otstest.Options{
		Instance: getenv("OTS_INSTANCENAME"), KeyID: getenv("OTS_KEYID"), Secret: getenv("OTS_SECRET"),
	}, ln)
	defer s.Close()
	fmt.Printf("barrage-otstest: instance %s on %s\n", s.Instance(), ln.Addr())
	<-ctx.Done()
	return nil
}
