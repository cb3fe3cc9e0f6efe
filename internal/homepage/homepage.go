// Package homepage is the HomePage of the seed: the room pages, the send API that hands
// barrages to Kafka, history, and each room's live SSE stream.
package homepage

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/kafka"
	"github.com/barrage-live/barrage/internal/live"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/telemetry"
	"github.com/barrage-live/barrage/views"
)

// Producer hands an accepted barrage to Kafka and returns once Kafka has it, or with an
// error once it has waited too long (kafka.MaxWait).
type Producer interface {
	Produce(ctx context.Context, b barrage.Barrage, extra ...kafka.Header) error
}

// History is the part of the store the HomePage reads.
type History interface {
	After(ctx context.Context, room string, after store.Cursor, limit int) ([]store.Record, error)
	Latest(ctx context.Context, room string, n int) ([]store.Record, error)
}

// Hooks let callers count what happens; any may be nil.
type Hooks struct {
	Accepted      func(b barrage.Barrage)
	Rejected      func(reason string)
	ProduceFailed func(err error)
}

// Options configure the HomePage.
type Options struct {
	LoadSender     views.LoadSenderSettings
	AllowedOrigins []string // extra origins allowed to send, beyond the page's own
	RecentOnJoin   int      // barrages shown in a room's history when the page opens
	Limits         Limits
	Tracing        *telemetry.Tracing
	Version        string
}

// Server serves the HomePage.
type Server struct {
	producer Producer
	history  History
	hub      *live.Hub
	opts     Options
	log      *slog.Logger
	hooks    Hooks
	clients  *clients
	now      func() time.Time
	mod      *Moderation // nil: no moderation
	slow     *slowMode
}

// New returns a HomePage server.
func New(p Producer, h History, hub *live.Hub, opts Options, log *slog.Logger, hooks Hooks) *Server {
	if opts.RecentOnJoin <= 0 {
		opts.RecentOnJoin = 50
	}
	if opts.Tracing == nil {
		opts.Tracing, _ = telemetry.NewTracing(context.Background(), telemetry.TracingOptions{Names: telemetry.NamesFrom(nil)})
	}
	return &Server{producer: p, history: h, hub: hub, opts: opts, log: log, hooks: hooks, clients: newClients(opts.Limits, time.Now), now: time.Now}
}

// Handler returns every route of the HomePage; extra lets other parts (the load sender)
// add theirs to the same mux before the security wrapping.
func (s *Server) Handler(static http.Handler, extra ...func(*http.ServeMux)) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.showRoom)
	mux.HandleFunc("GET /rooms/{room}", s.showRoom)
	mux.HandleFunc("GET /rooms/{room}/overlay", s.showOverlay)
	mux.HandleFunc("POST /api/rooms/{room}/barrages", s.sendBarrage)
	mux.HandleFunc("GET /api/rooms/{room}/barrages", s.listBarrages)
	mux.HandleFunc("GET /api/rooms/{room}/stream", s.streamRoom)
	mux.Handle("GET /static/", http.StripPrefix("/static/", static))
	s.moderationRoutes(mux)
	for _, add := range extra {
		add(mux)
	}
	return s.secure(mux)
}

func (s *Server) tracer() trace.Tracer {
	return s.opts.Tracing.Provider.Tracer(s.opts.Tracing.Names.SenderTracer)
}
