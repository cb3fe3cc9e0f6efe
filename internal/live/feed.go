package live

import (
	"context"
	"encoding/json"
	"sort"
	"sync/atomic"
	"time"

	"github.com/r3labs/sse/v2"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/barrage-live/barrage/internal/live/stream"
	"github.com/barrage-live/barrage/internal/store"
)

// feed is one watched room: its poller, its shards and what it has read.
type feed struct {
	room      string
	shards    []*shard                     // guarded by Hub.mu; only grows while the feed lives
	read      atomic.Pointer[store.Cursor] // the last record read from the store
	viewers   int                          // guarded by Hub.mu
	watching  atomic.Int64                 // viewers, readable without the lock
	wake      chan struct{}
	stop      chan struct{}
	linger    *time.Timer // guarded by Hub.mu
	accepted  atomic.Int64
	delivered atomic.Int64
}

// shard is a share of a room's viewers who get the same events. A crowded room's shards
// take turns: a batch goes out to one shard's viewers while the next gathers, so no viewer
// waits behind the writes of the whole room, and the writes spread over the tick.
type shard struct {
	group    *stream.Group // its viewers, and the last record published to them
	watching atomic.Int64  // changed under Hub.mu
	stats    *stream.Frame // a stats event waiting for its turn; the feed's goroutine only
}

func (s *shard) Cursor() store.Cursor { return s.group.Cursor() }

// maxShards bounds a room's shards: more viewers share them.
const maxShards = 32

// shardsOf is the room's shards now.
func (h *Hub) shardsOf(f *feed) []*shard {
	h.mu.Lock()
	defer h.mu.Unlock()
	return f.shards
}

// turns is the state of a feed's round of shards, kept by its goroutine.
type turns struct {
	pending []store.Record // read but not yet published to every shard, by cursor
	next    int            // whose turn it is
	idle    int            // turns in a row with nothing to publish
	last    time.Time
	active  bool
	stale   bool // the store may have more since the last read
}

// run polls the store for one room and publishes to its shards in turn until the feed stops.
func (h *Hub) run(f *feed) {
	poll := time.NewTicker(h.opts.PollInterval)
	defer poll.Stop()
	stats := time.NewTicker(time.Second)
	defer stats.Stop()
	beat := time.NewTicker(h.opts.Heartbeat)
	defer beat.Stop()
	turn := time.NewTimer(time.Hour)
	turn.Stop()
	defer turn.Stop()
	var t turns
	start := func() {
		t.stale = true
		if !t.active {
			// Let a burst gather: one event per short tick is what keeps fan-out cheap.
			t.active = true
			turn.Reset(max(0, h.turnGap(f)-time.Since(t.last)))
		}
	}
	for {
		select {
		case <-f.stop:
			return
		case <-poll.C:
			start()
		case <-f.wake:
			start()
		case <-stats.C:
			h.queueStats(f, t.active)
		case <-beat.C:
			for _, s := range h.shardsOf(f) {
				s.group.Publish(keepAlive)
			}
		case <-turn.C:
			t.last = time.Now()
			shards := h.shardsOf(f)
			if h.take(f, shards, &t) {
				t.idle = 0
			} else {
				t.idle++
			}
			// A whole round with nothing new: sleep until woken or polled.
			if t.idle >= len(shards) && !t.stale {
				t.active = false
				continue
			}
			turn.Reset(h.turnGap(f))
		}
	}
}

// batchInterval is the shortest gap between two events to one viewer. Every event costs one
// write per viewer, so a crowded room gathers longer: by default 20µs a viewer, up to 180ms
// from 9,000 viewers on.
func (h *Hub) batchInterval(f *feed) time.Duration {
	d := time.Duration(f.watching.Load()) * h.opts.TickPerViewer
	return min(max(d, h.opts.BatchInterval), maxBatchInterval)
}

// maxBatchInterval bounds the gather, which is also the larger part of a viewer's lag: it
// is chosen so 10,000 viewers on 2 cores see a p99 near 220ms (docs/benchmarks.md).
const maxBatchInterval = 180 * time.Millisecond

