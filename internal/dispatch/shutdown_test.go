package dispatch

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/kafka"
)

// TestBackoffIsCappedForEveryRetryCount covers every retry count config allows, on both
// policies: the delay is positive, never shrinks and never passes the cap, including
// counts whose uncapped delay does not fit in a Duration.
func TestBackoffIsCappedForEveryRetryCount(t *testing.T) {
	tests := []struct {
		name        string
		exponential bool
		base, cap   time.Duration
	}{
		{"exponential, default cap", true, 2 * time.Second, time.Minute},
		{"linear, default cap", false, 2 * time.Second, time.Minute},
		{"exponential, cap equals base", true, time.Second, time.Second},
		{"linear, long cap", false, time.Hour, 24 * time.Hour},
		{"exponential, no cap set", true, 2 * time.Second, 0},
		{"linear, no cap set", false, 2 * time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Dispatcher{opts: Options{BackoffDelay: tt.base, Exponential: tt.exponential, MaxDelay: tt.cap}}
			limit := tt.cap
			if limit == 0 {
				limit = math.MaxInt64
			}
			prev := time.Duration(0)
			for attempt := 1; attempt <= 100; attempt++ {
				got := d.backoff(attempt)
				if got <= 0 || got > limit || got < prev {
					t.Fatalf("retry %d: delay %v (previous %v, cap %v)", attempt, got, prev, limit)
				}
				prev = got
			}
			if tt.cap > 0 && prev != tt.cap {
				t.Fatalf("retry 100 waits %v, want the cap %v", prev, tt.cap)
			}
			if first := d.backoff(1); first != min(tt.base, limit) {
				t.Fatalf("first retry waits %v, want %v", first, tt.base)
			}
		})
	}
}

func TestDeadLetterAfterCloseIsAnError(t *testing.T) {
	broker, err := kafka.StartBroker(kafka.BrokerOptions{Addr: "127.0.0.1:0", Partitions: 1, Topics: []string{"dlq"}})
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	cfg, _ := kafka.NewConfig(config.Kafka{}, "test")
	cfg.Producer.Return.Successes = true
	p, err := sarama.NewSyncProducer([]string{broker.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var l deadLetters
	if err := l.open(p); err != nil {
		t.Fatal(err)
	}
	msg := &sarama.ProducerMessage{Topic: "dlq", Value: sarama.StringEncoder("x")}
	if err := l.send(msg); err != nil {
		t.Fatal(err)
	}
	if err := l.close(); err != nil {
		t.Fatal(err)
	}
	if err := l.send(msg); !errors.Is(err, errDeadLettersClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if err := l.close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// TestUnorderedRunWaitsForItsDeliveries: a delivery still in its handler (here, blocked in
// the dead-letter hook) when the dispatcher is stopped holds Run until it finishes, even
// when an earlier record's delivery was cut short by the stop, so the dead letter
// producer, closed after Run, is never used after it closes.
func TestUnorderedRunWaitsForItsDeliveries(t *testing.T) {
	broker, err := kafka.StartBroker(kafka.BrokerOptions{Addr: "127.0.0.1:0", Partitions: 1, Topics: []string{"in", "dlq"}})
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	cfg, _ := kafka.NewConfig(config.Kafka{}, "test")
	cfg.Producer.Return.Successes = true
	entered, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Ce-Id") == "partition:0/offset:0" {
			select { // the first record is in flight until the stop cuts it
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.WriteHeader(http.StatusBadRequest) // final: straight to the dead letter topic
	}))
	defer sink.Close()
	defer unblock() // before the sink closes, so a failing run does not hang its cleanup
	prod, err := sarama.NewSyncProducer([]string{broker.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, _, err := prod.SendMessage(&sarama.ProducerMessage{Topic: "in", Value: sarama.StringEncoder(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	prod.Close()

	var calls atomic.Int32
	d, err := New(Options{
		Brokers: []string{broker.Addr()}, Topic: "in", ConsumerGroup: "g", Sink: sink.URL, Source: "/s",
		Retry: 0, BackoffDelay: time.Millisecond, Timeout: 5 * time.Second, DeadLetterTopic: "dlq",
		InitialOldest: true, Unordered: true, Concurrency: 8,
	}, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), Hooks{DeadLettered: func(string) {
		if calls.Add(1) == 1 {
			close(entered)
			<-release
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the record was never dead-lettered")
	}
	cancel()
	// The failure looked for is Run returning now; the window only bounds how long the
	// test watches for it, and passing never depends on it.
	select {
	case err := <-done:
		t.Fatalf("Run returned (%v) while a delivery was still in its handler", err)
	case <-time.After(500 * time.Millisecond):
	}
	unblock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its last delivery finished")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}
