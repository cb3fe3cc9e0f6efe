// Package app wires the parts into the roles one process can run: everything at once in
// dev mode, or a single role as the chart deploys them.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/live"
	"github.com/barrage-live/barrage/internal/telemetry"
)

// Version is set at build time with -ldflags "-X ...app.Version=...".
var Version = "dev"

// Run is the whole program: it reads the role from args (or ROLE), the settings from
// getenv, starts the role and serves until ctx ends, then drains.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	roleName := getenv("ROLE")
	if len(args) > 0 {
		roleName = args[0]
	}
	if roleName == "help" || roleName == "-h" || roleName == "--help" {
		_, err := fmt.Fprint(stdout, usage)
		return err
	}
	role, err := config.ParseRole(roleName)
	if err != nil {
		return err
	}
	cfg, err := config.Parse(role, getenv)
	if err != nil {
		return err
	}
	if role == config.RoleRedrive {
		var flags []string
		if len(args) > 1 {
			flags = args[1:]
		}
		return runRedrive(ctx, cfg, flags, stdout)
	}
	log := telemetry.NewLogger(stdout, cfg.LogLevel, cfg.LogJSON, cfg.Secrets())
	a, err := Start(ctx, cfg, log)
	if err != nil {
		return err
	}
	<-ctx.Done()
	log.Info("draining")
	drainCtx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	return a.Shutdown(drainCtx)
}

const usage = `barrage: a live bullet-comment service.

Usage: barrage [dev|homepage|processor|dispatcher|broker|deadletter]
       barrage redrive [-max N] [-for D] [-room R] [-group G]

  dev (default)  everything in one process: http://127.0.0.1:8080
  homepage       the page, the send API and the live streams
  processor      the CloudEvents receiver that stores barrages
  dispatcher     Kafka consumer group -> CloudEvents to K_SINK
  broker         the embedded Kafka-protocol broker
  deadletter     a KafkaSource's dead-letter sink: CloudEvents -> the dead-letter topic
  redrive        moves dead letters back to KAFKA_TOPIC, then exits (see docs/reliability.md)

Settings come from the environment; see docs/configuration.md.
`

// App is a started role (or all of them) and how to stop it.
type App struct {
	// Addresses of what this process serves, host:port; empty when not run here.
	HomePage, Processor, Dispatcher, Broker, DeadLetter string

	// Metrics is where /metrics is served when BARRAGE_METRICS_PORT sets it apart.
	Metrics string

	log         *slog.Logger
	readTimeout time.Duration
	metrics     *telemetry.Metrics
	tracing     *telemetry.Tracing
	mu          sync.Mutex
	stops       [phaseCount][]stopStep // run phase by phase on shutdown
	stopped     []string               // the steps Shutdown ran, in order
	draining    bool
}

// Start starts cfg.Role and returns once it serves.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger) (*App, error) {
	a := &App{log: log.With("role", string(cfg.Role)), readTimeout: cfg.ReadTimeout, metrics: telemetry.NewMetrics()}
	tracing, err := telemetry.NewTracing(ctx, telemetry.TracingOptions{
		Endpoint: cfg.Tracing.Endpoint, UseOTEL: cfg.Tracing.UseOTEL,
		Service: "barrage-" + string(cfg.Role), Pod: cfg.PodName, Names: telemetry.NamesFrom(cfg.Tracing.SpanNames),
	})
	if err != nil {
		return nil, err
	}
	a.tracing = tracing
	a.onStop(phaseFlushTraces, "tracing", tracing.Shutdown)
	if cfg.MetricsPort != 0 {
		a.Metrics, err = a.serveMetrics(cfg.Host, cfg.MetricsPort)
	}
	if err == nil {
		err = a.startRole(ctx, cfg)
	}
	if err != nil {
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Shutdown(shutdownCtx)
		return nil, err
	}
	return a, nil
}

func (a *App) startRole(ctx context.Context, cfg config.Config) error {
	switch cfg.Role {
	case config.RoleBroker:
		return a.startBroker(cfg, true)
	case config.RoleProcessor:
		return a.startProcessor(ctx, cfg)
	case config.RoleDispatcher:
		return a.startDispatcher(ctx, cfg, true)
	case config.RoleHomePage:
		_, err := a.startHomePage(ctx, cfg)
		return err
	case config.RoleDeadLetter:
		return a.startDeadLetter(cfg)
	case config.RoleDev:
		return a.startDev(ctx, cfg)
	}
	return fmt.Errorf("app: unknown role %q", cfg.Role)
}

func (a *App) isDraining() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.draining
}

// maxHeaderBytes bounds a request's headers: a browser's are a few KiB, and Go's default
// of 1 MiB would let every slow connection hold that much.
const maxHeaderBytes = 32 << 10

// serve listens on host:port and serves h with /healthz and /readyz added; ready reports
// whether the role can take traffic. It returns the bound address. Its listener closes
// in phase stop (see stopServer for when its requests in flight are waited for).
func (a *App) serve(name, host string, port int, h http.Handler, ready func(context.Context) error, stop phase) (string, error) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if a.isDraining() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		if ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
			defer cancel()
			if err := ready(ctx); err != nil {
				a.log.Warn("not ready", "server", name, "err", err)
				http.Error(w, "not ready", http.StatusServiceUnavailable)
				return
			}
		}
		_, _ = io.WriteString(w, "ready\n")
	})
	if a.Metrics == "" { // else it has a port of its own, and the roles' ports leave it out
		mux.Handle("GET /metrics", a.metrics.Handler())
	}
	if h != nil {
		mux.Handle("/", h)
	}
	return a.listen(name, host, port, "PORT", mux, stop)
}

// serveMetrics serves /metrics alone on BARRAGE_METRICS_PORT, so that a route to the
// role's own port, such as the HomePage's public one, does not carry it. It closes last,
// so the final counts can still be scraped while the role drains.
func (a *App) serveMetrics(host string, port int) (string, error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.metrics.Handler())
	return a.listen("metrics", host, port, "BARRAGE_METRICS_PORT", mux, phaseFlushTraces)
}

// listen serves mux on host:port, whose setting env names, until phase stop.
func (a *App) listen(name, host string, port int, env string, mux *http.ServeMux, stop phase) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return "", fmt.Errorf("app: %s: listen on port %d (%s): %w", name, port, env, err)
	}
	headerTimeout := 10 * time.Second
	if a.readTimeout > 0 {
		headerTimeout = min(headerTimeout, a.readTimeout)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: headerTimeout,
		// A request that trickles its body in holds a connection and a goroutine; none of
		// ours takes longer than this to arrive. Hijacked streams have their deadlines
		// cleared by net/http and only write.
		ReadTimeout:    a.readTimeout,
		MaxHeaderBytes: maxHeaderBytes,
		IdleTimeout:    2 * time.Minute,
		ConnContext:    live.WithConn,
		// No WriteTimeout: live streams write for hours; each stream sets its own deadlines.
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("server stopped", "server", name, "err", err)
		}
	}()
	a.log.Info("listening", "server", name, "addr", "http://"+ln.Addr().String())
	a.stopServer(name, srv, stop)
	return ln.Addr().String(), nil
}
