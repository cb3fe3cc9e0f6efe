package homepage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/netip"
	"os"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/kafka"
	"github.com/barrage-live/barrage/internal/problem"
)

// sendBarrage is POST /api/rooms/{room}/barrages: validate, stamp, hand to Kafka, 202.
func (s *Server) sendBarrage(w http.ResponseWriter, r *http.Request) {
	ctx, span := s.tracer().Start(r.Context(), s.opts.Tracing.Names.Parent, trace.WithSpanKind(trace.SpanKindServer))
	defer span.End()
	r = r.WithContext(ctx)
	room := r.PathValue("room")
	if err := barrage.ValidRoom(room); err != nil {
		s.reject(w, http.StatusBadRequest, "invalidRoom", err)
		return
	}
	client := s.clients.key(r)
	if refused := s.clients.allowSend(client); refused != nil {
		s.refuse(w, *refused)
		return
	}
	if refused := s.muted(room, client); refused != nil {
		s.refuse(w, *refused)
		return
	}
	idem := r.Header.Get("Idempotency-Key")
	if bad := validIdempotencyKey(idem); bad != nil {
		s.refuse(w, *bad)
		return
	}
	if !isJSON(r.Header.Get("Content-Type")) {
		s.refuse(w, problem.New(http.StatusUnsupportedMediaType, "unsupportedType"))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, barrage.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			s.refuse(w, problem.New(http.StatusRequestEntityTooLarge, "bodyTooLarge", barrage.MaxBodyBytes))
			return
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			s.refuse(w, problem.New(http.StatusRequestTimeout, "bodyTooSlow"))
			return
		}
		s.refuse(w, problem.New(http.StatusBadRequest, "unreadableBody"))
		return
	}
	// encoding/json would quietly replace invalid UTF-8; a sender should hear about it.
	if !utf8.Valid(body) {
		s.refuse(w, problem.Invalid(http.StatusBadRequest, "invalidBarrage", problem.FieldError{Field: "text", Reason: "is not valid UTF-8", Key: "notUTF8"}))
		return
	}
	var d barrage.Draft
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		s.refuse(w, jsonProblem(err))
		return
	}
	b, err := s.accept(room, d, idem, client)
	if err != nil {
		s.reject(w, http.StatusUnprocessableEntity, "invalidBarrage", err)
		return
	}
	undo, refused := s.slowDown(room, client)
	if refused != nil {
		s.refuse(w, *refused)
		return
	}
	if err := s.produce(r.Context(), b); err != nil {
		undo()
		d := problem.New(http.StatusServiceUnavailable, "notQueued")
		d.RetryAfter = time.Second
		problem.Write(w, d)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_ = json.NewEncoder(w).Encode(sent{ID: b.ID, AcceptedAt: b.AcceptedAt})
}

// sent is the answer to an accepted barrage.
type sent struct {
	ID         string    `json:"id"`
	AcceptedAt time.Time `json:"acceptedAt"`
}

// Send is the send path without HTTP, for the load sender: the same validation and the
// same Kafka hand-off as a person's barrage.
func (s *Server) Send(ctx context.Context, room string, d barrage.Draft) (string, error) {
	if err := barrage.ValidRoom(room); err != nil {
		return "", err
	}
	b, err := s.accept(room, d, "", netip.Prefix{})
	if err != nil {
		return "", err
	}
	return b.ID, s.produce(ctx, b)
}

// accept validates d and stamps it. With an idempotency key the id is derived from it and
// from who sent it, so a sender retrying after a lost answer does not show the barrage
// twice, and another client choosing the same key cannot make it a duplicate of theirs.
func (s *Server) accept(room string, d barrage.Draft, key string, client netip.Prefix) (barrage.Barrage, error) {
	b, err := barrage.Accept(room, d, s.now())
	if err != nil {
		return b, err
	}
	if key != "" {
		h := sha256.New()
		who, _ := client.MarshalBinary()
		h.Write(who)
		h.Write([]byte{0})
		h.Write([]byte(room))
		h.Write([]byte{0})
		h.Write([]byte(key))
		b.ID = "i" + hex.EncodeToString(h.Sum(nil)[:16])
	}
	b.Sender = s.senderOf(client)
	return b, nil
}

// maxIdempotencyKey bounds the key: a UUID is 36 bytes, and the key is hashed, never stored.
const maxIdempotencyKey = 128

func validIdempotencyKey(k string) *problem.Details {
	if len(k) > maxIdempotencyKey {
		d := problem.New(http.StatusBadRequest, "idempotencyKeyLong", maxIdempotencyKey)
		return &d
	}
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' {
			d := problem.New(http.StatusBadRequest, "idempotencyKeyChars")
			return &d
		}
	}
	return nil
}

func (s *Server) produce(ctx context.Context, b barrage.Barrage) error {
	ctx, span := s.tracer().Start(ctx, s.opts.Tracing.Names.Send, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("barrage.id", b.ID), attribute.String("barrage.room", b.Room)))
	defer span.End()
	var extra []kafka.Header
	if tp := s.opts.Tracing.Inject(ctx); tp != "" {
		b.TraceParent = tp
		extra = append(extra, kafka.Header{Key: "traceparent", Value: tp})
	}
	if err := s.producer.Produce(ctx, b, extra...); err != nil {
		span.SetStatus(codes.Error, "kafka did not take the barrage")
		s.log.Warn("produce failed", "barrage", b.ID, "room", b.Room, "err", err)
		if s.hooks.ProduceFailed != nil {
			s.hooks.ProduceFailed(err)
		}
		return err
	}
	if s.hooks.Accepted != nil {
		s.hooks.Accepted(b)
	}
	s.hub.CountAccepted(b.Room, 1)
	return nil
}

// reject answers a validation error as the problem of key, listing the wrong field.
func (s *Server) reject(w http.ResponseWriter, status int, key string, err error) {
	var fe *barrage.FieldError
	if !errors.As(err, &fe) {
		fe = &barrage.FieldError{Reason: err.Error()}
	}
	s.refuse(w, problem.Invalid(status, key, problem.FieldError{Field: fe.Field, Reason: fe.Reason, Key: fe.Code, Args: fe.Args}))
}

// refuse answers a client error and counts it by its English title.
func (s *Server) refuse(w http.ResponseWriter, d problem.Details) {
	if s.hooks.Rejected != nil {
		s.hooks.Rejected(d.Title)
	}
	problem.Write(w, d)
}

// isJSON reports whether a Content-Type names JSON; the common exact form skips parsing.
func isJSON(contentType string) bool {
	if contentType == "application/json" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

// jsonProblem says what is wrong with a body in words that do not expose decoder internals.
func jsonProblem(err error) problem.Details {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return problem.New(http.StatusBadRequest, "jsonSyntax", syntax.Offset)
	case errors.As(err, &typ):
		return problem.New(http.StatusBadRequest, "jsonType", typ.Field, typ.Type.Kind())
	case errors.Is(err, io.EOF):
		return problem.New(http.StatusBadRequest, "jsonEmpty")
	}
	return problem.New(http.StatusBadRequest, "jsonOther", err.Error())
}
