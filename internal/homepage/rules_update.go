package homepage

import (
	"net/http"

	"github.com/barrage-live/barrage/internal/moderation"
	"github.com/barrage-live/barrage/internal/problem"
	"github.com/barrage-live/barrage/internal/store"
)

// rulesJSON is a room's rules in the API.
type rulesJSON struct {
	SlowModeSeconds int64    `json:"slowModeSeconds"`
	Words           []string `json:"words"`
}

// updateRules is PUT /api/rooms/{room}/rules: slow mode and the room's word list, both
// replaced. 200 with the rules as stored.
func (s *Server) updateRules(w http.ResponseWriter, r *http.Request) {
	room, ok := s.modRoom(w, r)
	if !ok {
		return
	}
	var req rulesJSON
	if bad := readModBody(w, r, &req); bad != nil {
		problem.Write(w, *bad)
		return
	}
	slow, err := moderation.SlowMode(req.SlowModeSeconds)
	if err != nil {
		problem.Write(w, modInvalid(err))
		return
	}
	words, err := moderation.Words(req.Words)
	if err != nil {
		problem.Write(w, modInvalid(err))
		return
	}
	act, bad := s.action(r, room, store.ActRules, "")
	if bad != nil {
		problem.Write(w, *bad)
		return
	}
	rules := store.Rules{Room: room, SlowMode: slow, Words: words, By: act.By, At: act.At}
	ctx, cancel := modContext(r)
	defer cancel()
	if err := s.mod.Store.PutRules(ctx, rules, act); err != nil {
		s.storeDown(w, "rules", err)
		return
	}
	s.mod.Book.Apply(act, nil, &rules)
	s.mod.Notify(room)
	writeJSON(w, http.StatusOK, rulesView(rules))
}

func rulesView(r store.Rules) rulesJSON {
	words := r.Words
	if words == nil {
		words = []string{}
	}
	return rulesJSON{SlowModeSeconds: int64(r.SlowMode.Seconds()), Words: words}
}
