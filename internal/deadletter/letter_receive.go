package deadletter

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/barrage-live/barrage/internal/problem"
)

// receive writes one dead-lettered CloudEvent, binary or structured, to the topic.
func (s *Sink) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.reject(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the event is larger than %d bytes", s.opts.MaxBodyBytes))
			return
		}
		s.reject(w, http.StatusBadRequest, "the body could not be read")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	e, err := binding.ToEvent(r.Context(), cehttp.NewMessageFromHttpRequest(r))
	if err != nil {
		s.reject(w, http.StatusBadRequest, "not a CloudEvent: "+err.Error())
		return
	}
	if err := e.Validate(); err != nil {
		s.reject(w, http.StatusBadRequest, "not a valid CloudEvent: "+err.Error())
		return
	}
	msg, err := Record(s.opts.Topic, *e)
	if err != nil {
		s.reject(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.write(r.Context(), msg); err != nil {
		s.log.Warn("dead letter not written; the source will send it again", "event", e.ID(), "err", err)
		if s.hooks.Failed != nil {
			s.hooks.Failed(err)
		}
		problem.Write(w, problem.Details{Status: http.StatusServiceUnavailable,
			Detail: "the dead letter could not be written to Kafka yet; retry", RetryAfter: time.Second})
		return
	}
	ext := e.Extensions()
	s.log.Warn("dead letter written", "event", e.ID(), "type", e.Type(), "topic", s.opts.Topic,
		"errorcode", ext["knativeerrorcode"], "errordest", ext["knativeerrordest"])
	if s.hooks.Written != nil {
		s.hooks.Written()
	}
	w.WriteHeader(http.StatusOK)
}

// reject answers 4xx: retrying the same bytes cannot help.
func (s *Sink) reject(w http.ResponseWriter, status int, detail string) {
	s.log.Info("dead letter rejected", "status", status, "detail", detail)
	if s.hooks.Rejected != nil {
		s.hooks.Rejected(http.StatusText(status))
	}
	problem.Write(w, problem.Details{Status: status, Title: "Invalid event", Detail: detail})
}
