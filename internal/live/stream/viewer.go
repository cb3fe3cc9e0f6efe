package stream

import (
	"errors"
	"os"
	"sync"
	"time"
)

// Why a viewer's stream ended.
const (
	endNone    = iota
	endFull    // their queue overflowed: evicted
	endTimeout // a write blocked for the whole write timeout: evicted
	endGone    // a write failed: they left
	endClosed  // the room or the server closed the stream
)

// Viewer is one viewer's stream: a bounded queue of frames and the writer that drains it.
// Publishers only ever append to the queue, so a viewer who stops reading costs the room
// nothing but the frames they hold, until their queue overflows and they are evicted.
type Viewer struct {
	opts    *Options
	sink    sink
	onEvict func() // counts an eviction; called at most once

	mu     sync.Mutex
	queue  []*Frame
	spare  []*Frame // the writer's last batch, reused so an idle viewer allocates nothing
	ended  int      // why the stream ended, or endNone
	wake   chan struct{}
	slot   int  // index in Group.viewers; guarded by Group.mu
	joined bool // guarded by Group.mu

	// The writer's own state.
	pos      Position // what they have been written, or said they had
	synced   bool     // pos is the group's after batch number at, so its frames apply as they are
	at       uint64
	deadline time.Time
	clean    bool // the stream ends on an event boundary, so one more event can follow
}

func newViewer(opts *Options, s sink, onEvict func()) *Viewer {
	return &Viewer{opts: opts, sink: s, onEvict: onEvict, wake: make(chan struct{}, 1), clean: true}
}

// offer queues f, or evicts the viewer when their queue is full. It never blocks on the
// viewer's connection.
func (v *Viewer) offer(f *Frame) (queued bool) {
	v.mu.Lock()
	if v.ended != endNone {
		v.mu.Unlock()
		return false
	}
	if len(v.queue) >= v.opts.QueueLen {
		v.mu.Unlock()
		v.end(endFull)
		return false
	}
	v.queue = append(v.queue, f)
	v.mu.Unlock()
	select {
	case v.wake <- struct{}{}:
	default:
	}
	return true
}

// end stops the stream for why, once: a write in progress is cut short at once, and the
// writer drops what is queued.
func (v *Viewer) end(why int) {
	v.mu.Lock()
	if v.ended != endNone {
		v.mu.Unlock()
		return
	}
	v.ended = why
	v.queue = nil
	v.mu.Unlock()
	// The writer checks ended after setting its own deadline, so this one always wins.
	_ = v.sink.SetWriteDeadline(time.Unix(1, 0))
	select {
	case v.wake <- struct{}{}:
	default:
	}
	if (why == endFull || why == endTimeout) && v.onEvict != nil {
		v.onEvict()
	}
}

// next waits for queued frames and takes them, or says the stream has ended.
func (v *Viewer) next() ([]*Frame, bool) {
	for {
		v.mu.Lock()
		if v.ended != endNone {
			v.mu.Unlock()
			return nil, false
		}
		if len(v.queue) > 0 {
			batch := v.queue
			v.queue, v.spare = v.spare[:0], nil
			v.mu.Unlock()
			return batch, true
		}
		v.mu.Unlock()
		<-v.wake
	}
}

// recycle gives the writer's batch back for the next one.
func (v *Viewer) recycle(batch []*Frame) {
	clear(batch)
	v.mu.Lock()
	if v.spare == nil && cap(batch) <= 16 { // a burst's slice goes to the collector, not kept while idle
		v.spare = batch[:0]
	}
	v.mu.Unlock()
}

// drain writes queued frames as they come, in one write per batch, until the stream ends.
func (v *Viewer) drain() {
	for {
		batch, ok := v.next()
		if !ok {
			return
		}
		buf, st := getBuffer(), v.state()
		for _, f := range batch {
			*buf = st.appendFrame(*buf, f)
		}
		v.recycle(batch)
		err := v.write(*buf)
		putBuffer(buf)
		if err != nil {
			return
		}
		v.pos, v.synced, v.at = st.pos, st.synced, st.at // only once written
	}
}

// viewerState is where a viewer is, as the writer moves it frame by frame.
type viewerState struct {
	pos    Position
	synced bool
	at     uint64
}

func (v *Viewer) state() viewerState { return viewerState{v.pos, v.synced, v.at} }

// appendFrame adds f to b, leaving out what the viewer has already (the replay covered it,
// or their Last-Event-ID said they had it), and moves the state past it. A viewer in step
// with their group takes the frame as it is; one who is not is given what they miss under
// an id of their own, until they are in step again.
func (st *viewerState) appendFrame(b []byte, f *Frame) []byte {
	switch {
	case f.recs != nil:
		if st.synced && st.at+1 == f.n {
			st.pos, st.at = f.pos, f.n
			return append(append(b, f.head...), f.wire...)
		}
		missing := st.pos.Missing(f.recs)
		next := st.pos.Join(f.pos)
		st.pos, st.at, st.synced = next, f.n, next.Equal(f.pos)
		if len(missing) == 0 {
			return b
		}
		wire := f.wire
		if len(missing) < len(f.recs) {
			own, err := body(missing)
			if err != nil {
				return b
			}
			wire = own.wire
		}
		if st.synced {
			b = append(b, f.head...)
		} else {
			b = idLine(b, next)
		}
		return append(b, wire...)
	case f.tagged && (st.pos.Cursor != "" || len(st.pos.Ahead) > 0):
		b = idLine(b, st.pos)
	}
	return append(b, f.wire...)
}

// write sends p in one write under the write timeout. A write that fails ends the stream.
func (v *Viewer) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	now := time.Now()
	// Move the deadline only when half of it is used, which keeps the cost off the fan-out path.
	if v.deadline.Sub(now) <= v.opts.WriteTimeout/2 {
		v.deadline = now.Add(v.opts.WriteTimeout)
		_ = v.sink.SetWriteDeadline(v.deadline)
	}
	v.mu.Lock()
	ended := v.ended
	v.mu.Unlock()
	if ended != endNone {
		return errEnded
	}
	n, err := v.sink.Write(p)
	if err == nil {
		return nil
	}
	v.clean = n == 0
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		v.end(endTimeout) // a no-op when the deadline was end's own
	default:
		v.end(endGone)
	}
	return err
}

var errEnded = errors.New("stream: ended")

// farewell tells an evicted viewer, when it costs no wait, how to come back: their
// EventSource reconnects by itself with its Last-Event-ID, which is the last event they
// got whole, so they resume with nothing missed.
func (v *Viewer) farewell() {
	v.mu.Lock()
	why := v.ended
	v.mu.Unlock()
	if why != endFull || !v.clean {
		return
	}
	f := Encode(evictedEvent(v.pos.ID()))
	_ = v.sink.SetWriteDeadline(time.Now().Add(farewellWait))
	_, _ = v.sink.Write(f.wire)
}

// farewellWait is how long the farewell may wait for room in the socket: long enough for
// a socket with room, too short to hold a writer's goroutine.
const farewellWait = 10 * time.Millisecond
