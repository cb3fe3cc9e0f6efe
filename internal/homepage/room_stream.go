package homepage

import (
	"errors"
	"net/http"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/live"
	"github.com/barrage-live/barrage/internal/problem"
)

// streamRoom is GET /api/rooms/{room}/stream: the room's live SSE stream.
func (s *Server) streamRoom(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	if err := barrage.ValidRoom(room); err != nil {
		s.reject(w, http.StatusBadRequest, "invalidRoom", err)
		return
	}
	release, refused := s.clients.openStream(s.clients.key(r))
	if refused != nil {
		s.refuse(w, *refused)
		return
	}
	err := s.hub.Subscribe(w, r, room, release)
	if err != nil {
		release()
	}
	switch {
	case err == nil:
	case errors.Is(err, live.ErrBadCursor):
		s.refuse(w, problem.New(http.StatusBadRequest, "invalidLastEventID"))
	case errors.Is(err, live.ErrTooManyRooms):
		unavailable(w, "tooManyRooms", 10*time.Second)
	case errors.Is(err, live.ErrRoomFull):
		unavailable(w, "roomFull", 5*time.Second)
	default:
		s.log.Warn("stream not started", "room", room, "err", err)
		unavailable(w, "streamDown", 2*time.Second)
	}
}

// unavailable is a 503 of the catalogue's key.
func unavailable(w http.ResponseWriter, key string, wait time.Duration) {
	d := problem.New(http.StatusServiceUnavailable, key)
	d.RetryAfter = wait
	problem.Write(w, d)
}
