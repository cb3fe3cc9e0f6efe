package processor

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/problem"
)

// MaxEventBytes bounds an event body: a barrage plus a KafkaSource's wrapping is far less.
// The dead-letter sink takes the same events and applies the same bound.
const MaxEventBytes = 64 << 10

// receive handles one CloudEvent, binary or structured.
func (p *Processor) receive(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxEventBytes)
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
	ctx, span := p.tracing.Provider.Tracer(p.tracing.Names.ProcessTracer).Start(
		p.tracing.Extract(r.Context(), traceParent(r, *e, b)), p.tracing.Names.Process,
		trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String("barrage.id", b.ID), attribute.String("cloudevents.event_id", e.ID())))
	defer span.End()
	if tp := p.tracing.Inject(ctx); tp != "" {
		b.TraceParent = tp // the live stream links its delivery span to this one
	}
	if err := p.Process(ctx, b); err != nil {
		span.SetStatus(codes.Error, "store write failed")
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

// receiveDeadLetter refuses: dead letters belong in the dead-letter topic, which the
// processor's pods cannot reach, and a log line is no place to keep an accepted barrage.
// 410 tells whoever still points a deadLetterSink here to point it at `barrage deadletter`.
func (p *Processor) receiveDeadLetter(w http.ResponseWriter, r *http.Request) {
	p.log.Error("dead letter refused: point the deadLetterSink at the deadletter role", "path", r.URL.Path)
	problem.Write(w, problem.Details{Status: http.StatusGone,
		Detail: "dead letters go to the deadletter role (barrage deadletter), which writes them to the dead-letter topic"})
}

// traceParent finds the trace this event belongs to: the dispatcher's own header, the
// CloudEvents tracing extension, a KafkaSource's copy of the record header, or the
// barrage itself.
func traceParent(r *http.Request, e cloudevents.Event, b barrage.Barrage) string {
	if tp := r.Header.Get("traceparent"); tp != "" {
		return tp
	}
	for _, name := range []string{"traceparent", "kafkaheadertraceparent"} {
		if tp, ok := e.Extensions()[name].(string); ok && tp != "" {
			return tp
		}
	}
	return b.TraceParent
}
