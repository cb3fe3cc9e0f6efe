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
		s.reject(w, http.StatusBadRequest, "Invalid room", err)
		return
	}
	release, refused := s.clients.openStream(s.clients.key(r))
	if refused != nil {
		if s.hooks.Rejected != nil {
			s.hooks.Rejected(refused.Title)
		}
		problem.Write(w, *refused)
		return
	}
	err := s.hub.Subscribe(w, r, room, release)
	if err != nil {
		release()
	}
	switch {
	case err == nil:
	case errors.Is(err, live.ErrBadCursor):
		s.reject(w, http.StatusBadRequest, "Invalid Last-Event-ID", err)
	case errors.Is(err, live.ErrTooManyRooms):
		problem.Write(w, problem.Details{Status: http.StatusServiceUnavailable, Title: "Too many rooms",
			Detail: "this server is showing as many rooms as it can; try again shortly", RetryAfter: 10 * time.Second})
	case errors.Is(err, live.ErrRoomFull):
		problem.Write(w, problem.Details{Status: http.StatusServiceUnavailable, Detail: "this room has as many viewers as this server takes", RetryAfter: 5 * time.Second})
	default:
		s.log.Warn("stream not started", "room", room, "err", err)
		problem.Write(w, problem.Details{Status: http.StatusServiceUnavailable, Detail: "the live stream is not available right now", RetryAfter: 2 * time.Second})
	}
}
