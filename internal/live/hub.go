// Package live schedules room feeds: each watched room shows what the processors' notices
// say was stored, at once, and reads the store by cursor to settle it, so the cost of a
// barrage is one encode per shard of viewers rather than one per viewer. A slow poll of
// the store is the safety net for a notice that never came. A crowded room's shards take
// turns through its tick, which spreads the writes and shortens the wait of the last. The
// connections themselves, their queues, replay and eviction are package stream's.
package live

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/barrage-live/barrage/internal/live/stream"
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
	PollInterval  time.Duration // how often a feed reads the store without a notice, the safety net; quiet rooms stretch it while notices arrive (5s)
	SettleDelay   time.Duration // how long after a write the store lets readers see it (0)
	BatchInterval time.Duration // the shortest gap between two batches of a room (20ms, growing with its viewers)
	TickPerViewer time.Duration // how much a room's gap grows with each viewer, up to 180ms (20µs)
	Heartbeat     time.Duration // comment sent to keep proxies from closing streams (15s)
	WriteTimeout  time.Duration // a viewer that cannot take a write this long is evicted (5s)
	BatchLimit    int           // most records in one event, live or replayed (500)
	ReplayLimit   int           // most records replayed to a viewer who resumes; beyond, a gap event (5000)
	ReplayRead    time.Duration // deadline of each store read of a replay (2s)
	QueueLen      int           // events a viewer may have waiting; one more evicts them (128)
	Linger        time.Duration // how long a feed outlives its last viewer (10s)
	MaxPerRoom    int           // viewers of one room on this server (20000)
	MaxRooms      int           // rooms this server keeps feeds for at once, lingering ones included (1000)
	ShardSize     int           // viewers per shard of a room; shards take turns (1000)
	SendBuffer    int           // kernel send buffer of a stream's socket, in bytes (64 KiB)
	Tracing       *telemetry.Tracing
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PollInterval, 5*time.Second)
	def(&o.BatchInterval, 20*time.Millisecond)
	def(&o.TickPerViewer, 20*time.Microsecond)
	def(&o.Heartbeat, 15*time.Second)
	def(&o.WriteTimeout, 5*time.Second)
	def(&o.Linger, 10*time.Second)
	if o.BatchLimit <= 0 {
		o.BatchLimit = 500
	}
	if o.ReplayLimit <= 0 {
		o.ReplayLimit = 5000
	}
	if o.MaxRooms <= 0 {
		o.MaxRooms = 1000
	}
	if o.MaxPerRoom <= 0 {
		o.MaxPerRoom = 20000
	}
	if o.ShardSize <= 0 {
		o.ShardSize = 1000
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
	Read      func(reason string)                                 // one store read: poll, notice, join or replay
	Unnoticed func(room string, n int)                            // records a store read found that no notice had shown
}

// ErrRoomFull is returned when a room has as many viewers as this server allows.
var ErrRoomFull = errors.New("live: room is full")

// ErrTooManyRooms is returned for a room without a feed when this server keeps as many
// feeds as it allows: a stranger opening streams to made-up rooms cannot make it poll
// without bound.
var ErrTooManyRooms = errors.New("live: too many rooms watched")

// Hub owns the feeds of every watched room.
type Hub struct {
	src   Source
	opts  Options
	log   *slog.Logger
	hooks Hooks
	sopts stream.Options
	pace  *pace

	mu     sync.Mutex
	feeds  map[string]*feed
	closed bool
}

// New returns a hub reading src.
func New(src Source, opts Options, log *slog.Logger, hooks Hooks) *Hub {
	opts.defaults()
	sopts := stream.Options{QueueLen: opts.QueueLen, WriteTimeout: opts.WriteTimeout, SendBuffer: opts.SendBuffer,
		ReplayLimit: opts.ReplayLimit, ReplayChunk: opts.BatchLimit, ReadTimeout: opts.ReplayRead}
	sopts.Defaults()
	return &Hub{src: src, opts: opts, log: log, hooks: hooks, sopts: sopts, pace: newPace(opts.PollInterval), feeds: map[string]*feed{}}
}

// Following tells the hub whether the notice topic is being read. Until it is, and while
// it is not, every room is polled at the poll interval; while it is, quiet rooms are
// polled less often, down to one read every quietPollGrowth intervals.
func (h *Hub) Following(up bool) { h.pace.following(up) }

