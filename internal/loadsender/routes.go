package loadsender

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/problem"
)

// Register adds the load sender's routes to mux:
//
//	GET    /api/rooms/{room}/load            the limits, so a client knows what it may ask
//	POST   /api/rooms/{room}/load            start a run: {"message", "concurrency", "durationSeconds"}
//	GET    /api/rooms/{room}/load/{run}      a run's progress
//	DELETE /api/rooms/{room}/load/{run}      cancel a run
//
// Every route, reads included, goes through guard (the operator's token check): the
// limits and a run's progress are no business of strangers either. When the load sender
// is switched off every route answers 404.
func (s *Sender) Register(mux *http.ServeMux, guard func(http.Handler) http.Handler) {
	wrap := func(h http.HandlerFunc) http.Handler {
		if !s.limits.Enabled {
			return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { s.writeDisabled(w) })
		}
		return guard(h)
	}
	mux.Handle("GET /api/rooms/{room}/load", wrap(s.showLimits))
	mux.Handle("POST /api/rooms/{room}/load", wrap(s.startRun))
	mux.Handle("GET /api/rooms/{room}/load/{run}", wrap(s.showRun))
	mux.Handle("DELETE /api/rooms/{room}/load/{run}", wrap(s.cancelRun))
}

func (s *Sender) writeDisabled(w http.ResponseWriter) {
	problem.Write(w, problem.Details{Status: http.StatusNotFound, Title: "Load sender switched off",
		Detail: "this server does not run load tests"})
}

func (s *Sender) showLimits(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"enabled":            true,
		"maxConcurrency":     s.limits.MaxConcurrency,
		"maxDurationSeconds": s.limits.MaxDuration.Seconds(),
		"maxRate":            s.limits.MaxRate,
	})
}

// startBody is the JSON a client posts to start a run.
type startBody struct {
	Message         string  `json:"message"`
	Concurrency     int     `json:"concurrency"`
	DurationSeconds float64 `json:"durationSeconds"`
}

func (s *Sender) startRun(w http.ResponseWriter, r *http.Request) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		problem.Write(w, problem.Details{Status: http.StatusUnsupportedMediaType, Title: "Unsupported content type",
			Detail: "send the run as JSON with Content-Type: application/json"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, barrage.MaxBodyBytes))
	if err != nil {
		problem.Write(w, problem.Details{Status: http.StatusRequestEntityTooLarge, Title: "Body too large",
			Detail: fmt.Sprintf("the body must be at most %d bytes", barrage.MaxBodyBytes)})
		return
	}
	var b startBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		problem.Write(w, problem.Details{Status: http.StatusBadRequest, Title: "Malformed JSON",
			Detail: "the body must be {\"message\", \"concurrency\", \"durationSeconds\"}"})
		return
	}
	req := Request{Message: b.Message, Concurrency: b.Concurrency, Duration: time.Duration(b.DurationSeconds * float64(time.Second))}
	p, err := s.Start(r.PathValue("room"), req)
	var fe *barrage.FieldError
	var rb *RoomBusyError
	switch {
	case err == nil:
		w.Header().Set("Location", "/api/rooms/"+p.Room+"/load/"+p.ID)
		writeJSON(w, http.StatusAccepted, p)
	case errors.As(err, &fe):
		problem.Write(w, problem.Details{Status: http.StatusUnprocessableEntity, Title: "Invalid load run",
			Detail: fe.Field + " " + fe.Reason, Errors: []problem.FieldError{{Field: fe.Field, Reason: fe.Reason}}})
	case errors.As(err, &rb):
		w.Header().Set("Location", "/api/rooms/"+rb.Room+"/load/"+rb.Run)
		problem.Write(w, problem.Details{Status: http.StatusConflict, Title: "A load run is already going in this room",
			Detail: fmt.Sprintf("run %s is still going in room %s; cancel it (DELETE /api/rooms/%s/load/%s) or wait for it to end",
				rb.Run, rb.Room, rb.Room, rb.Run)})
	case errors.Is(err, ErrBusy):
		problem.Write(w, problem.Details{Status: http.StatusTooManyRequests, Title: "Load sender busy",
			Detail:     fmt.Sprintf("other runs use the concurrency this server allows (%d in all); wait for them or ask for less", s.limits.MaxConcurrency),
			RetryAfter: time.Second})
	case errors.Is(err, ErrClosed):
		problem.Write(w, problem.Details{Status: http.StatusServiceUnavailable, Title: "Shutting down",
			Detail: "this server is shutting down", RetryAfter: 5 * time.Second})
	default:
		s.writeDisabled(w)
	}
}

func (s *Sender) showRun(w http.ResponseWriter, r *http.Request) {
	s.answerRun(w, r, s.Progress)
}

func (s *Sender) cancelRun(w http.ResponseWriter, r *http.Request) {
	s.answerRun(w, r, s.Cancel)
}

func (s *Sender) answerRun(w http.ResponseWriter, r *http.Request, get func(room, id string) (Progress, bool)) {
	p, ok := get(r.PathValue("room"), r.PathValue("run"))
	if !ok {
		problem.Write(w, problem.Details{Status: http.StatusNotFound, Title: "No such load run",
			Detail: "the run is unknown here, or finished long ago"})
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