// turnGap is the time between two shards' turns: every shard gets one per batch interval.
func (h *Hub) turnGap(f *feed) time.Duration {
	return h.batchInterval(f) / time.Duration(max(1, len(h.shardsOf(f))))
}

// take is one turn: read what is new when the store may have more, then publish to the
// shard whose turn it is. It says whether there was anything to publish.
func (h *Hub) take(f *feed, shards []*shard, t *turns) bool {
	if t.stale {
		t.stale = h.readNew(f, t)
	}
	if len(shards) == 0 {
		return false
	}
	s := shards[t.next%len(shards)]
	t.next++
	if s.stats != nil {
		s.group.Publish(s.stats)
		s.stats = nil
	}
	from := sort.Search(len(t.pending), func(i int) bool { return t.pending[i].Cursor > s.Cursor() })
	owed := t.pending[from:]
	published := len(owed) > 0
	for len(owed) > 0 {
		n := min(len(owed), h.opts.BatchLimit)
		h.publish(f, s, owed[:n])
		owed = owed[n:]
	}
	// Drop what every shard has had.
	least := s.Cursor()
	for _, o := range shards {
		least = min(least, o.Cursor())
	}
	done := sort.Search(len(t.pending), func(i int) bool { return t.pending[i].Cursor > least })
	t.pending = t.pending[done:]
	return published
}

// readNew adds to pending what the store has after the feed's read cursor, up to the
// replay limit a turn, and says whether there may be more.
func (h *Hub) readNew(f *feed, t *turns) bool {
	for got := 0; got < h.opts.ReplayLimit; {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		recs, err := h.src.After(ctx, f.room, *f.read.Load(), h.opts.BatchLimit)
		cancel()
		if err != nil {
			h.log.Warn("feed read failed; next poll retries", "room", f.room, "err", err)
			return false
		}
		if len(recs) == 0 {
			return false
		}
		h.traceResult(f.room, recs)
		t.pending = append(t.pending, stream.Viewable(recs)...)
		f.read.Store(&recs[len(recs)-1].Cursor)
		f.delivered.Add(int64(len(recs)))
		got += len(recs)
		if len(recs) < h.opts.BatchLimit {
			return false
		}
	}
	return true
}

// publish sends recs to one shard as one event, encoded once for all its viewers. The
// shard's cursor moves with it in one step: a viewer joining meanwhile gets the event
// either live or from replay up to that cursor, never both.
func (h *Hub) publish(f *feed, s *shard, recs []store.Record) {
	fr, err := stream.Batch(recs)
	if err != nil {
		h.log.Error("encode batch", "room", f.room, "err", err)
		return
	}
	viewers := s.group.Publish(fr)
	if h.hooks.Published != nil {
		h.hooks.Published(f.room, recs, viewers)
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
	eventStats = []byte("stats")
	keepAlive  = stream.Encode(&sse.Event{Comment: []byte("keep-alive")})
)

// Stats is the once-a-second summary a room's viewers get.
type Stats struct {
	Accepted  int64 `json:"accepted"`  // barrages accepted for the room in the last second here
	Delivered int64 `json:"delivered"` // barrages published to the room in the last second
	Viewers   int   `json:"viewers"`
}

// queueStats takes the room's figures for the second. A busy room's shards get them at
// their turns, spread like the barrages; an idle room's get them now.
func (h *Hub) queueStats(f *feed, busy bool) {
	s := Stats{Accepted: f.accepted.Swap(0), Delivered: f.delivered.Swap(0), Viewers: int(f.watching.Load())}
	data, _ := json.Marshal(s)
	// Each viewer gets it with their own cursor as its id: a viewer still in their replay
	// must not be given a Last-Event-ID past what they have.
	fr := stream.EncodeTagged(&sse.Event{Event: eventStats, Data: data})
	for _, sh := range h.shardsOf(f) {
		if busy {
			sh.stats = fr
			continue
		}
		sh.group.Publish(fr)
	}
}
