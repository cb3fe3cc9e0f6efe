package processor

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/problem"
)

// maxEventBytes bounds an event body: a barrage plus a KafkaSource's wrapping is far less.
const maxEventBytes = 64 << 10

// receive handles one CloudEvent, binary or structured.
func (p *Processor) receive(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxEventBytes)
	e, err := binding.ToEvent(r.Context(), cehttp.NewMessageFromHttpRequest(r))
	if err != nil {
		p.reject(w, fmt.Errorf("processor: not a CloudEvent: %w", err))
		return
	}
	b, err := Decode(*e)
	if err != nil {
		p.reject(w, err)
		return
	}
	if err := p.Process(r.Context(), b); err != nil {
		p.log.Warn("event not stored; the event driver will retry", "event", e.ID(), "barrage", b.ID, "err", err)
		problem.Write(w, problem.Details{Status: http.StatusServiceUnavailable, Detail: "the barrage could not be stored yet; retry", RetryAfter: time.Second})
		return
	}
	w.WriteHeader(http.StatusOK)
}

// reject answers 400: a KafkaSource does not retry it and sends the event to its dead
// letter sink instead.
func (p *Processor) reject(w http.ResponseWriter, err error) {
	p.log.Info("event rejected", "err", err)
	if p.hooks.Rejected != nil {
		p.hooks.Rejected(err.Error())
	}
	d := problem.Details{Status: http.StatusBadRequest, Title: "Invalid event", Detail: err.Error()}
	var fe *barrage.FieldError
	if errors.As(err, &fe) {
		d.Errors = []problem.FieldError{{Field: fe.Field, Reason: fe.Reason}}
	}
	problem.Write(w, d)
}

// receiveDeadLetter is where a KafkaSource's deadLetterSink points by default: events that
// failed every retry are logged with the reason Knative attached, so an operator can
// replay them from the log or the topic.
func (p *Processor) receiveDeadLetter(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxEventBytes)
	e, err := binding.ToEvent(r.Context(), cehttp.NewMessageFromHttpRequest(r))
	if err != nil {
		problem.Write(w, problem.Details{Status: http.StatusBadRequest, Detail: "not a CloudEvent"})
		return
	}
	ext := e.Extensions()
	p.log.Error("dead letter received", "event", e.ID(), "type", e.Type(), "source", e.Source(),
		"errorcode", ext["knativeerrorcode"], "errordest", ext["knativeerrordest"], "data", string(e.Data()))
	w.WriteHeader(http.StatusAccepted)
}
