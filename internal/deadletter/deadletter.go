// Package deadletter is the dead-letter sink of a KafkaSource: a CloudEvents receiver that
// writes every event it gets to the Kafka dead-letter topic and answers 2xx only once Kafka
// has acknowledged the record. It never touches the store, so it stays up while the store
// is down, which is exactly when dead letters arrive.
package deadletter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/barrage-live/barrage/internal/kafka"
)

// Options configure the sink.
type Options struct {
	Brokers      []string
	Topic        string        // the dead-letter topic
	MaxBodyBytes int64         // the largest event body taken, as the processor's
	MaxWait      time.Duration // longest a write waits for Kafka before answering 503
}

// Hooks let callers count outcomes; any may be nil. They are called from request
// goroutines, so they must be safe for concurrent use.
type Hooks struct {
	Written  func()
	Rejected func(reason string)
	Failed   func(err error)
}

// Sink takes dead letters over HTTP and writes them to Kafka.
type Sink struct {
	opts  Options
	cfg   *sarama.Config
	log   *slog.Logger
	hooks Hooks

	mu       sync.Mutex
	client   sarama.Client
	producer sarama.SyncProducer
}

// DefaultMaxWait bounds a write: past it the sink answers 503 and the source retries,
// which at worst writes the dead letter twice; the store write downstream is idempotent.
const DefaultMaxWait = 10 * time.Second

// New builds a sink. cfg carries the connection settings (SASL, TLS); the sink connects on
// first use, so it starts, and says it is not ready, while Kafka is away.
func New(opts Options, cfg *sarama.Config, log *slog.Logger, hooks Hooks) (*Sink, error) {
	if len(opts.Brokers) == 0 || opts.Topic == "" {
		return nil, errors.New("deadletter: brokers and topic are required")
	}
	if opts.MaxBodyBytes <= 0 {
		return nil, errors.New("deadletter: MaxBodyBytes must be positive")
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = DefaultMaxWait
	}
	c := kafka.Durable(cfg)
	c.Producer.Retry.Max = 3
	c.Producer.Retry.Backoff = 250 * time.Millisecond
	c.Producer.Timeout = 5 * time.Second
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("deadletter: producer settings: %w", err)
	}
	return &Sink{opts: opts, cfg: c, log: log, hooks: hooks}, nil
}

// Handler serves POST / for CloudEvents. The lead's auth middleware wraps what this returns.
func (s *Sink) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /", s.receive)
	return mux
}

// connect returns the producer, dialling Kafka the first time and after a failed dial.
func (s *Sink) connect() (sarama.Client, sarama.SyncProducer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.producer != nil {
		return s.client, s.producer, nil
	}
	client, err := sarama.NewClient(s.opts.Brokers, s.cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("deadletter: connect to Kafka: %w", err)
	}
	producer, err := sarama.NewSyncProducerFromClient(client)
	if err != nil {
		_ = client.Close()
		return nil, nil, fmt.Errorf("deadletter: producer: %w", err)
	}
	s.client, s.producer = client, producer
	return client, producer, nil
}

// Ready reports whether Kafka answers for the dead-letter topic.
func (s *Sink) Ready(ctx context.Context) error {
	return s.wait(ctx, func() error {
		client, _, err := s.connect()
		if err != nil {
			return err
		}
		if err := client.RefreshMetadata(s.opts.Topic); err != nil {
			return fmt.Errorf("deadletter: metadata of %s: %w", s.opts.Topic, err)
		}
		return nil
	})
}

// write produces msg and returns once Kafka acknowledged it, or with an error when it did
// not within MaxWait: then the outcome is unknown and the source must send it again.
func (s *Sink) write(ctx context.Context, msg *sarama.ProducerMessage) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.MaxWait)
	defer cancel()
	return s.wait(ctx, func() error {
		_, producer, err := s.connect()
		if err != nil {
			return err
		}
		if _, _, err := producer.SendMessage(msg); err != nil {
			return fmt.Errorf("deadletter: produce to %s: %w", s.opts.Topic, err)
		}
		return nil
	})
}

// wait runs f, which sarama does not let us cancel, and gives up on it when ctx ends.
func (s *Sink) wait(ctx context.Context, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("deadletter: no answer from Kafka: %w", ctx.Err())
	}
}

// Close flushes and disconnects.
func (s *Sink) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.producer == nil {
		return nil
	}
	err := s.producer.Close()
	if cerr := s.client.Close(); cerr != nil && !errors.Is(cerr, sarama.ErrClosedClient) {
		err = errors.Join(err, cerr)
	}
	s.producer, s.client = nil, nil
	return err
}
