// Package live turns the store into live room feeds: one poller per watched room reads new
// records by cursor and publishes them as one batched SSE event to every viewer, so the
// cost of a barrage is one encode per room rather than one per viewer.
package live

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/r3labs/sse/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/telemetry"
)

// Source is what a feed reads: the store, or anything that keeps its cursor contract.
type Source interface {
	After(ctx context.Context, room string, after store.Cursor, limit int) ([]store.Record, error)
	Latest(ctx context.Context, room string, n int) ([]store.Record, error)
}

// Options tune the feeds. Zero values take the defaults noted.
type Options struct {
	PollInterval  time.Duration // how often an idle feed reads the store (250ms)
	BatchInterval time.Duration // the shortest gap between two batches of a room (20ms, growing with its viewers)
	Heartbeat     time.Duration // comment sent to keep proxies from closing streams (15s)
	WriteTimeout  time.Duration // a viewer that cannot take a write this long is evicted (5s)
	BatchLimit    int           // most records in one event (500)
	ReplayLimit   int           // most records replayed to a viewer who resumes (5000)
	Linger        time.Duration // how long a feed outlives its last viewer (10s)
	MaxPerRoom    int           // viewers of one room on this server (20000)
	SendBuffer    int           // kernel send buffer of a stream's socket, in bytes (64 KiB)
	Tracing       *telemetry.Tracing
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PollInterval, 250*time.Millisecond)
	def(&o.BatchInterval, 20*time.Millisecond)
	def(&o.Heartbeat, 15*time.Second)
	def(&o.WriteTimeout, 5*time.Second)
	def(&o.Linger, 10*time.Second)
	if o.BatchLimit <= 0 {
		o.BatchLimit = 500
	}
	if o.ReplayLimit <= 0 {
		o.ReplayLimit = 5000
	}
	if o.MaxPerRoom <= 0 {
		o.MaxPerRoom = 20000
	}
	if o.SendBuffer <= 0 {
		o.SendBuffer = 64 << 10
	}
	if o.Tracing == nil {
		o.Tracing, _ = telemetry.NewTracing(context.Background(), telemetry.TracingOptions{Names: telemetry.NamesFrom(nil)})
	}
}

// Hooks let callers count what happens; any may be nil.
type Hooks struct {
	Published func(room string, recs []store.Record, viewers int) // a batch went out to the room's viewers
	Connected func(room string, delta int)                        // a viewer joined (+1) or left (-1)
	Evicted   func(room string)                                   // a viewer too slow to keep up was cut off
}

// ErrRoomFull is returned when a room has as many viewers as this server allows.
var ErrRoomFull = errors.New("live: room is full")

// Hub owns the feeds of every watched room.
type Hub struct {
	src   Source
	opts  Options
	log   *slog.Logger
	hooks Hooks
	sse   *sse.Server

	mu     sync.Mutex
	feeds  map[string]*feed
	closed bool
}

// New returns a hub reading src.
func New(src Source, opts Options, log *slog.Logger, hooks Hooks) *Hub {
	opts.defaults()
	s := sse.New()
	s.AutoReplay = false // replay comes from the store, by cursor; the library's log grows without bound
	s.AutoStream = false // feeds create and remove their streams
	s.BufferSize = 64
	s.Headers = map[string]string{"X-Accel-Buffering": "no", "Cache-Control": "no-cache, no-transform"}
	return &Hub{src: src, opts: opts, log: log, hooks: hooks, sse: s, feeds: map[string]*feed{}}
}

// feed is one watched room: its poller, its published cursor and its viewers.
type feed struct {
	room      string
	cursor    atomic.Pointer[store.Cursor] // the last cursor published
	viewers   int                          // guarded by Hub.mu
	watching  atomic.Int64                 // viewers, readable without the lock
	wake      chan struct{}
	stop      chan struct{}
	linger    *time.Timer // guarded by Hub.mu
	accepted  atomic.Int64
	delivered atomic.Int64
}

func (f *feed) Cursor() store.Cursor { return *f.cursor.Load() }

// Notify wakes room's feed at once, when there is one: the processor in the same process
// calls it after a write, so dev mode does not wait for the next poll.
func (h *Hub) Notify(room string) {
	h.mu.Lock()
	f := h.feeds[room]
	h.mu.Unlock()
	if f != nil {
		select {
		case f.wake <- struct{}{}:
		default:
		}
	}
}

// CountAccepted adds n to the room's accepted counter shown in its stats events.
func (h *Hub) CountAccepted(room string, n int) {
	h.mu.Lock()
	f := h.feeds[room]
	h.mu.Unlock()
	if f != nil {
		f.accepted.Add(int64(n))
	}
}

// join registers a viewer, starting the room's feed when it has none.
func (h *Hub) join(ctx context.Context, room string) (*feed, error) {
	h.mu.Lock()
	f := h.feeds[room]
	if f != nil {
		defer h.mu.Unlock()
		if f.viewers >= h.opts.MaxPerRoom {
			return nil, ErrRoomFull
		}
		f.viewers++
		f.watching.Store(int64(f.viewers))
		if f.linger != nil {
			f.linger.Stop()
			f.linger = nil
		}
		return f, nil
	}
	h.mu.Unlock()

	// The feed starts at the room's head: viewers get what comes next, or replay by cursor.
	head := store.Cursor("")
	latest, err := h.src.Latest(ctx, room, 1)
	if err != nil {
		return nil, err
	}
	if len(latest) > 0 {
		head = latest[0].Cursor
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errors.New("live: shutting down")
	}
	if f = h.feeds[room]; f == nil { // another viewer may have started it meanwhile
		f = &feed{room: room, wake: make(chan struct{}, 1), stop: make(chan struct{})}
		f.cursor.Store(&head)
		h.feeds[room] = f
		h.sse.CreateStream(room)
		go h.run(f)
	}
	f.viewers++
	f.watching.Store(int64(f.viewers))
	return f, nil
}

