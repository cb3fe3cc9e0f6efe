package homepage

import (
	"context"
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
	acts, err := s.roomActions(ctx, room, now.Add(-24*time.Hour))
	if err != nil {
		s.storeDown(w, "actions", err)
		return
	}
	out.Actions = append(out.Actions, acts...)
	writeJSON(w, http.StatusOK, out)
}

// roomActions pages through the log since then and keeps the room's newest entries,
// newest first. Pages are bounded, so an operator's busiest day costs a few reads.
func (s *Server) roomActions(ctx context.Context, room string, since time.Time) ([]store.Action, error) {
	const page, pages = 2000, 10
	var keep []store.Action
	for range pages {
		acts, err := s.mod.Store.Actions(ctx, since, page)
		if err != nil {
			return nil, err
		}
		for _, a := range acts {
			if a.Room == room {
				keep = append(keep, a)
			}
		}
		if len(keep) > recentActions {
			keep = keep[len(keep)-recentActions:]
		}
		if len(acts) < page {
			break
		}
		since = acts[len(acts)-1].At.Add(1) // entries at the same nanosecond are rare; the next page may skip one
	}
	slices.Reverse(keep)
	return keep, nil
}
