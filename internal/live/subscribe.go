package live

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/barrage-live/barrage/internal/store"
)

// ErrBadCursor is returned for a Last-Event-ID that cannot be a cursor.
var ErrBadCursor = errors.New("live: Last-Event-ID is not a cursor")

// Subscribe streams room to the viewer behind w until they leave, are evicted or the hub
// closes, then calls done. A viewer resuming with Last-Event-ID (header, or lastEventId in
// the query) first gets every record after that cursor from the store, then the live
// feed, with nothing missed or repeated at the seam.
//
// It returns an error, without calling done, only when the stream cannot start. On
// HTTP/1.1 it takes the connection over and returns at once, so the stream holds neither
// the server's buffers nor its goroutine; otherwise it returns when the stream ends.
func (h *Hub) Subscribe(w http.ResponseWriter, r *http.Request, room string, done func()) error {
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("lastEventId")
	}
	if len(last) > 128 {
		return ErrBadCursor
	}
	f, sh, err := h.join(r.Context(), room)
	if err != nil {
		return err
	}
	if h.hooks.Connected != nil {
		h.hooks.Connected(room, 1)
	}
	raw, hijacked := hijack(w)
	parent := r.Context()
	if hijacked {
		parent = context.WithoutCancel(parent) // the request's context ends when this handler returns
	}
	ctx, cancel := context.WithCancel(parent)
	ew := &eventWriter{
		ResponseWriter: w,
		timeout:        h.opts.WriteTimeout,
		evict: func(err error) {
			cancel()
			if errors.Is(err, os.ErrDeadlineExceeded) && h.hooks.Evicted != nil {
				h.hooks.Evicted(room)
			}
		},
		start: func(ew *eventWriter) error { return h.replay(ctx, ew, f.room, sh, store.Cursor(last)) },
	}
	// The library knows streams by a query parameter and would parse Last-Event-ID as a
	// number, so it gets a request of its own without it.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/?"+url.Values{"stream": {sh.stream}}.Encode(), nil)
	stream := func() {
		defer done()
		defer h.leave(f, sh)
		defer cancel()
		if h.hooks.Connected != nil {
			defer h.hooks.Connected(room, -1)
		}
		h.sse.ServeHTTP(ew, req)
	}
	if hijacked {
		if tc, ok := raw.conn.(*net.TCPConn); ok {
			_ = tc.SetWriteBuffer(h.opts.SendBuffer)
		}
		ew.ResponseWriter, ew.setDeadline, ew.flush = raw, raw.conn.SetWriteDeadline, raw.flush
		go func() {
			defer raw.conn.Close()
			stream()
		}()
		return nil
	}
	capSendBuffer(r.Context(), h.opts.SendBuffer)
	rc := http.NewResponseController(w)
	ew.setDeadline, ew.flush = rc.SetWriteDeadline, rc.Flush
	stream()
	return nil
}

// replay writes what the viewer missed, from after up to their shard's cursor now, and
// makes the writer drop live events up to that point, which the viewer then has.
func (h *Hub) replay(ctx context.Context, ew *eventWriter, room string, sh *shard, after store.Cursor) error {
	upTo := sh.Cursor()
	ew.skipUpTo = max(upTo, after)
	if after == "" {
		return nil // a new viewer starts live; the page shows recent history itself
	}
	sent := 0
	for after < upTo && sent < h.opts.ReplayLimit {
		recs, err := h.src.After(ctx, room, after, min(h.opts.BatchLimit, h.opts.ReplayLimit-sent))
		if err != nil {
			return fmt.Errorf("live: replay %s after %s: %w", room, after, err)
		}
		n := 0
		for n < len(recs) && recs[n].Cursor <= upTo {
			n++
		}
		if n == 0 {
			break
		}
		recs = recs[:n]
		if err := ew.writeBatch(recs); err != nil {
			return err
		}
		sent += n
		after = recs[n-1].Cursor
	}
	return nil
}

// eventWriter sits between the SSE library and the connection. It writes the replay when
// the stream starts, drops live events the replay already covered, and evicts a viewer
// whose writes stall, so one stuck viewer never holds up a room.
type eventWriter struct {
	http.ResponseWriter
	setDeadline func(time.Time) error
	flush       func() error
	timeout     time.Duration
	deadline    time.Time
	evict       func(error) // called once, on the first failed write
	start       func(*eventWriter) error
	started     bool
	skipUpTo    store.Cursor
	skipping    bool
	failed      bool
}

var errEvicted = errors.New("live: viewer evicted")

// Write drops an event whose id the replay covered: the library writes "id: …" first and
// ends every event with a lone newline.
func (e *eventWriter) Write(p []byte) (int, error) {
	if e.failed {
		return 0, errEvicted
	}
	if e.skipping {
		if len(p) == 1 && p[0] == '\n' {
			e.skipping = false
		}
		return len(p), nil
	}
	if id, ok := bytes.CutPrefix(p, []byte("id: ")); ok {
		c := store.Cursor(bytes.TrimSuffix(id, []byte("\n")))
		if c != "" && c <= e.skipUpTo {
			e.skipping = true
			return len(p), nil
		}
	}
	return e.write(p)
}

func (e *eventWriter) write(p []byte) (int, error) {
	e.extendDeadline()
	n, err := e.ResponseWriter.Write(p)
	if err != nil {
		e.fail(err)
	}
	return n, err
}

// extendDeadline moves the write deadline only when half of it is used, which keeps the
// cost off the fan-out path.
func (e *eventWriter) extendDeadline() {
	now := time.Now()
	if e.deadline.Sub(now) > e.timeout/2 {
		return
	}
	e.deadline = now.Add(e.timeout)
	_ = e.setDeadline(e.deadline)
}

// Flush sends what is buffered; the first one, right after the library has registered the
// viewer, writes the replay.
func (e *eventWriter) Flush() {
	if e.failed {
		return
	}
	if !e.started {
		e.started = true
		if err := e.start(e); err != nil {
			e.fail(err)
			return
		}
	}
	e.extendDeadline()
	if err := e.flush(); err != nil {
		e.fail(err)
	}
}

func (e *eventWriter) fail(err error) {
	if !e.failed {
		e.failed = true
		e.evict(err)
	}
}

// writeBatch writes records as one barrage event, the same shape the feed publishes.
func (e *eventWriter) writeBatch(recs []store.Record) error {
	data, err := json.Marshal(viewable(recs))
	if err != nil {
		return err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "id: %s\ndata: %s\nevent: barrage\n\n", recs[len(recs)-1].Cursor, data)
	_, err = e.write(b.Bytes())
	return err
}
