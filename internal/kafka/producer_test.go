package kafka

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/barrage-live/barrage/internal/barrage"
)

// silentProducer takes records and never answers, like a broker that stopped responding.
type silentProducer struct {
	sarama.AsyncProducer
	in chan *sarama.ProducerMessage
}

func (s silentProducer) Input() chan<- *sarama.ProducerMessage { return s.in }

func TestProduceGivesUpWhenKafkaDoesNotAnswer(t *testing.T) {
	stuck := silentProducer{in: make(chan *sarama.ProducerMessage, 1)}
	p := &Producer{async: stuck, topic: "barrage-info", wait: 50 * time.Millisecond}
	b, err := barrage.Accept("r", barrage.Draft{Text: "hello"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Taken but never acknowledged, then not even taken (the input is full): each time
	// the sender hears that the outcome is unknown, with the reason. The second try reuses
	// the first one's timer.
	for _, want := range []string{"no acknowledgement within 50ms", "took nothing within 50ms"} {
		err := p.Produce(context.Background(), b)
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v, want ErrUnavailable saying %q", err, want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Produce(ctx, b); !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled send: %v", err)
	}
}
