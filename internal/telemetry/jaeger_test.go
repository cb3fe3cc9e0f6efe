package telemetry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
)

func TestIsJaegerCollector(t *testing.T) {
	tests := []struct {
		name, url string
		want      bool
	}{
		{"seed", "http://tracing-analysis-dc-sh.aliyuncs.com/adapt_a@b_c@d/api/traces", true},
		{"trailing slash", "http://jaeger:14268/api/traces/", true},
		{"otlp", "http://collector:4318/v1/traces", false},
		{"traces elsewhere", "http://collector/api/traces/v2", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsJaegerCollector(tc.url); got != tc.want {
				t.Fatalf("IsJaegerCollector(%q) = %v", tc.url, got)
			}
		})
	}
}

func TestJaegerSpanKeepsLinksStatusAndEvents(t *testing.T) {
	tid := trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	linked := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{9}, SpanID: trace.SpanID{7}})
	parent := trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{5}})
	start := time.Unix(1700000000, 0)
	stub := tracetest.SpanStub{
		Name:        "process",
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: trace.SpanID{0, 0, 0, 0, 0, 0, 0, 6}, TraceFlags: trace.FlagsSampled}),
		Parent:      parent,
		SpanKind:    trace.SpanKindServer,
		StartTime:   start,
		EndTime:     start.Add(1500 * time.Microsecond),
		Attributes:  []attribute.KeyValue{attribute.String("barrage.id", "b1"), attribute.Int("barrage.batch", 3)},
		Links:       []sdktrace.Link{{SpanContext: linked}},
		Events:      []sdktrace.Event{{Name: "retry", Time: start}},
		Status:      sdktrace.Status{Code: codes.Error, Description: "store down"},
	}
	js := jaegerSpan(stub.Snapshot())
	if js.OperationName != "process" || js.SpanId != 6 || js.Duration != 1500 || js.Flags != 1 {
		t.Fatalf("span fields: %+v", js)
	}
	if js.TraceIdHigh != 0x0102030405060708 || js.TraceIdLow != 0x090a0b0c0d0e0f10 {
		t.Fatalf("trace id halves: %x %x", js.TraceIdHigh, js.TraceIdLow)
	}
	if len(js.References) != 2 || js.References[0].RefType != jaeger.SpanRefType_CHILD_OF ||
		js.References[1].RefType != jaeger.SpanRefType_FOLLOWS_FROM {
		t.Fatalf("references: %v", js.References)
	}
	tags := map[string]*jaeger.Tag{}
	for _, tag := range js.Tags {
		tags[tag.Key] = tag
	}
	if tags["barrage.batch"].GetVLong() != 3 || tags["error"].GetVBool() != true || tags["span.kind"].GetVStr() != "server" {
		t.Fatalf("tags: %v", js.Tags)
	}
	if len(js.Logs) != 1 || js.Logs[0].Fields[0].GetVStr() != "retry" {
		t.Fatalf("logs: %v", js.Logs)
	}
}

func TestJaegerExportErrorsHideTheURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	}))
	defer srv.Close()
	const token = "adapt_secret@token"
	stub := tracetest.SpanStub{Name: "sender", SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{1}})}
	for _, url := range []string{srv.URL + "/" + token + "/api/traces", "http://127.0.0.1:1/" + token + "/api/traces"} {
		err := newJaegerExporter(url).ExportSpans(context.Background(), []sdktrace.ReadOnlySpan{stub.Snapshot()})
		if !errors.Is(err, errJaegerPost) || strings.Contains(err.Error(), token) {
			t.Fatalf("export to %s: %v", url, err)
		}
	}
}
