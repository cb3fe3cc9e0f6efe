package live

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"sync"
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
	read      atomic.Pointer[store.Cursor] // the last record read from the store: the settled cursor
	viewers   int                          // guarded by Hub.mu
	watching  atomic.Int64                 // viewers, readable without the lock
	wake      chan struct{}
	notices   chan []store.Record
	removed   chan struct{} // toRemove has ids an operator deleted, to show no one from now on
	removeMu  sync.Mutex
	toRemove  []string    // guarded by removeMu
	overflow  atomic.Bool // a notice found the queue full: read the store once it settles
	stop      chan struct{}
	linger    *time.Timer // guarded by Hub.mu
	accepted  atomic.Int64
	delivered atomic.Int64
}

func (f *feed) poke() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// shard is a share of a room's viewers who get the same events. A crowded room's shards
// take turns: a batch goes out to one shard's viewers while the next gathers, so no viewer
// waits behind the writes of the whole room, and the writes spread over the tick.
type shard struct {
	group    *stream.Group // its viewers, and what has been published to them
	watching atomic.Int64  // changed under Hub.mu
	stats    *stream.Frame // a stats event waiting for its turn; the feed's goroutine only
}

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
	ahead   []early        // shown from notices above the settled cursor, by cursor
	held    []early        // announced but not shown, past what a position holds: by cursor, no record
	next    int            // whose turn it is
	idle    int            // turns in a row with nothing to publish
	last    time.Time
	active  bool
	stale   bool   // the store may have more since the last read
	reason  string // why it is read next: poll or notice
	settle  *time.Timer
	armed   bool
}

// early is a record shown from a notice before the store let readers see it.
type early struct {
	rec  store.Record
	at   time.Time // when its notice came
	gone bool      // deleted: its cursor stays in positions, its record is given to no one
}

// Timing of the reads that settle what was shown early.
const (
	settleMargin = 50 * time.Millisecond  // after the store's settle delay, so one read finds the rows
	settleRetry  = 250 * time.Millisecond // between reads while a row shown early is still not readable
	// aheadTTL is how long a record shown early may wait for the store to confirm it. One
	// that never settles (its writer lied, or the row was moved) is dropped from what
	// viewers are said to have, so it cannot hold the room's early display for ever.
	aheadTTL = 30 * time.Second
)

func (t *turns) arm(d time.Duration) {
	if !t.armed {
		t.armed = true
		t.settle.Reset(max(d, 0))
	}
}