// Rooms is how many rooms have a feed here now, lingering ones included.
func (h *Hub) Rooms() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.feeds)
}

// Notice hands room's feed, when this server has one, the records a write stored there,
// to show before the store lets readers see them. It never blocks: a feed whose notices
// pile up reads the store once they have settled instead.
func (h *Hub) Notice(room string, recs []store.Record) {
	h.mu.Lock()
	f := h.feeds[room]
	h.mu.Unlock()
	if f == nil || len(recs) == 0 {
		return
	}
	select {
	case f.notices <- recs:
	default:
		f.overflow.Store(true)
		f.poke()
	}
}

// Notify has room's feed read the store at once, as a notice lost in transit would have
// it do when it settles: for a writer that tells no one what it stored.
func (h *Hub) Notify(room string) {
	h.mu.Lock()
	f := h.feeds[room]
	h.mu.Unlock()
	if f != nil {
		f.poke()
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

// join registers a viewer on one of the room's shards, starting the room's feed when it
// has none.
func (h *Hub) join(ctx context.Context, room string) (*feed, *shard, error) {
	h.mu.Lock()
	f := h.feeds[room]
	if f != nil {
		defer h.mu.Unlock()
		if f.viewers >= h.opts.MaxPerRoom {
			return nil, nil, ErrRoomFull
		}
		return f, h.seat(f), nil
	}
	full := len(h.feeds) >= h.opts.MaxRooms // checked before the store read, so a storm of names costs none
	h.mu.Unlock()
	if full {
		return nil, nil, ErrTooManyRooms
	}

	// The feed starts at the room's head: viewers get what comes next, or replay by cursor.
	head := store.Cursor("")
	h.counted("join")
	latest, err := h.src.Latest(ctx, room, 1)
	if err != nil {
		return nil, nil, err
	}
	if len(latest) > 0 {
		head = latest[0].Cursor
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, errors.New("live: shutting down")
	}
	if f = h.feeds[room]; f == nil { // another viewer may have started it meanwhile
		if len(h.feeds) >= h.opts.MaxRooms {
			return nil, nil, ErrTooManyRooms
		}
		f = &feed{room: room, wake: make(chan struct{}, 1), stop: make(chan struct{}), notices: make(chan []store.Record, noticeQueue),
			removed: make(chan struct{}, 1)}
		f.read.Store(&head)
		h.feeds[room] = f
		go h.run(f)
	} else if f.viewers >= h.opts.MaxPerRoom {
		return nil, nil, ErrRoomFull
	}
	return f, h.seat(f), nil
}

// seat counts a viewer in and picks their shard: the first with room, else a new one,
// else the least crowded. h.mu is held.
func (h *Hub) seat(f *feed) *shard {
	f.viewers++
	f.watching.Store(int64(f.viewers))
	if f.linger != nil {
		f.linger.Stop()
		f.linger = nil
	}
	var least *shard
	for _, s := range f.shards {
		if int(s.watching.Load()) < h.opts.ShardSize {
			least = s
			break
		}
		if least == nil || s.watching.Load() < least.watching.Load() {
			least = s
		}
	}
	if (least == nil || int(least.watching.Load()) >= h.opts.ShardSize) && len(f.shards) < maxShards {
		// A new shard owes its viewers nothing read so far: new viewers start live, and
		// resuming ones replay from the store up to its cursor.
		least = &shard{group: stream.NewGroup(*f.read.Load())}
		f.shards = append(f.shards, least)
	}
	least.watching.Add(1)
	return least
}

// leave unregisters a viewer; the last one out stops the feed after the linger.
func (h *Hub) leave(f *feed, s *shard) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.watching.Add(-1)
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
		for _, s := range f.shards {
			s.group.Close()
		}
	}
}

// noticeQueue is how many notices a feed may have waiting; more are left to its store reads.
const noticeQueue = 64

func (h *Hub) counted(reason string) {
	if h.hooks.Read != nil {
		h.hooks.Read(reason)
	}
}

// replaySource counts the replay's store reads.
type replaySource struct{ h *Hub }

func (r replaySource) After(ctx context.Context, room string, after store.Cursor, limit int) ([]store.Record, error) {
	r.h.counted("replay")
	return r.h.src.After(ctx, room, after, limit)
}