// leave unregisters a viewer; the last one out stops the feed after the linger.
func (h *Hub) leave(f *feed) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f.viewers--
	f.watching.Store(int64(f.viewers))
	if f.viewers > 0 || h.closed {
		return
	}
	f.linger = time.AfterFunc(h.opts.Linger, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if f.viewers == 0 && h.feeds[f.room] == f {
			delete(h.feeds, f.room)
			close(f.stop)
			h.sse.RemoveStream(f.room)
		}
	})
}

// Close stops every feed and ends every stream, so viewers reconnect elsewhere.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for room, f := range h.feeds {
		close(f.stop)
		delete(h.feeds, room)
	}
	h.sse.Close()
}

// run polls the store for one room until the feed stops.
func (h *Hub) run(f *feed) {
	poll := time.NewTicker(h.opts.PollInterval)
	defer poll.Stop()
	stats := time.NewTicker(time.Second)
	defer stats.Stop()
	beat := time.NewTicker(h.opts.Heartbeat)
	defer beat.Stop()
	var last time.Time
	for {
		select {
		case <-f.stop:
			return
		case <-poll.C:
		case <-f.wake:
			// Let a burst gather: one event per short tick is what keeps fan-out cheap.
			if wait := h.batchInterval(f) - time.Since(last); wait > 0 {
				select {
				case <-time.After(wait):
				case <-f.stop:
					return
				}
			}
		case <-stats.C:
			h.publishStats(f)
			continue
		case <-beat.C:
			h.sse.Publish(f.room, &sse.Event{Comment: []byte("keep-alive")})
			continue
		}
		last = time.Now()
		h.poll(f)
	}
}

// batchInterval is the shortest gap between two events of f. Every event costs one write
// per viewer, so a crowded room gathers longer: 20µs a viewer, up to 200ms at 10,000.
func (h *Hub) batchInterval(f *feed) time.Duration {
	d := time.Duration(f.watching.Load()) * 20 * time.Microsecond
	return min(max(d, h.opts.BatchInterval), maxBatchInterval)
}

const maxBatchInterval = 200 * time.Millisecond

// poll publishes everything new in the room, a batch at a time.
func (h *Hub) poll(f *feed) {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		recs, err := h.src.After(ctx, f.room, f.Cursor(), h.opts.BatchLimit)
		cancel()
		if err != nil {
			h.log.Warn("feed read failed; next poll retries", "room", f.room, "err", err)
			return
		}
		if len(recs) == 0 {
			return
		}
		h.publish(f, recs)
		if len(recs) < h.opts.BatchLimit {
			return
		}
	}
}

func (h *Hub) publish(f *feed, recs []store.Record) {
	h.traceResult(f.room, recs)
	data, err := json.Marshal(viewable(recs))
	if err != nil {
		h.log.Error("encode batch", "room", f.room, "err", err)
		return
	}
	c := recs[len(recs)-1].Cursor
	// The cursor moves before the event is queued: a viewer joining now either gets the
	// event from the stream or from replay up to this cursor, and the writer drops the other.
	f.cursor.Store(&c)
	f.delivered.Add(int64(len(recs)))
	h.sse.Publish(f.room, &sse.Event{ID: []byte(c), Event: eventBarrage, Data: data})
	if h.hooks.Published != nil {
		h.hooks.Published(f.room, recs, int(f.watching.Load()))
	}
}

// maxLinks bounds the links of one result span; a batch beyond it links its first ones.
const maxLinks = 128

// traceResult records the publication of a batch as one span linked to the trace of
// each barrage in it, so a barrage's trace reaches the screen.
func (h *Hub) traceResult(room string, recs []store.Record) {
	t := h.opts.Tracing
	var links []trace.Link
	for _, r := range recs {
		if len(links) == maxLinks {
			break
		}
		if sc := t.SpanContextOf(r.TraceParent); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	if len(links) == 0 {
		return
	}
	_, span := t.Provider.Tracer(t.Names.ResultTracer).Start(context.Background(), t.Names.Result,
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithLinks(links...),
		trace.WithAttributes(attribute.String("barrage.room", room), attribute.Int("barrage.batch", len(recs))))
	span.End()
}

var (
	eventBarrage = []byte("barrage")
	eventStats   = []byte("stats")
)

// Stats is the once-a-second summary a room's viewers get.
type Stats struct {
	Accepted  int64 `json:"accepted"`  // barrages accepted for the room in the last second here
	Delivered int64 `json:"delivered"` // barrages published to the room in the last second
	Viewers   int   `json:"viewers"`
}

func (h *Hub) publishStats(f *feed) {
	s := Stats{Accepted: f.accepted.Swap(0), Delivered: f.delivered.Swap(0), Viewers: int(f.watching.Load())}
	data, _ := json.Marshal(s)
	c := f.Cursor()
	h.sse.Publish(f.room, &sse.Event{ID: []byte(c), Event: eventStats, Data: data})
}

// viewable drops what viewers need not carry: the trace context is for the operators' view.
func viewable(recs []store.Record) []store.Record {
	for i := range recs {
		recs[i].TraceParent = ""
	}
	return recs
}
