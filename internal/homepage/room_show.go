package homepage

import (
	"net/http"

	"github.com/a-h/templ"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/i18n"
	"github.com/barrage-live/barrage/internal/problem"
	"github.com/barrage-live/barrage/views"
)

// showRoom renders a room's page with its recent history; GET / is room "default".
func (s *Server) showRoom(w http.ResponseWriter, r *http.Request) {
	room := r.PathValue("room")
	if room == "" {
		room = "default"
	}
	if err := barrage.ValidRoom(room); err != nil {
		problem.Write(w, problem.New(http.StatusNotFound, "noSuchRoom"))
		return
	}
	lang := i18n.FromRequest(r)
	d := views.RoomData{Room: room, LoadSender: s.opts.LoadSender, Version: s.opts.Version, Lang: lang}
	if s.mod != nil {
		d.Moderation, d.SlowMode = true, s.mod.Book.Rules(room).SlowMode
	}
	recs, err := s.history.Latest(r.Context(), room, s.opts.RecentOnJoin)
	if err != nil {
		// The page still works: the live stream fills in once the store is back.
		s.log.Warn("recent history unavailable", "room", room, "err", err)
	}
	for _, rec := range recs {
		d.Recent = append(d.Recent, rec.Barrage)
	}
	if len(recs) > 0 {
		d.LastCursor = string(recs[len(recs)-1].Cursor)
	}
	s.renderPage(w, r, room, lang, views.Room(d))
}

// renderPage writes a page in the reader's language, which the cookie or the header chose.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, room string, lang i18n.Lang, page templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", string(lang))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "Accept-Language, Cookie")
	if err := page.Render(r.Context(), w); err != nil {
		s.log.Warn("render page", "room", room, "path", r.URL.Path, "err", err)
	}
}
