package kafka

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/config"
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

// TestProduceAfterCloseIsAnError: senders racing Close either get their record
// acknowledged or hear ErrClosed; none panics on sarama's closed input, and every send
// after Close returns ErrClosed.
func TestProduceAfterCloseIsAnError(t *testing.T) {
	b := startTestBroker(t, t.TempDir())
	defer b.Close()
	cfg, err := NewConfig(config.Kafka{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProducer([]string{b.Addr()}, "barrage-info", cfg)
	if err != nil {
		t.Fatal(err)
	}
	rec, _ := barrage.Accept("r1", barrage.Draft{Text: "late"}, time.Now())
	if err := p.Produce(context.Background(), rec); err != nil {
		t.Fatal(err)
	}
	const senders = 16
	errs := make(chan error, senders*1000)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := p.Produce(context.Background(), rec)
				if errors.Is(err, ErrClosed) {
					errs <- err
					return
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrClosed) || !errors.Is(err, ErrUnavailable) {
			t.Errorf("send racing Close: %v, want ErrClosed", err)
		}
	}
	if err := p.Produce(context.Background(), rec); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after Close: %v, want ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}
