package homepage

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/problem"
	"github.com/barrage-live/barrage/internal/store"
)

const maxListLimit = 1000

// listBarrages is GET /api/rooms/{room}/barrages?after=&limit=: a room's history in feed
// order, a page at a time. Follow "cursor" to get the next page.
func (s *Server) listBarrages(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	if err := barrage.ValidRoom(room); err != nil {
		s.reject(w, http.StatusBadRequest, "invalidRoom", err)
		return
	}
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxListLimit {
			s.refuse(w, problem.Invalid(http.StatusBadRequest, "invalidLimit",
				problem.FieldError{Field: "limit", Reason: "must be a whole number from 1 to 1000", Key: "wholeNumber", Args: []any{1, maxListLimit}}))
			return
		}
		limit = n
	}
	after := store.Cursor(q.Get("after"))
	recs, err := s.history.After(r.Context(), room, after, limit)
	if err != nil {
		s.log.Warn("history read failed", "room", room, "err", err)
		d := problem.New(http.StatusServiceUnavailable, "historyDown")
		d.RetryAfter = 2 * time.Second
		problem.Write(w, d)
		return
	}
	next := after
	if len(recs) > 0 {
		next = recs[len(recs)-1].Cursor
	}
	if recs == nil {
		recs = []store.Record{}
	}
	for i := range recs {
		recs[i].TraceParent = "" // the trace context is for operators, not for every reader
		recs[i].Sender = ""
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(struct {
		Barrages []store.Record `json:"barrages"`
		Cursor   store.Cursor   `json:"cursor"`
	}{recs, next})
}
