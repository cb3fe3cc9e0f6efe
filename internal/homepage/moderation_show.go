package homepage

import (
	"net/http"
	"slices"
	"time"

	"github.com/barrage-live/barrage/internal/store"
)

// moderationJSON is what the panel shows of a room.
type moderationJSON struct {
	Rules   rulesJSON      `json:"rules"`
	Mutes   []muteJSON     `json:"mutes"`
	Actions []store.Action `json:"actions"`
}

// recentActions is how many of the room's latest actions the view lists.
const recentActions = 50

// showModeration is GET /api/rooms/{room}/moderation: the room's rules, running mutes and
// latest actions.
func (s *Server) showModeration(w http.ResponseWriter, r *http.Request) {
	room, ok := s.modRoom(w, r)
	if !ok {
		return
	}
	now := s.now()
	mutes := s.mod.Book.Mutes(room, now)
	slices.SortFunc(mutes, func(a, b store.Mute) int { return a.Until.Compare(b.Until) })
	out := moderationJSON{Rules: rulesView(s.mod.Book.Rules(room)), Mutes: []muteJSON{}, Actions: []store.Action{}}
	for _, m := range mutes {
		out.Mutes = append(out.Mutes, muteView(m, now))
	}
	ctx, cancel := modContext(r)
	defer cancel()
	acts, err := s.mod.Store.Actions(ctx, now.Add(-24*time.Hour), 2000)
	if err != nil {
		s.storeDown(w, "actions", err)
		return
	}
	for _, a := range slices.Backward(acts) {
		if a.Room == room && len(out.Actions) < recentActions {
			out.Actions = append(out.Actions, a)
		}
	}
	writeJSON(w, http.StatusOK, out)
}
