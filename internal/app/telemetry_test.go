package app

import (
	"bufio"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/barrage-live/barrage/internal/store"
)

// otlpReceiver is an OTLP/HTTP traces endpoint that keeps every span it is sent.
type otlpReceiver struct {
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (o *otlpReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req collectortrace.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			o.spans = append(o.spans, ss.Spans...)
		}
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

// byName returns the spans named name that belong to the barrage with the given id.
func (o *otlpReceiver) find(name, barrageID string) *tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.spans {
		if s.Name != name {
			continue
		}
		if barrageID == "" {
			return s
		}
		for _, a := range s.Attributes {
			if a.Key == "barrage.id" && a.Value.GetStringValue() == barrageID {
				return s
			}
		}
	}
	return nil
}

func (o *otlpReceiver) byID(spanID []byte) *tracepb.Span {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.spans {
		if string(s.SpanId) == string(spanID) {
			return s
		}
	}
	return nil
}

// TestOneBarrageOneTrace sends a barrage through dev mode with tracing on and checks one
// trace arrives with the seed's span names, parented across every hop, and that the
// live stream's span links back to it.
func TestOneBarrageOneTrace(t *testing.T) {
	recv := &otlpReceiver{}
	collector := httptest.NewServer(recv)
	defer collector.Close()
	a := startDev(t, t.TempDir(), map[string]string{"TRACING": collector.URL + "/v1/traces"})
	base := "http://" + a.HomePage
	feed := stream(t, base, "traced")
	status, out := send(t, base, "traced", `{"text":"follow me"}`)
	if status != http.StatusAccepted {
		t.Fatalf("send: %d", status)
	}
	id := out["id"].(string)
	receive(t, feed, func(r store.Record) bool { return r.ID == id })

	var root, sender, process *tracepb.Span
	deadline := time.Now().Add(30 * time.Second)
	for root == nil || sender == nil || process == nil || recv.find("result", "") == nil {
		if time.Now().After(deadline) {
			t.Fatalf("spans missing: barrage-sender %v, sender %v, process %v", root != nil, sender != nil, process != nil)
		}
		time.Sleep(50 * time.Millisecond)
		sender = recv.find("sender", id)
		process = recv.find("process", id)
		if sender != nil {
			root = recv.byID(sender.ParentSpanId)
		}
	}
	if root.Name != "barrage-sender" {
		t.Fatalf("sender's parent is %q, want barrage-sender", root.Name)
	}
	// process ← dispatch ← sender ← barrage-sender, all in one trace.
	dispatch := recv.byID(process.ParentSpanId)
	if dispatch == nil || dispatch.Name != "dispatch" || string(dispatch.ParentSpanId) != string(sender.SpanId) {
		t.Fatalf("process is not a child of dispatch, child of sender: %v", dispatch)
	}
	for _, s := range []*tracepb.Span{sender, dispatch, process} {
		if string(s.TraceId) != string(root.TraceId) {
			t.Fatalf("span %s is in trace %s, not %s", s.Name, hex.EncodeToString(s.TraceId), hex.EncodeToString(root.TraceId))
		}
	}
	store := recv.find("store", "")
	if store == nil || string(store.TraceId) != string(root.TraceId) {
		t.Fatal("the store write is not in the barrage's trace")
	}
	linked := false
	recv.mu.Lock()
	for _, s := range recv.spans {
		if s.Name == "result" {
			for _, l := range s.Links {
				if string(l.TraceId) == string(root.TraceId) {
					linked = true
				}
			}
		}
	}
	recv.mu.Unlock()
	if !linked {
		t.Fatal("no result span links to the barrage's trace")
	}
}

// scrape reads the unlabelled and labelled samples of /metrics into a map.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

func TestMetricsCountWhatWasSent(t *testing.T) {
	a := startDev(t, t.TempDir(), nil)
	base := "http://" + a.HomePage
	feed := stream(t, base, "counted")
	var ids []string
	for i := range 3 {
		status, out := send(t, base, "counted", `{"text":"count me `+strconv.Itoa(i)+`"}`)
		if status != http.StatusAccepted {
			t.Fatalf("send: %d", status)
		}
		ids = append(ids, out["id"].(string))
	}
	if status, _ := send(t, base, "counted", `{"text":""}`); status != http.StatusUnprocessableEntity {
		t.Fatalf("bad send: %d", status)
	}
	pending := map[string]bool{ids[0]: true, ids[1]: true, ids[2]: true}
	for len(pending) > 0 {
		// Delivery is unordered in dev mode: take them as they come.
		r := receive(t, feed, func(r store.Record) bool { return pending[r.ID] })
		delete(pending, r.ID)
	}
	var m map[string]float64
	waitFor := time.Now().Add(10 * time.Second)
	for {
		m = scrape(t, base)
		if m["barrage_sse_deliveries_total"] >= 3 || time.Now().After(waitFor) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	want := map[string]float64{
		"barrage_accepted_total":                           3,
		`barrage_rejected_total{reason="Invalid barrage"}`: 1,
		"barrage_processed_total":                          3,
		"barrage_stored_total":                             3,
		`barrage_dispatched_total{status="200"}`:           3,
		"barrage_sse_connections":                          1,
		"barrage_sse_deliveries_total":                     3,
		"barrage_end_to_end_latency_seconds_count":         3,
		"barrage_store_batch_size_sum":                     3,
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if m["barrage_duplicates_total"] != 0 || m["barrage_dead_lettered_total"] != 0 {
		t.Errorf("unexpected duplicates or dead letters: %v %v", m["barrage_duplicates_total"], m["barrage_dead_lettered_total"])
	}
}

// TestMetricsApartFromThePublicPort: with BARRAGE_METRICS_PORT set, /metrics is served
// there alone, and neither the HomePage's port, which the public route reaches, nor the
// processor's carries it.
func TestMetricsApartFromThePublicPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	a := startDev(t, t.TempDir(), map[string]string{"BARRAGE_METRICS_PORT": strconv.Itoa(port)})
	if a.Metrics == "" {
		t.Fatal("no metrics address")
	}
	for _, addr := range []string{a.HomePage, a.Processor} {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("GET %s/metrics: %s, want it not served", addr, resp.Status)
		}
	}
	if got := scrape(t, "http://"+a.Metrics); len(got) == 0 {
		t.Fatal("the metrics port serves no samples")
	} else if _, ok := got["barrage_accepted_total"]; !ok {
		t.Fatalf("the metrics port lacks barrage_accepted_total: %d samples", len(got))
	}
}
