package homepage

import (
	"net/http"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/problem"
	"github.com/barrage-live/barrage/internal/store"
)

// deleteMute is DELETE /api/rooms/{room}/mutes/{sender}: the mute ends now. 204.
func (s *Server) deleteMute(w http.ResponseWriter, r *http.Request) {
	room, ok := s.modRoom(w, r)
	if !ok {
		return
	}
	sender := r.PathValue("sender")
	if barrage.ValidSender(sender) != nil {
		problem.Write(w, problem.New(http.StatusNotFound, "noSuchMute"))
		return
	}
	if _, muted := s.mod.Book.Muted(room, sender, s.now()); !muted {
		problem.Write(w, problem.New(http.StatusNotFound, "noSuchMute"))
		return
	}
	act, bad := s.action(r, room, store.ActUnmute, sender)
	if bad != nil {
		problem.Write(w, *bad)
		return
	}
	ctx, cancel := modContext(r)
	defer cancel()
	if err := s.mod.Store.Unmute(ctx, room, sender, act); err != nil {
		s.storeDown(w, "unmute", err)
		return
	}
	s.mod.Book.Apply(act, nil, nil)
	s.mod.Notify(room)
	w.WriteHeader(http.StatusNoContent)
}

func muteView(m store.Mute, now time.Time) muteJSON {
	return muteJSON{Sender: m.Sender, Until: m.Until.UTC().Format(time.RFC3339), SecondsLeft: secondsLeft(m.Until, now),
		By: m.By, At: m.At.UTC().Format(time.RFC3339)}
}

// secondsLeft rounds up, so a refusal never says 0 while it still holds.
func secondsLeft(until, now time.Time) int64 {
	d := until.Sub(now)
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
