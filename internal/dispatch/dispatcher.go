// Package dispatch is the KafkaSource of places without Knative Eventing: a consumer
// group reads the topic, each record goes to the sink as a CloudEvent over HTTP in binary
// mode, failures are retried with backoff, and a record that still fails goes to a dead
// letter topic. Only then is its offset marked, so nothing is dropped.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/barrage-live/barrage/internal/kafka"
	"github.com/barrage-live/barrage/internal/telemetry"
)

// Options are a KafkaSource's delivery settings.
type Options struct {
	Brokers         []string
	Topic           string
	ConsumerGroup   string
	Sink            string        // where events are POSTed
	Source          string        // the source attribute of wrapped records
	Retry           int           // retries after the first attempt
	BackoffDelay    time.Duration // the first retry's delay
	Exponential     bool          // delay doubles per retry; otherwise it grows linearly
	MaxDelay        time.Duration // no wait between retries is longer; 0 caps only at the largest Duration
	Timeout         time.Duration // per attempt
	DeadLetterTopic string
	InitialOldest   bool // start a new group at the oldest offset
	// Unordered delivers up to Concurrency records of a partition at once, as a
	// KafkaSource with ordering: unordered does; offsets are still marked in order.
	Unordered   bool
	Concurrency int
	Tracing     *telemetry.Tracing
}

// Hooks let callers count what happens; any may be nil.
type Hooks struct {
	Delivered    func(status int)
	Retried      func(status int, err error)
	DeadLettered func(reason string)
}

// Dispatcher runs the consumer group until its context ends.
type Dispatcher struct {
	opts   Options
	cfg    *sarama.Config
	client *http.Client
	log    *slog.Logger
	hooks  Hooks
	dlq    deadLetters
}

// New builds a dispatcher. cfg carries the connection settings (SASL, TLS).
func New(opts Options, cfg *sarama.Config, log *slog.Logger, hooks Hooks) (*Dispatcher, error) {
	c := *kafka.Durable(cfg)
	c.Consumer.Offsets.AutoCommit.Enable = true
	c.Consumer.Offsets.AutoCommit.Interval = time.Second
	c.Consumer.Return.Errors = true
	c.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}
	c.Consumer.Offsets.Initial = sarama.OffsetNewest
	if opts.InitialOldest {
		c.Consumer.Offsets.Initial = sarama.OffsetOldest
	}
	if opts.Timeout <= 0 {
		return nil, errors.New("dispatch: timeout must be positive")
	}
	if opts.Tracing == nil {
		opts.Tracing, _ = telemetry.NewTracing(context.Background(), telemetry.TracingOptions{})
	}
	// Keep a connection for each delivery that can be in flight (a partition's share times
	// a few partitions); fewer would close and reopen them under load.
	idle := max(64, 8*opts.Concurrency)
	return &Dispatcher{
		opts:   opts,
		cfg:    &c,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: idle, IdleConnTimeout: 90 * time.Second}},
		log:    log,
		hooks:  hooks,
	}, nil
}

