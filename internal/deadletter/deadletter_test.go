package deadletter

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/kafka"
	"github.com/barrage-live/barrage/internal/problem"
)

const topic = "barrage-info-dead-letter"

func startBroker(t *testing.T) *kafka.Broker {
	t.Helper()
	b, err := kafka.StartBroker(kafka.BrokerOptions{Addr: "127.0.0.1:0", Partitions: 1, Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func newSink(t *testing.T, brokers ...string) (*Sink, *httptest.Server) {
	t.Helper()
	cfg, err := kafka.NewConfig(config.Kafka{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Brokers: brokers, Topic: topic, MaxBodyBytes: 64 << 10, MaxWait: 3 * time.Second},
		cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		_ = s.Close()
	})
	return s, srv
}

// deadLetterHeaders is what Knative's dispatcher sends to a deadLetterSink for a plain
// record it wrapped: the event in binary mode plus its knativeerror* extensions.
func deadLetterHeaders() http.Header {
	h := http.Header{}
	h.Set("Ce-Specversion", "1.0")
	h.Set("Ce-Id", "partition:2/offset:41")
	h.Set("Ce-Source", "/apis/v1/namespaces/default/kafkasources/barrage#barrage-info")
	h.Set("Ce-Type", "dev.knative.kafka.event")
	h.Set("Ce-Subject", "partition:2#41")
	h.Set("Ce-Time", "2026-12-01T20:00:00.123456789Z")
	h.Set("Ce-Key", "lobby")
	h.Set("Ce-Partitionkey", "lobby")
	h.Set("Ce-Kafkaheadertraceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	h.Set("Ce-Knativeerrorcode", "503")
	h.Set("Ce-Knativeerrordest", "http://barrage-processor.default.svc.cluster.local")
	h.Set("Ce-Knativeerrordata", "eyJzdGF0dXMiOjUwM30=")
	h.Set("Content-Type", "application/json")
	return h
}

func post(t *testing.T, url string, h http.Header, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header = h
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// readRecords reads the whole topic back with a consumer of its own.
func readRecords(t *testing.T, addr string) []*sarama.ConsumerMessage {
	t.Helper()
	c, err := sarama.NewConsumer([]string{addr}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var out []*sarama.ConsumerMessage
	for int64(len(out)) < pc.HighWaterMarkOffset() {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
		case <-time.After(10 * time.Second):
			t.Fatalf("read %d of %d records", len(out), pc.HighWaterMarkOffset())
		}
	}
	return out
}

func headerMap(m *sarama.ConsumerMessage) map[string]string {
	out := map[string]string{}
	for _, h := range m.Headers {
		out[string(h.Key)] = string(h.Value)
	}
	return out
}

func TestRecordKeepsKeyHeadersAndAttributes(t *testing.T) {
	b := startBroker(t)
	_, srv := newSink(t, b.Addr())
	body := `{"id":"b1","room":"lobby","text":"hello","acceptedAt":"2026-12-01T20:00:00Z"}`
	if status, resp := post(t, srv.URL, deadLetterHeaders(), body); status != http.StatusOK {
		t.Fatalf("status %d: %s", status, resp)
	}
	recs := readRecords(t, b.Addr())
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	if string(r.Key) != "lobby" || string(r.Value) != body {
		t.Errorf("key %q value %q", r.Key, r.Value)
	}
	got := headerMap(r)
	want := map[string]string{
		"ce_specversion": "1.0", "ce_id": "partition:2/offset:41", "ce_type": "dev.knative.kafka.event",
		"ce_source":  "/apis/v1/namespaces/default/kafkasources/barrage#barrage-info",
		"ce_subject": "partition:2#41", "ce_time": "2026-12-01T20:00:00.123456789Z",
		"ce_key": "lobby", "ce_partitionkey": "lobby", "content-type": "application/json",
		"traceparent":         "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
		"ce_knativeerrorcode": "503", "ce_knativeerrordest": "http://barrage-processor.default.svc.cluster.local",
		"ce_knativeerrordata": "eyJzdGF0dXMiOjUwM30=",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("header %s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("headers %v, want exactly %v", got, want)
	}
}

func TestStructuredEventIsWrittenToo(t *testing.T) {
	b := startBroker(t)
	_, srv := newSink(t, b.Addr())
	h := http.Header{}
	h.Set("Content-Type", "application/cloudevents+json")
	body := `{"specversion":"1.0","id":"e1","source":"/s","type":"t","partitionkey":"r2","datacontenttype":"application/json","data":{"text":"x"}}`
	if status, resp := post(t, srv.URL, h, body); status != http.StatusOK {
		t.Fatalf("status %d: %s", status, resp)
	}
	r := readRecords(t, b.Addr())[0]
	if string(r.Key) != "r2" || string(r.Value) != `{"text":"x"}` || headerMap(r)["ce_id"] != "e1" {
		t.Errorf("record %q %q %v", r.Key, r.Value, headerMap(r))
	}
}

func TestBadEventIsRefusedAndNotWritten(t *testing.T) {
	b := startBroker(t)
	_, srv := newSink(t, b.Addr())
	noID := deadLetterHeaders()
	noID.Del("Ce-Id")
	badTime := deadLetterHeaders()
	badTime.Set("Ce-Time", "yesterday")
	structured := http.Header{}
	structured.Set("Content-Type", "application/cloudevents+json")
	tests := []struct {
		name   string
		header http.Header
		body   string
		want   int
	}{
		{"plain JSON, not an event", http.Header{"Content-Type": {"application/json"}}, `{"text":"hi"}`, http.StatusBadRequest},
		{"no id", noID, `{}`, http.StatusBadRequest},
		{"bad time", badTime, `{}`, http.StatusBadRequest},
		{"broken structured event", structured, `{"specversion":`, http.StatusBadRequest},
		{"larger than the processor takes", deadLetterHeaders(), `"` + strings.Repeat("a", 64<<10) + `"`, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, srv.URL, tt.header, tt.body)
			if status != tt.want {
				t.Fatalf("status %d, want %d: %s", status, tt.want, body)
			}
			var p problem.Details
			if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != tt.want || p.Detail == "" {
				t.Errorf("problem %q: %+v %v", body, p, err)
			}
		})
	}
	// Nothing of the above reached the topic: the first record is the next good one.
	if status, _ := post(t, srv.URL, deadLetterHeaders(), `{"text":"good"}`); status != http.StatusOK {
		t.Fatalf("good event: %d", status)
	}
	recs := readRecords(t, b.Addr())
	if len(recs) != 1 || string(recs[0].Value) != `{"text":"good"}` {
		t.Fatalf("%d records, first %q", len(recs), recs[0].Value)
	}
}

func TestKafkaDownAnswers503(t *testing.T) {
	// An address where nothing listens.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nowhere := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name    string
		upFirst bool // Kafka takes one write, then goes away
	}{
		{"never reachable", false},
		{"gone after the first write", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := nowhere
			var b *kafka.Broker
			if tt.upFirst {
				b, err = kafka.StartBroker(kafka.BrokerOptions{Addr: "127.0.0.1:0", Partitions: 1, Topics: []string{topic}})
				if err != nil {
					t.Fatal(err)
				}
				addr = b.Addr()
			}
			s, srv := newSink(t, addr)
			if b != nil {
				if status, _ := post(t, srv.URL, deadLetterHeaders(), `{"n":1}`); status != http.StatusOK {
					t.Fatalf("first write while Kafka is up: %d", status)
				}
				b.Close()
			}
			status, body := post(t, srv.URL, deadLetterHeaders(), `{"n":2}`)
			if status != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503: %s", status, body)
			}
			var p problem.Details
			if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != http.StatusServiceUnavailable {
				t.Errorf("problem %q: %v", body, err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := s.Ready(ctx); err == nil {
				t.Error("Ready with Kafka down")
			}
		})
	}
}

func TestReadyWhenKafkaAnswers(t *testing.T) {
	b := startBroker(t)
	s, _ := newSink(t, b.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		t.Fatal(err)
	}
}
