package homepage

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/moderation"
	"github.com/barrage-live/barrage/internal/problem"
	"github.com/barrage-live/barrage/internal/store"
)

// Moderation is what the operator's room actions need. Every route it adds is wrapped by
// Guard, so none works without the operator token.
type Moderation struct {
	Store  store.Moderator
	Book   *moderation.Book
	Hasher moderation.Hasher
	Guard  func(http.Handler) http.Handler
	// Notify tells every HomePage that room was acted on; it never blocks.
	Notify func(room string)
}

// Moderate turns on room moderation: sends are checked against mutes and slow mode, and
// the operator routes are served.
func (s *Server) Moderate(m Moderation) {
	if m.Notify == nil {
		m.Notify = func(string) {}
	}
	s.mod = &m
	s.slow = newSlowMode(s.opts.Limits.MaxClients)
}

// moderationRoutes registers the operator's routes behind the guard.
func (s *Server) moderationRoutes(mux *http.ServeMux) {
	if s.mod == nil {
		return
	}
	g := func(h http.HandlerFunc) http.Handler { return s.mod.Guard(h) }
	mux.Handle("DELETE /api/rooms/{room}/barrages/{id}", g(s.deleteBarrage))
	mux.Handle("GET /api/rooms/{room}/moderation", g(s.showModeration))
	mux.Handle("POST /api/rooms/{room}/mutes", g(s.createMute))
	mux.Handle("DELETE /api/rooms/{room}/mutes/{sender}", g(s.deleteMute))
	mux.Handle("PUT /api/rooms/{room}/rules", g(s.updateRules))
}

// senderOf is the hash barrages and mutes carry for client; empty without moderation or
// without an address (the load sender).
func (s *Server) senderOf(client netip.Prefix) string {
	if s.mod == nil || !client.IsValid() {
		return ""
	}
	return s.mod.Hasher.Sender(client.String())
}

// action starts the log entry of what the operator behind r does in room. The operator
// token is one identity, so the entry names the client that presented it (hashed) and the
// name it gave in X-Operator-Name.
func (s *Server) action(r *http.Request, room, kind, target string) (store.Action, *problem.Details) {
	name, err := moderation.Name(r.Header.Get("X-Operator-Name"))
	if err != nil {
		d := modInvalid(err)
		return store.Action{}, &d
	}
	at := s.now().UTC()
	return store.Action{ID: barrage.NewID(at), Room: room, Kind: kind, Target: target, At: at,
		By: store.Actor{Client: s.senderOf(s.clients.key(r)), Name: name}}, nil
}

// modRoom reads and checks the room of a moderation route.
func (s *Server) modRoom(w http.ResponseWriter, r *http.Request) (string, bool) {
	room := r.PathValue("room")
	if err := barrage.ValidRoom(room); err != nil {
		s.reject(w, http.StatusBadRequest, "invalidRoom", err)
		return "", false
	}
	return room, true
}

// maxModBody bounds a moderation body: a full word list fits in it.
const maxModBody = 16 << 10

// readModBody decodes a JSON body into v, refusing anything else with a clear 4xx.
func readModBody(w http.ResponseWriter, r *http.Request, v any) *problem.Details {
	if !isJSON(r.Header.Get("Content-Type")) {
		d := problem.New(http.StatusUnsupportedMediaType, "moderationType")
		return &d
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxModBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			d := problem.New(http.StatusRequestEntityTooLarge, "bodyTooLarge", maxModBody)
			return &d
		}
		d := jsonProblem(err)
		return &d
	}
	return nil
}

// modInvalid is the 400 of input outside the moderation limits.
func modInvalid(err error) problem.Details {
	var fe *moderation.FieldError
	if !errors.As(err, &fe) {
		return problem.New(http.StatusBadRequest, "invalidModeration")
	}
	return problem.Invalid(http.StatusBadRequest, "invalidModeration",
		problem.FieldError{Field: fe.Field, Reason: fe.Error(), Key: fe.Code, Args: fe.Args})
}

// storeDown answers a store failure of a moderation route.
func (s *Server) storeDown(w http.ResponseWriter, op string, err error) {
	s.log.Warn("moderation store write failed", "op", op, "err", err)
	d := problem.New(http.StatusServiceUnavailable, "moderationDown")
	d.RetryAfter = 2 * time.Second
	problem.Write(w, d)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// modContext bounds a moderation route's store calls.
func modContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 5*time.Second)
}