// Run consumes until ctx ends, rejoining the group after every rebalance. It returns
// once every delivery it started has finished; the dead letter producer stays open for
// Close, so shutdown closes it only after that.
func (d *Dispatcher) Run(ctx context.Context) error {
	dlq, err := sarama.NewSyncProducer(d.opts.Brokers, d.cfg)
	if err != nil {
		return fmt.Errorf("dispatch: dead letter producer: %w", err)
	}
	if err := d.dlq.open(dlq); err != nil {
		_ = dlq.Close()
		return err
	}
	group, err := sarama.NewConsumerGroup(d.opts.Brokers, d.opts.ConsumerGroup, d.cfg)
	if err != nil {
		return fmt.Errorf("dispatch: consumer group %s: %w", d.opts.ConsumerGroup, err)
	}
	defer group.Close()
	go func() {
		for err := range group.Errors() {
			d.log.Warn("consumer group error", "err", err)
		}
	}()
	for ctx.Err() == nil {
		if err := group.Consume(ctx, []string{d.opts.Topic}, d); err != nil {
			if errors.Is(err, sarama.ErrClosedConsumerGroup) {
				return nil
			}
			d.log.Warn("consume", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

// Close closes the dead letter producer, waiting for a dead letter being written. Call it
// after Run has returned; a dead letter after Close fails instead of panicking.
func (d *Dispatcher) Close() error { return d.dlq.close() }

// Setup is called by sarama when a new session starts.
func (d *Dispatcher) Setup(s sarama.ConsumerGroupSession) error {
	d.log.Info("partitions assigned", "claims", s.Claims())
	return nil
}

// Cleanup is called by sarama when a session ends.
func (d *Dispatcher) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim delivers a partition's records: in order, one at a time, as a KafkaSource
// with ordered delivery does, or several at once when unordered.
func (d *Dispatcher) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	if d.opts.Unordered && d.opts.Concurrency > 1 {
		return d.consumeUnordered(s, claim)
	}
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			if err := d.handle(s.Context(), m); err != nil {
				return nil // the session ended; the record is redelivered to whoever owns it next
			}
			s.MarkMessage(m, "")
		case <-s.Context().Done():
			return nil
		}
	}
}

// handle returns only once the record is delivered or dead-lettered, or ctx ended.
func (d *Dispatcher) handle(ctx context.Context, m *sarama.ConsumerMessage) error {
	ctx, span := d.opts.Tracing.Provider.Tracer("dispatcher").Start(
		d.opts.Tracing.Extract(ctx, header(m, "traceparent")), "dispatch",
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("messaging.kafka.partition", fmt.Sprint(m.Partition)),
			attribute.Int64("messaging.kafka.offset", m.Offset)))
	defer span.End()
	e, err := ToEvent(m, d.opts.Source)
	if err != nil {
		return d.deadLetter(ctx, m, err.Error(), 0)
	}
	var last error
	status := 0
	for attempt := 0; attempt <= d.opts.Retry; attempt++ {
		if attempt > 0 {
			if d.hooks.Retried != nil {
				d.hooks.Retried(status, last)
			}
			if err := sleep(ctx, d.backoff(attempt)); err != nil {
				return err
			}
		}
		status, last = d.post(ctx, e)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if last == nil {
			if d.hooks.Delivered != nil {
				d.hooks.Delivered(status)
			}
			return nil
		}
		if !retryable(status) {
			break
		}
	}
	return d.deadLetter(ctx, m, last.Error(), status)
}

// backoff follows Knative's delivery spec, exponential delay·2^(n-1) or linear delay·n,
// up to MaxDelay. The product is compared before it becomes a Duration: past about 33
// doublings of seconds it no longer fits in one, and a converted overflow is negative on
// some machines and centuries on others.
func (d *Dispatcher) backoff(attempt int) time.Duration {
	limit := d.opts.MaxDelay
	if limit <= 0 {
		limit = math.MaxInt64
	}
	base := d.opts.BackoffDelay
	if base <= 0 || attempt < 1 {
		return 0
	}
	var f float64
	if d.opts.Exponential {
		f = float64(base) * math.Pow(2, float64(attempt-1))
	} else {
		f = float64(base) * float64(attempt)
	}
	if f >= float64(limit) {
		return limit
	}
	return time.Duration(f)
}

// retryable is KafkaSource's rule: 5xx, 404, 408, 409, 429 and transport errors (status 0).
func retryable(status int) bool {
	switch {
	case status == 0, status >= 500:
		return true
	case status == http.StatusNotFound, status == http.StatusRequestTimeout,
		status == http.StatusConflict, status == http.StatusTooManyRequests:
		return true
	}
	return false
}

func header(m *sarama.ConsumerMessage, key string) string {
	for _, h := range m.Headers {
		if h != nil && string(h.Key) == key {
			return string(h.Value)
		}
	}
	return ""
}

// consumeUnordered keeps up to Concurrency deliveries in flight and marks offsets in
// record order as they finish, so a crash redelivers everything not yet delivered.
func (d *Dispatcher) consumeUnordered(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	type inflight struct {
		m    *sarama.ConsumerMessage
		done chan error
	}
	ctx := s.Context()
	queue := make(chan inflight, d.opts.Concurrency)
	marked := make(chan struct{})
	go func() {
		defer close(marked)
		for f := range queue {
			if err := <-f.done; err != nil {
				for range queue { // the session ended: mark nothing after a gap
				}
				return
			}
			s.MarkMessage(f.m, "")
		}
	}()
	// Every handler has returned before ConsumeClaim does: sarama ends the session only
	// then, Run returns after it, and the dead letter producer closes after that.
	var handlers sync.WaitGroup
	defer func() {
		close(queue)
		<-marked
		handlers.Wait()
	}()
	for {
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			f := inflight{m: m, done: make(chan error, 1)}
			select {
			case queue <- f: // blocks while Concurrency deliveries are unfinished
			case <-ctx.Done():
				return nil
			}
			handlers.Add(1)
			go func() {
				defer handlers.Done()
				f.done <- d.handle(ctx, m)
			}()
		case <-ctx.Done():
			return nil
		}
	}
}
