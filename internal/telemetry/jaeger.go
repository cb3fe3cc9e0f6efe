package telemetry

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
)

// IsJaegerCollector reports whether a TRACING URL is a Jaeger collector's HTTP endpoint,
// which takes Thrift batches at /api/traces, rather than an OTLP one. The seed's value
// (an Alibaba tracing URL) is of this kind.
func IsJaegerCollector(endpoint string) bool {
	u, err := url.Parse(endpoint)
	return err == nil && strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/api/traces")
}

// jaegerExporter posts spans to a Jaeger collector as one Thrift-encoded Batch per export.
// No maintained OpenTelemetry exporter speaks this form any more, so the spans are mapped
// onto Jaeger's own generated types here.
type jaegerExporter struct {
	endpoint string
	client   *http.Client
}

func newJaegerExporter(endpoint string) *jaegerExporter {
	return &jaegerExporter{endpoint: endpoint, client: &http.Client{Timeout: 10 * time.Second}}
}

// errJaegerPost never carries the URL: Alibaba's tracing URLs hold a token in the path.
var errJaegerPost = errors.New("telemetry: jaeger collector")

func (e *jaegerExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if len(spans) == 0 {
		return nil
	}
	body, err := encodeJaegerBatch(ctx, jaegerBatch(spans))
	if err != nil {
		return fmt.Errorf("telemetry: encode jaeger batch: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%w: request: invalid URL", errJaegerPost)
	}
	req.Header.Set("Content-Type", "application/vnd.apache.thrift.binary")
	resp, err := e.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the URL
		}
		return fmt.Errorf("%w: post: %w", errJaegerPost, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%w: answered %d", errJaegerPost, resp.StatusCode)
	}
	return nil
}

func (e *jaegerExporter) Shutdown(context.Context) error {
	e.client.CloseIdleConnections()
	return nil
}

func encodeJaegerBatch(ctx context.Context, b *jaeger.Batch) ([]byte, error) {
	buf := thrift.NewTMemoryBuffer()
	if err := b.Write(ctx, thrift.NewTBinaryProtocolConf(buf, &thrift.TConfiguration{})); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// jaegerBatch maps spans of one process onto a Batch; the process is the first span's
// resource, since one provider has one.
func jaegerBatch(spans []sdktrace.ReadOnlySpan) *jaeger.Batch {
	proc := &jaeger.Process{ServiceName: "barrage"}
	for _, kv := range spans[0].Resource().Attributes() {
		if kv.Key == semconv.ServiceNameKey {
			proc.ServiceName = kv.Value.Emit()
			continue
		}
		proc.Tags = append(proc.Tags, jaegerTag(kv))
	}
	b := &jaeger.Batch{Process: proc, Spans: make([]*jaeger.Span, 0, len(spans))}
	for _, s := range spans {
		b.Spans = append(b.Spans, jaegerSpan(s))
	}
	return b
}

func jaegerSpan(s sdktrace.ReadOnlySpan) *jaeger.Span {
	sc := s.SpanContext()
	low, high := traceIDHalves(sc.TraceID())
	js := &jaeger.Span{
		TraceIdLow:    low,
		TraceIdHigh:   high,
		SpanId:        spanIDInt(sc.SpanID()),
		OperationName: s.Name(),
		StartTime:     s.StartTime().UnixMicro(),
		Duration:      s.EndTime().Sub(s.StartTime()).Microseconds(),
	}
	if sc.IsSampled() {
		js.Flags = 1
	}
	if p := s.Parent(); p.IsValid() {
		js.ParentSpanId = spanIDInt(p.SpanID())
		js.References = append(js.References, spanRef(jaeger.SpanRefType_CHILD_OF, p))
	}
	for _, l := range s.Links() {
		js.References = append(js.References, spanRef(jaeger.SpanRefType_FOLLOWS_FROM, l.SpanContext))
	}
	for _, kv := range s.Attributes() {
		js.Tags = append(js.Tags, jaegerTag(kv))
	}
	if k := s.SpanKind(); k != trace.SpanKindInternal && k != trace.SpanKindUnspecified {
		js.Tags = append(js.Tags, jaegerTag(attribute.String("span.kind", k.String())))
	}
	if scope := s.InstrumentationScope(); scope.Name != "" {
		js.Tags = append(js.Tags, jaegerTag(attribute.String("otel.scope.name", scope.Name)))
	}
	if st := s.Status(); st.Code == codes.Error {
		js.Tags = append(js.Tags, jaegerTag(attribute.Bool("error", true)))
		if st.Description != "" {
			js.Tags = append(js.Tags, jaegerTag(attribute.String("otel.status_description", st.Description)))
		}
	}
	for _, ev := range s.Events() {
		l := &jaeger.Log{Timestamp: ev.Time.UnixMicro(), Fields: []*jaeger.Tag{jaegerTag(attribute.String("event", ev.Name))}}
		for _, kv := range ev.Attributes {
			l.Fields = append(l.Fields, jaegerTag(kv))
		}
		js.Logs = append(js.Logs, l)
	}
	return js
}

func spanRef(kind jaeger.SpanRefType, sc trace.SpanContext) *jaeger.SpanRef {
	low, high := traceIDHalves(sc.TraceID())
	return &jaeger.SpanRef{RefType: kind, TraceIdLow: low, TraceIdHigh: high, SpanId: spanIDInt(sc.SpanID())}
}

// traceIDHalves splits a 128-bit trace id the way Jaeger stores it: the high half first.
func traceIDHalves(id trace.TraceID) (low, high int64) {
	return int64(binary.BigEndian.Uint64(id[8:])), int64(binary.BigEndian.Uint64(id[:8]))
}

func spanIDInt(id trace.SpanID) int64 { return int64(binary.BigEndian.Uint64(id[:])) }

func jaegerTag(kv attribute.KeyValue) *jaeger.Tag {
	t := &jaeger.Tag{Key: string(kv.Key)}
	switch kv.Value.Type() {
	case attribute.BOOL:
		v := kv.Value.AsBool()
		t.VType, t.VBool = jaeger.TagType_BOOL, &v
	case attribute.INT64:
		v := kv.Value.AsInt64()
		t.VType, t.VLong = jaeger.TagType_LONG, &v
	case attribute.FLOAT64:
		v := kv.Value.AsFloat64()
		t.VType, t.VDouble = jaeger.TagType_DOUBLE, &v
	default: // strings, and slices as their JSON form
		v := kv.Value.Emit()
		t.VType, t.VStr = jaeger.TagType_STRING, &v
	}
	return t
}
