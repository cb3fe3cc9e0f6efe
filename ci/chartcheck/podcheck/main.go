// Command podcheck runs the pods the Helm chart renders for an environment as podman
// containers, each with its pod's exact env, args, ports, user, read-only root and volumes,
// on one network, with what a cluster would add supplied in its place (cluster.go). It then
// checks every probe, a barrage's way from the HomePage through the processor to the live
// stream, and that killing the processor loses nothing. ci/pods-check runs it; it is a
// check, never part of the service's image.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "barrage-podcheck:", err)
		os.Exit(1)
	}
}

const (
	release   = "barrage"
	namespace = "barrage"
)

type options struct {
	env        string // a file of charts/barrage/environments, without .yaml
	chartDir   string
	image      string // the service image ci/image built
	storeImage string // the image of cmd/barrage-otstest
	podman     string
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("barrage-podcheck", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.env, "env", "", "environment: a values file in charts/barrage/environments, without .yaml")
	fs.StringVar(&o.chartDir, "chart", "charts/barrage", "the chart")
	fs.StringVar(&o.image, "image", "", "the service image the rendered pods must name (ci/image's last line)")
	fs.StringVar(&o.storeImage, "store-image", "", "the image of the Tablestore test server")
	fs.StringVar(&o.podman, "podman", "ci/podman", "podman, as this machine runs it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.env == "" || o.image == "" || o.storeImage == "" {
		return errors.New("-env, -image and -store-image are required")
	}
	start := time.Now()
	c := &check{o: o, pm: podman{bin: o.podman}, out: stdout, prefix: fmt.Sprintf("pods-%s-%d", o.env, os.Getpid())}
	dir, err := os.MkdirTemp("", c.prefix+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	c.dir = dir
	defer c.cleanup()
	if err := c.run(ctx); err != nil {
		c.dumpLogs()
		return fmt.Errorf("%s: %w", o.env, err)
	}
	fmt.Fprintf(stdout, "pods %s: ok in %s\n", o.env, time.Since(start).Round(time.Second))
	return nil
}

// check is one environment's run.
type check struct {
	o          options
	pm         podman
	out        io.Writer
	prefix     string // of every container and the network, unique to this run
	dir        string
	network    string
	containers []string // started, for cleanup and logs
}

func (c *check) logf(format string, args ...any) {
	fmt.Fprintf(c.out, "pods %s: %s\n", c.o.env, fmt.Sprintf(format, args...))
}

func (c *check) run(ctx context.Context) error {
	ch, err := loader.Load(c.o.chartDir)
	if err != nil {
		return fmt.Errorf("load chart: %w", err)
	}
	files := []string{filepath.Join(c.o.chartDir, "environments", c.o.env+".yaml")}
	envVals, err := mergedValues(files, nil)
	if err != nil {
		return err
	}
	eff, err := effectiveValues(ch, envVals)
	if err != nil {
		return err
	}
	tls := lookup(eff, false, "kafka", "tls", "enabled")
	sasl := lookup(eff, false, "kafka", "sasl", "enabled")
	si := standIns{
		store: c.prefix + "-ots", storeInstance: "barrage-pods", kafka: c.prefix + "-kafka", kafkaPort: 9092,
		needsDispatcher: lookup(eff, "", "eventDriver", "type") == "kafkaSource",
	}
	if tls {
		si.kafkaPort, si.caSecret = 9093, "barrage-pods-kafka-ca"
	}

	sec, broker, err := c.secrets(eff, si, tls)
	if err != nil {
		return err
	}
	vals, err := mergedValues(files, si.overrides())
	if err != nil {
		return err
	}
	workloads, err := render(ch, release, namespace, vals)
	if err != nil {
		return err
	}
	c.logf("rendered %d workloads with %s", len(workloads), strings.Join(si.overrides(), " "))

	c.network = c.prefix
	if _, err := c.pm.run(ctx, "network", "create", c.network); err != nil {
		return err
	}
	if err := c.startStore(ctx, si, broker); err != nil {
		return err
	}
	if err := c.startBroker(ctx, si, eff, broker, tls, sasl); err != nil {
		return err
	}
	pods, err := c.startPods(ctx, workloads, sec)
	if err != nil {
		return err
	}
	if err := c.checkProbes(ctx, pods); err != nil {
		return err
	}
	if err := c.checkMetricsApart(pods); err != nil {
		return err
	}
	return c.checkFlow(ctx, pods)
}

func (c *check) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if len(c.containers) > 0 {
		_, _ = c.pm.run(ctx, append([]string{"rm", "-f", "-t", "0"}, c.containers...)...)
	}
	if c.network != "" {
		_, _ = c.pm.run(ctx, "network", "rm", "-f", c.network)
	}
}

// dumpLogs shows the end of each container's log after a failure.
func (c *check) dumpLogs() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range c.containers {
		out, _ := c.pm.output(ctx, "logs", "--tail", "30", name)
		fmt.Fprintf(c.out, "--- %s\n%s", name, out)
	}
}
