package telemetry

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// SpanNames are the seed's span names, overridable by its variables: PARENT_SPAN is the
// root of a barrage's trace; SUB_SPAN1/SUB_SPAN2 (HomePage) and SUB_SPAN (processor) name
// the steps; TRACE_NAME* name the tracers.
type SpanNames struct {
	Parent  string // the send request: "barrage-sender"
	Send    string // handing the barrage to Kafka: "sender"
	Process string // the processor's work: "process"
	Result  string // publishing to viewers: "result"

	SenderTracer, ReceiverTracer, ResultTracer, ProcessTracer string
}

// NamesFrom reads the seed's variables as config keeps them.
func NamesFrom(vars map[string]string) SpanNames {
	pick := func(def string, keys ...string) string {
		for _, k := range keys {
			if v := vars[k]; v != "" {
				return v
			}
		}
		return def
	}
	return SpanNames{
		Parent:         pick("barrage-sender", "PARENT_SPAN"),
		Send:           pick("sender", "SUB_SPAN1"),
		Result:         pick("result", "SUB_SPAN2"),
		Process:        pick("process", "SUB_SPAN"),
		SenderTracer:   pick("sender", "TRACE_NAME1"),
		ReceiverTracer: pick("receiver", "TRACE_NAME2"),
		ResultTracer:   pick("result", "TRACE_NAME3"),
		ProcessTracer:  pick("process", "TRACE_NAME"),
	}
}

// Tracing is a process's tracer provider: OTLP/HTTP or Jaeger Thrift/HTTP to the TRACING
// URL, or a no-op that costs next to nothing when no endpoint is set.
type Tracing struct {
	Provider   trace.TracerProvider
	Propagator propagation.TextMapPropagator
	Names      SpanNames
	shutdown   func(context.Context) error
}

// TracingOptions say where traces go.
type TracingOptions struct {
	Endpoint string // TRACING: an OTLP/HTTP traces URL, or a Jaeger collector's …/api/traces
	UseOTEL  bool   // the standard OTEL_EXPORTER_OTLP_* variables name an endpoint
	Service  string // service.name
	Pod      string
	Names    SpanNames
}

// NewTracing builds the provider. Spans are batched and exported in the background.
func NewTracing(ctx context.Context, o TracingOptions) (*Tracing, error) {
	t := &Tracing{
		Provider:   noop.NewTracerProvider(),
		Propagator: propagation.TraceContext{},
		Names:      o.Names,
		shutdown:   func(context.Context) error { return nil },
	}
	if o.Endpoint == "" && !o.UseOTEL {
		return t, nil
	}
	exp, err := newExporter(ctx, o)
	if err != nil {
		return nil, err
	}
	attrs := []attribute.KeyValue{semconv.ServiceName(o.Service)}
	if o.Pod != "" {
		attrs = append(attrs, semconv.K8SPodName(o.Pod))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Second)),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
	)
	t.Provider = tp
	t.shutdown = tp.Shutdown
	return t, nil
}

// newExporter picks the wire form from the URL: a Jaeger collector's /api/traces (the
// seed's TRACING value) gets Thrift batches, anything else OTLP/HTTP.
func newExporter(ctx context.Context, o TracingOptions) (sdktrace.SpanExporter, error) {
	if o.Endpoint != "" && IsJaegerCollector(o.Endpoint) {
		return newJaegerExporter(o.Endpoint), nil
	}
	var opts []otlptracehttp.Option
	if o.Endpoint != "" {
		opts = append(opts, otlptracehttp.WithEndpointURL(o.Endpoint))
		if strings.HasPrefix(o.Endpoint, "http://") {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		// The URL may carry a token, so it is not repeated here.
		return nil, fmt.Errorf("telemetry: OTLP traces exporter (TRACING): %w", err)
	}
	return exp, nil
}

// Shutdown flushes spans still in the batcher.
func (t *Tracing) Shutdown(ctx context.Context) error { return t.shutdown(ctx) }

// Inject returns ctx's trace context as a W3C traceparent value, or "" when there is none.
func (t *Tracing) Inject(ctx context.Context) string {
	c := propagation.MapCarrier{}
	t.Propagator.Inject(ctx, c)
	return c["traceparent"]
}

// Extract returns ctx carrying the remote span context of a traceparent value.
func (t *Tracing) Extract(ctx context.Context, traceparent string) context.Context {
	if traceparent == "" {
		return ctx
	}
	return t.Propagator.Extract(ctx, propagation.MapCarrier{"traceparent": traceparent})
}

// SpanContextOf parses a traceparent value, for links.
func (t *Tracing) SpanContextOf(traceparent string) trace.SpanContext {
	return trace.SpanContextFromContext(t.Extract(context.Background(), traceparent))
}
