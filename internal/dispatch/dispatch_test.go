package dispatch

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/kafka"
)

func TestToEvent(t *testing.T) {
	b, _ := barrage.Accept("room", barrage.Draft{Text: "x"}, time.Now())
	rec, err := kafka.Record("barrage-info", b, kafka.Header{Key: "traceparent", Value: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
	if err != nil {
		t.Fatal(err)
	}
	m := &sarama.ConsumerMessage{Topic: "barrage-info", Partition: 2, Offset: 41, Key: []byte("room")}
	val, _ := rec.Value.Encode()
	m.Value = val
	for i := range rec.Headers {
		m.Headers = append(m.Headers, &rec.Headers[i])
	}
	e, err := ToEvent(m, "/src")
	if err != nil {
		t.Fatal(err)
	}
	if e.Type() != barrage.EventType || e.ID() != b.ID || e.Source() != barrage.EventSource {
		t.Fatalf("binary record not forwarded as is: %s", e)
	}
	if e.Extensions()["traceparent"] == nil {
		t.Fatalf("traceparent lost: %v", e.Extensions())
	}

	plain := &sarama.ConsumerMessage{Topic: "barrage-info", Partition: 1, Offset: 7, Key: []byte("r1"),
		Value: []byte(`{"text":"typed"}`), Headers: []*sarama.RecordHeader{{Key: []byte("X-Trace"), Value: []byte("v")}}}
	e, err = ToEvent(plain, "/apis/v1/namespaces/default/kafkasources/barrage#barrage-info")
	if err != nil {
		t.Fatal(err)
	}
	if e.Type() != "dev.knative.kafka.event" || e.ID() != "partition:1/offset:7" || e.Subject() != "partition:1#7" {
		t.Fatalf("plain record not wrapped like a KafkaSource: %s", e)
	}
	if e.Extensions()["key"] != "r1" || e.Extensions()["kafkaheaderxtrace"] != "v" {
		t.Fatalf("extensions: %v", e.Extensions())
	}
}

func TestRetryable(t *testing.T) {
	for status, want := range map[int]bool{0: true, 500: true, 503: true, 404: true, 408: true, 409: true, 429: true, 400: false, 401: false, 422: false} {
		if retryable(status) != want {
			t.Errorf("retryable(%d) = %v", status, !want)
		}
	}
}

// TestDeliveryRetriesThenDeadLetters runs the dispatcher against the embedded broker: a
// sink that fails twice gets the event on the third try; a sink that answers 400 sends
// the record to the dead letter topic; both offsets move on.
func TestDeliveryRetriesThenDeadLetters(t *testing.T) {
	broker, err := kafka.StartBroker(kafka.BrokerOptions{Addr: "127.0.0.1:0", Partitions: 1, Topics: []string{"in", "dlq"}})
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	cfg, _ := kafka.NewConfig(config.Kafka{}, "test")

	var mu sync.Mutex
	attempts := map[string]int{}
	var delivered atomic.Int32
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id := r.Header.Get("Ce-Id")
		mu.Lock()
		attempts[id]++
		n := attempts[id]
		mu.Unlock()
		switch {
		case string(body) == `{"text":"poison"}`:
			w.WriteHeader(http.StatusBadRequest)
		case n < 3:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			delivered.Add(1)
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer sink.Close()

	var deadLettered atomic.Int32
	d, err := New(Options{
		Brokers: []string{broker.Addr()}, Topic: "in", ConsumerGroup: "g", Sink: sink.URL, Source: "/s",
		Retry: 5, BackoffDelay: 10 * time.Millisecond, Exponential: true, Timeout: 5 * time.Second,
		DeadLetterTopic: "dlq", InitialOldest: true,
	}, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Hooks{DeadLettered: func(string) { deadLettered.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Producer.Return.Successes = true
	prod, err := sarama.NewSyncProducer([]string{broker.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	for _, v := range []string{`{"text":"ok"}`, `{"text":"poison"}`} {
		if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "in", Key: sarama.StringEncoder("r"), Value: sarama.StringEncoder(v)}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for delivered.Load() < 1 || deadLettered.Load() < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("delivered %d, dead-lettered %d", delivered.Load(), deadLettered.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	consumer, err := sarama.NewConsumer([]string{broker.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition("dlq", 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	select {
	case m := <-pc.Messages():
		if string(m.Value) != `{"text":"poison"}` {
			t.Fatalf("dead letter holds %s", m.Value)
		}
		reason := ""
		for _, h := range m.Headers {
			if string(h.Key) == "x-barrage-dead-letter-status" {
				reason = string(h.Value)
			}
		}
		if reason != "400" {
			t.Fatalf("dead letter status header %q", reason)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing in the dead letter topic")
	}
}

// TestUnorderedDeliversEverythingAndCommitsTheEnd: with many deliveries in flight and a
// sink that answers out of order, every record arrives and the committed offset reaches
// the end of the partition.
func TestUnorderedDeliversEverythingAndCommitsTheEnd(t *testing.T) {
	broker, err := kafka.StartBroker(kafka.BrokerOptions{Addr: "127.0.0.1:0", Partitions: 2, Topics: []string{"in", "dlq"}})
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	cfg, _ := kafka.NewConfig(config.Kafka{}, "test")
	cfg.Producer.Return.Successes = true
	var mu sync.Mutex
	seen := map[string]int{}
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("Ce-Id")
		// Later records answer sooner, so completions arrive out of order.
		var n int
		fmt.Sscanf(id, "partition:%d/offset:%d", new(int), &n)
		time.Sleep(time.Duration(200-n%200) * 10 * time.Microsecond)
		mu.Lock()
		seen[id]++
		mu.Unlock()
	}))
	defer sink.Close()
	prod, err := sarama.NewSyncProducer([]string{broker.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 400
	for i := range n {
		if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "in", Key: sarama.StringEncoder(fmt.Sprint(i % 7)), Value: sarama.StringEncoder(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	prod.Close()
	d, err := New(Options{
		Brokers: []string{broker.Addr()}, Topic: "in", ConsumerGroup: "g", Sink: sink.URL, Source: "/s",
		Retry: 1, BackoffDelay: time.Millisecond, Timeout: 5 * time.Second, DeadLetterTopic: "dlq",
		InitialOldest: true, Unordered: true, Concurrency: 16,
	}, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		got := len(seen)
		mu.Unlock()
		if got == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d delivered", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	for id, c := range seen {
		if c != 1 {
			t.Errorf("%s delivered %d times", id, c)
		}
	}
	mu.Unlock()
	// A delivery the sink has answered is marked just after; a cancel in between leaves
	// it for redelivery, which is right, so the commits are waited for before stopping.
	admin, err := sarama.NewClusterAdmin([]string{broker.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	client, err := sarama.NewClient([]string{broker.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ends := map[int32]int64{}
	for _, p := range []int32{0, 1} {
		if ends[p], err = client.GetOffset("in", p, sarama.OffsetNewest); err != nil {
			t.Fatal(err)
		}
	}
	for committed := map[int32]int64{}; ; time.Sleep(50 * time.Millisecond) {
		offsets, err := admin.ListConsumerGroupOffsets("g", map[string][]int32{"in": {0, 1}})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []int32{0, 1} {
			committed[p] = offsets.GetBlock("in", p).Offset
		}
		if committed[0] == ends[0] && committed[1] == ends[1] {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("committed %v, ends %v", committed, ends)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}
