package homepage

import (
	"net/http"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/moderation"
	"github.com/barrage-live/barrage/internal/problem"
	"github.com/barrage-live/barrage/internal/store"
)

// muteRequest names the client to mute by a barrage they sent, or by the sender hash the
// moderation view lists.
type muteRequest struct {
	Barrage string `json:"barrage,omitempty"`
	Sender  string `json:"sender,omitempty"`
	Seconds int64  `json:"seconds"`
}

// createMute is POST /api/rooms/{room}/mutes: the client who sent a barrage may not send
// to the room until the mute ends. 201 with the mute.
func (s *Server) createMute(w http.ResponseWriter, r *http.Request) {
	room, ok := s.modRoom(w, r)
	if !ok {
		return
	}
	var req muteRequest
	if bad := readModBody(w, r, &req); bad != nil {
		problem.Write(w, *bad)
		return
	}
	d, err := moderation.MuteFor(req.Seconds)
	if err != nil {
		problem.Write(w, modInvalid(err))
		return
	}
	if (req.Barrage == "") == (req.Sender == "") {
		problem.Write(w, problem.New(http.StatusBadRequest, "muteWhom"))
		return
	}
	if len(req.Barrage) > barrage.MaxIDLength {
		problem.Write(w, problem.New(http.StatusNotFound, "noSuchBarrage"))
		return
	}
	if req.Sender != "" && barrage.ValidSender(req.Sender) != nil {
		problem.Write(w, problem.New(http.StatusBadRequest, "muteWhom"))
		return
	}
	ctx, cancel := modContext(r)
	defer cancel()
	sender := req.Sender
	if req.Barrage != "" {
		rec, found, err := s.mod.Store.Find(ctx, room, req.Barrage)
		if err != nil {
			s.storeDown(w, "find", err)
			return
		}
		if !found {
			problem.Write(w, problem.New(http.StatusNotFound, "noSuchBarrage"))
			return
		}
		if rec.Sender == "" {
			problem.Write(w, problem.New(http.StatusUnprocessableEntity, "noSender"))
			return
		}
		sender = rec.Sender
	}
	now := s.now()
	if _, already := s.mod.Book.Muted(room, sender, now); !already && len(s.mod.Book.Mutes(room, now)) >= moderation.MaxMutesRoom {
		problem.Write(w, problem.New(http.StatusConflict, "tooManyMutes", moderation.MaxMutesRoom))
		return
	}
	act, bad := s.action(r, room, store.ActMute, sender)
	if bad != nil {
		problem.Write(w, *bad)
		return
	}
	// A whole second, rounded up, so the until a refusal states is the one that holds.
	act.Until = act.At.Add(d).Add(time.Second - 1).Truncate(time.Second)
	m := store.Mute{Room: room, Sender: sender, Until: act.Until, By: act.By, At: act.At}
	if err := s.mod.Store.PutMute(ctx, m, act); err != nil {
		s.storeDown(w, "mute", err)
		return
	}
	s.mod.Book.Apply(act, &m, nil)
	s.mod.Notify(room)
	writeJSON(w, http.StatusCreated, muteView(m, now))
}

// muteJSON is a mute as the operator sees it.
type muteJSON struct {
	Sender      string      `json:"sender"`
	Until       string      `json:"until"`
	SecondsLeft int64       `json:"secondsLeft"`
	By          store.Actor `json:"by"`
	At          string      `json:"at"`
}
