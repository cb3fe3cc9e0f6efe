package app

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"

	"github.com/barrage-live/barrage/internal/store"
)

// jaegerCollector is a Jaeger collector's HTTP endpoint: it decodes each POSTed Thrift
// batch with Jaeger's own types and keeps the spans.
type jaegerCollector struct {
	path     string
	mu       sync.Mutex
	spans    []*jaeger.Span
	services map[string]bool
	bad      int
}

func (c *jaegerCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b := jaeger.NewBatch()
	proto := thrift.NewTBinaryProtocolConf(thrift.NewStreamTransportR(bytes.NewReader(body)), &thrift.TConfiguration{})
	err := b.Read(context.Background(), proto)
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.URL.Path != c.path || r.Header.Get("Content-Type") != "application/vnd.apache.thrift.binary" || err != nil {
		c.bad++
		http.Error(w, "bad batch", http.StatusBadRequest)
		return
	}
	c.spans = append(c.spans, b.Spans...)
	c.services[b.Process.ServiceName] = true
	w.WriteHeader(http.StatusAccepted)
}

func (c *jaegerCollector) find(name string, match func(*jaeger.Span) bool) *jaeger.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.spans {
		if s.OperationName == name && (match == nil || match(s)) {
			return s
		}
	}
	return nil
}

func hasTag(s *jaeger.Span, key, value string) bool {
	for _, t := range s.Tags {
		if t.Key == key && t.VStr != nil && *t.VStr == value {
			return true
		}
	}
	return false
}

// TestSeedTracingURLGetsJaeger sets TRACING as the seed does, to a Jaeger collector's
// /api/traces with a token in the path, and checks that one barrage's trace arrives there
// in Jaeger's Thrift form with the seed's span names, and that the token is never logged.
func TestSeedTracingURLGetsJaeger(t *testing.T) {
	const token = "adapt_s3cr3tT0ken@0123456789abcdef_tracing"
	coll := &jaegerCollector{path: "/" + token + "/api/traces", services: map[string]bool{}}
	srv := httptest.NewServer(coll)
	defer srv.Close()
	a, logs := startDevLogged(t, t.TempDir(), map[string]string{"TRACING": srv.URL + coll.path})
	base := "http://" + a.HomePage
	feed := stream(t, base, "jaeger")
	status, out := send(t, base, "jaeger", `{"text":"traced the seed's way"}`)
	if status != http.StatusAccepted {
		t.Fatalf("send: %d", status)
	}
	id := out["id"].(string)
	receive(t, feed, func(r store.Record) bool { return r.ID == id })

	ofBarrage := func(s *jaeger.Span) bool { return hasTag(s, "barrage.id", id) }
	var root, sender, process *jaeger.Span
	deadline := time.Now().Add(30 * time.Second)
	for root == nil || process == nil || coll.find("result", nil) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("spans missing: barrage-sender %v, sender %v, process %v", root != nil, sender != nil, process != nil)
		}
		time.Sleep(50 * time.Millisecond)
		sender = coll.find("sender", ofBarrage)
		process = coll.find("process", ofBarrage)
		if sender != nil {
			root = coll.find("barrage-sender", func(s *jaeger.Span) bool { return s.SpanId == sender.ParentSpanId })
		}
	}
	if sender.TraceIdLow != root.TraceIdLow || process.TraceIdLow != root.TraceIdLow || process.TraceIdHigh != root.TraceIdHigh {
		t.Fatal("sender and process are not in the barrage-sender's trace")
	}
	if len(sender.References) == 0 || sender.References[0].RefType != jaeger.SpanRefType_CHILD_OF {
		t.Fatalf("sender carries no CHILD_OF reference: %v", sender.References)
	}
	coll.mu.Lock()
	services, bad := coll.services, coll.bad
	coll.mu.Unlock()
	if !services["barrage-dev"] || bad != 0 {
		t.Fatalf("services %v, refused batches %d", services, bad)
	}
	if strings.Contains(logs.String(), token) {
		t.Fatal("the tracing token reached the log")
	}
}