// run shows a room's notices, reads the store when they settle or the safety poll is due,
// and publishes to its shards in turn until the feed stops. The poll backs off while the
// room is quiet and its notices arrive (pace).
func (h *Hub) run(f *feed) {
	every := h.opts.PollInterval
	poll := time.NewTimer(jitter(every))
	defer poll.Stop()
	stats := time.NewTicker(time.Second)
	defer stats.Stop()
	beat := time.NewTicker(h.opts.Heartbeat)
	defer beat.Stop()
	turn := time.NewTimer(time.Hour)
	turn.Stop()
	defer turn.Stop()
	t := turns{settle: time.NewTimer(time.Hour)}
	t.settle.Stop()
	defer t.settle.Stop()
	start := func(read bool, reason string) {
		if read && !t.stale {
			t.stale, t.reason = true, reason
		}
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
			every = h.pace.next(every)
			poll.Reset(jitter(every))
			start(true, "poll")
		case <-h.pace.hurried():
			if every > h.opts.PollInterval {
				every = h.opts.PollInterval
				poll.Reset(jitter(every))
			}
		case recs := <-f.notices:
			took, held := h.showEarly(f, &t, recs)
			if took {
				start(false, "")
			}
			if took || held {
				t.arm(h.opts.SettleDelay + settleMargin)
			}
		case <-t.settle.C:
			t.armed = false
			start(true, "notice")
		case <-f.wake:
			if f.overflow.Swap(false) {
				t.arm(h.opts.SettleDelay + settleMargin)
				continue
			}
			start(true, "notice")
		case <-f.removed:
			h.remove(f, &t)
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

// showEarly takes the records of a notice that are neither settled nor shown yet, up to
// what a position holds past its cursor; the rest wait for the store. It says whether it
// took any, and whether any it left wait for the store.
func (h *Hub) showEarly(f *feed, t *turns, recs []store.Record) (took, held bool) {
	settled := *f.read.Load()
	now := time.Now()
	var shown []store.Record
	for _, r := range recs {
		i, found := slices.BinarySearchFunc(t.ahead, r.Cursor, byCursor)
		switch {
		case r.Cursor <= settled || found: // a repeat, or late: the store has it shown
		case len(t.ahead) >= stream.MaxAhead:
			held = true
			if j, dup := slices.BinarySearchFunc(t.held, r.Cursor, byCursor); !dup && len(t.held) < maxHeld {
				t.held = slices.Insert(t.held, j, early{rec: store.Record{Cursor: r.Cursor}, at: now})
			}
		default:
			t.ahead = slices.Insert(t.ahead, i, early{rec: r, at: now})
			shown = append(shown, r)
		}
	}
	if len(shown) == 0 {
		return false, held
	}
	h.traceResult(f.room, shown)
	f.delivered.Add(int64(len(shown)))
	return true, held
}

// maxHeld bounds what a feed remembers of rows a notice announced but it could not show
// early; past it, such a row counts as lost when a read finds it.
const maxHeld = 1024

func byCursor(e early, c store.Cursor) int { return strings.Compare(string(e.rec.Cursor), string(c)) }

// position is where a shard is once it has everything the feed has: the settled cursor,
// and what was shown early past it, with those records.
func (t *turns) position(settled store.Cursor) (stream.Position, []store.Record) {
	p := stream.Position{Cursor: settled}
	if len(t.ahead) == 0 {
		return p, nil
	}
	recs := make([]store.Record, 0, len(t.ahead))
	p.Ahead = make([]store.Cursor, len(t.ahead))
	for i, e := range t.ahead {
		p.Ahead[i] = e.rec.Cursor
		if !e.gone {
			recs = append(recs, e.rec)
		}
	}
	return p, recs
}

// drop keeps deleted records from shards that have not had them yet. Published frames
// share pending's array, so it is copied, not changed in place.
func (t *turns) drop(ids []string) {
	for i := range t.ahead {
		if slices.Contains(ids, t.ahead[i].rec.ID) {
			t.ahead[i].gone = true
		}
	}
	if slices.ContainsFunc(t.pending, func(r store.Record) bool { return slices.Contains(ids, r.ID) }) {
		t.pending = slices.DeleteFunc(slices.Clone(t.pending), func(r store.Record) bool { return slices.Contains(ids, r.ID) })
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
// shard whose turn it is what it lacks. It says whether there was anything to publish.
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
	have, haveAhead := s.group.State()
	from := sort.Search(len(t.pending), func(i int) bool { return t.pending[i].Cursor > have.Cursor })
	owed := have.Missing(t.pending[from:])
	target, aheadRecs := t.position(*f.read.Load())
	owedAhead := have.Missing(aheadRecs)
	published := len(owed)+len(owedAhead) > 0
	// Settled records first, a batch at a time, each leaving the shard at its last cursor
	// and still holding what it was shown early past it; then the rest with what is early.
	for len(owed) > h.opts.BatchLimit {
		chunk := owed[:h.opts.BatchLimit]
		at := have.Join(stream.Position{Cursor: chunk[len(chunk)-1].Cursor})
		h.publish(f, s, chunk, at, still(haveAhead, at))
		owed = owed[h.opts.BatchLimit:]
	}
	switch {
	case published:
		h.publish(f, s, append(slices.Clip(owed), owedAhead...), target, aheadRecs)
	case !have.Equal(target):
		// What was shown early has settled: shorter ids, before the next barrage comes.
		s.group.Publish(stream.Moved(target, aheadRecs))
	}
	// Drop what every shard has had.
	least := s.group.Cursor()
	for _, o := range shards {
		least = min(least, o.group.Cursor())
	}
	done := sort.Search(len(t.pending), func(i int) bool { return t.pending[i].Cursor > least })
	t.pending = t.pending[done:]
	return published
}

// still is the records of recs that pos holds ahead.
func still(recs []store.Record, pos stream.Position) []store.Record {
	var out []store.Record
	for _, r := range recs {
		if r.Cursor > pos.Cursor {
			out = append(out, r)
		}
	}
	return out
}

// readNew adds to pending what the store has after the feed's read cursor, up to the
// replay limit a turn, and says whether there may be more. What it finds that was shown
// early is settled; what it finds that was not, no notice had shown.
func (h *Hub) readNew(f *feed, t *turns) bool {
	defer h.rearm(t)
	for got := 0; got < h.opts.ReplayLimit; {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		h.counted(t.reason)
		recs, err := h.src.After(ctx, f.room, *f.read.Load(), h.opts.BatchLimit)
		cancel()
		if err != nil {
			h.log.Warn("feed read failed; next poll retries", "room", f.room, "err", err)
			return false
		}
		if len(recs) == 0 {
			return false
		}
		var fresh []store.Record // not shown early: shown now
		lost := 0
		for _, r := range recs {
			if i, found := slices.BinarySearchFunc(t.ahead, r.Cursor, byCursor); found {
				t.ahead = slices.Delete(t.ahead, i, i+1)
				continue
			}
			fresh = append(fresh, r)
			if i, found := slices.BinarySearchFunc(t.held, r.Cursor, byCursor); found {
				t.held = slices.Delete(t.held, i, i+1)
			} else {
				lost++
			}
		}
		h.traceResult(f.room, fresh)
		if lost > 0 {
			h.pace.wake()
			if h.hooks.Unnoticed != nil {
				h.hooks.Unnoticed(f.room, lost)
			}
		}
		t.pending = append(t.pending, recs...)
		settled := recs[len(recs)-1].Cursor
		f.read.Store(&settled)
		// Shown early but passed without being found: the row moved, or was never there.
		n := sort.Search(len(t.ahead), func(i int) bool { return t.ahead[i].rec.Cursor > settled })
		t.ahead = t.ahead[n:]
		n = sort.Search(len(t.held), func(i int) bool { return t.held[i].rec.Cursor > settled })
		t.held = t.held[n:]
		f.delivered.Add(int64(len(fresh)))
		got += len(recs)
		if len(recs) < h.opts.BatchLimit {
			return false
		}
	}
	return true
}

// rearm schedules the next read while rows announced by notices, shown early or held,
// wait to settle, and gives up on those that waited too long.
func (h *Hub) rearm(t *turns) {
	now := time.Now()
	stale := func(e early) bool { return now.Sub(e.at) > aheadTTL }
	t.ahead = slices.DeleteFunc(t.ahead, stale)
	t.held = slices.DeleteFunc(t.held, stale)
	if len(t.ahead) == 0 && len(t.held) == 0 {
		return
	}
	var oldest time.Time
	for _, list := range [][]early{t.ahead, t.held} {
		for _, e := range list {
			if oldest.IsZero() || e.at.Before(oldest) {
				oldest = e.at
			}
		}
	}
	t.arm(max(time.Until(oldest.Add(h.opts.SettleDelay+settleMargin)), settleRetry))
}

// publish sends recs to one shard as one event, encoded once for all its viewers, which
// leaves the shard at pos. The shard's position moves with it in one step: a viewer
// joining meanwhile gets the event either live or from replay up to that position, never
// both.
func (h *Hub) publish(f *feed, s *shard, recs []store.Record, pos stream.Position, ahead []store.Record) {
	fr, err := stream.Step(recs, pos, ahead)
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
