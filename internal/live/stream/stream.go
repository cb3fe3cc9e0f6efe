// Package stream is the transport of a room's live feed: it takes over a viewer's
// connection, writes their replay from the store and then the room's events, and evicts
// a viewer who falls behind. Publishing never waits on a viewer: each has a bounded queue
// of frames, encoded once and shared by every viewer they go to, and a writer of their own.
//
// r3labs/sse is the SSE library of the project, but its stream loop (Stream.run) sends each
// event into every subscriber's channel in turn and blocks on a full one, so one viewer
// who stops reading holds up every other. This package is the one seam around it: rooms
// publish the library's sse.Event, and the fan-out, the queues and the writes are ours.
package stream

import (
	"context"
	"time"

	"github.com/barrage-live/barrage/internal/store"
)

// Source is what a replay reads: records after a cursor, oldest first.
type Source interface {
	After(ctx context.Context, room string, after store.Cursor, limit int) ([]store.Record, error)
}

// Options tune the transport. Zero values take the defaults noted.
type Options struct {
	QueueLen     int           // frames a viewer may have waiting; one more evicts them (128)
	WriteTimeout time.Duration // a write blocked this long evicts the viewer (5s)
	SendBuffer   int           // kernel send buffer of a stream's socket, in bytes (64 KiB)
	ReplayLimit  int           // most records replayed to a viewer who resumes; beyond it a gap event (5000)
	ReplayChunk  int           // records per replayed event, each written at once (500)
	ReadTimeout  time.Duration // deadline of each store read of a replay (2s)
}

// Defaults fills in the zero values.
func (o *Options) Defaults() {
	if o.QueueLen <= 0 {
		o.QueueLen = 128
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.SendBuffer <= 0 {
		o.SendBuffer = 64 << 10
	}
	if o.ReplayLimit <= 0 {
		o.ReplayLimit = 5000
	}
	if o.ReplayChunk <= 0 {
		o.ReplayChunk = 500
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 2 * time.Second
	}
}
