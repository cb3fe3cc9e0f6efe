package homepage

import (
	"net/http"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/i18n"
	"github.com/barrage-live/barrage/internal/problem"
	"github.com/barrage-live/barrage/views"
)

// showOverlay is GET /rooms/{room}/overlay: the room's flying barrages alone, on a
// transparent page, for a browser source in streaming software. It starts after the
// newest stored barrage, so only what comes next flies.
func (s *Server) showOverlay(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	if err := barrage.ValidRoom(room); err != nil {
		problem.Write(w, problem.New(http.StatusNotFound, "noSuchRoom"))
		return
	}
	settings, bad := parseOverlay(r.URL.RawQuery)
	if bad != nil {
		problem.Write(w, *bad) // not a send, so not counted with refused sends
		return
	}
	lang := i18n.FromRequest(r)
	d := views.OverlayData{Room: room, Settings: settings, Version: s.opts.Version, Lang: lang}
	recs, err := s.history.Latest(r.Context(), room, 1)
	if err != nil {
		// Without the store the stream starts from its live edge, which is just as good here.
		s.log.Warn("overlay start cursor unavailable", "room", room, "err", err)
	}
	if len(recs) > 0 {
		d.LastCursor = string(recs[len(recs)-1].Cursor)
	}
	s.renderPage(w, r, room, lang, views.Overlay(d))
}
