package live

import (
	"errors"
	"net/http"

	"github.com/barrage-live/barrage/internal/live/stream"
)

// maxLastEventID bounds a Last-Event-ID: a position of the longest cursors a store gives.
const maxLastEventID = (stream.MaxAhead + 1) * 96

// ErrBadCursor is returned for a Last-Event-ID that cannot be a position.
var ErrBadCursor = errors.New("live: Last-Event-ID is not a cursor")

// Subscribe streams room to the viewer behind w until they leave, are evicted or the hub
// closes, then calls done. A viewer resuming with Last-Event-ID (header, or lastEventId in
// the query) first gets the records after that cursor from the store, up to the replay
// limit and then a gap event naming the rest, then the live feed, with nothing repeated at
// the seam.
//
// It returns an error, without calling done, only when the stream cannot start. On
// HTTP/1.1 it takes the connection over and returns at once, so the stream holds neither
// the server's buffers nor its goroutine; otherwise it returns when the stream ends.
func (h *Hub) Subscribe(w http.ResponseWriter, r *http.Request, room string, done func()) error {
	last := r.Header.Get("Last-Event-ID")
	if last == "" {
		last = r.URL.Query().Get("lastEventId")
	}
	if len(last) > maxLastEventID {
		return ErrBadCursor
	}
	f, sh, err := h.join(r.Context(), room)
	if err != nil {
		return err
	}
	if h.hooks.Connected != nil {
		h.hooks.Connected(room, 1)
	}
	left := func() {
		h.leave(f, sh)
		if h.hooks.Connected != nil {
			h.hooks.Connected(room, -1)
		}
	}
	var onEvict func()
	if h.hooks.Evicted != nil {
		onEvict = func() { h.hooks.Evicted(room) }
	}
	err = stream.Serve(w, r, &h.sopts, stream.Request{
		Room: room, After: stream.ParsePosition(last), Group: sh.group, Source: replaySource{h}, Log: h.log,
		OnEvict: onEvict,
		Done:    func() { left(); done() },
	})
	if err != nil {
		left()
	}
	return err
}
