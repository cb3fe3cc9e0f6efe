package homepage

import (
	"net/http"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/problem"
	"github.com/barrage-live/barrage/internal/store"
)

// deleteBarrage is DELETE /api/rooms/{room}/barrages/{id}: the store hides it for good,
// this server's viewers are told at once and every other HomePage by a notice.
func (s *Server) deleteBarrage(w http.ResponseWriter, r *http.Request) {
	room, ok := s.modRoom(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	if len(id) == 0 || len(id) > barrage.MaxIDLength {
		problem.Write(w, problem.New(http.StatusNotFound, "noSuchBarrage"))
		return
	}
	act, bad := s.action(r, room, store.ActDelete, id)
	if bad != nil {
		problem.Write(w, *bad)
		return
	}
	ctx, cancel := modContext(r)
	defer cancel()
	found, err := s.mod.Store.Delete(ctx, room, id, act)
	if err != nil {
		s.storeDown(w, "delete", err)
		return
	}
	if !found {
		problem.Write(w, problem.New(http.StatusNotFound, "noSuchBarrage"))
		return
	}
	s.hub.Remove(room, id)
	s.mod.Notify(room)
	writeJSON(w, http.StatusOK, act)
}
