package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/barrage-live/barrage/internal/barrage"
)

// Producer hands accepted barrages to Kafka: idempotent, acknowledged by every in-sync
// replica, keyed by room so a room's barrages keep their order within a partition.
type Producer struct {
	async   sarama.AsyncProducer
	topic   string
	wait    time.Duration
	results sync.WaitGroup

	// input is held for reading while a record goes into async.Input and for writing by
	// Close: sarama closes that channel, and a send on it then would panic.
	input  sync.RWMutex
	closed bool
}

// ErrClosed is returned by Produce once Close has begun. It wraps ErrUnavailable: the
// sender hears 503 and tries again, against a process that is not shutting down.
var ErrClosed = fmt.Errorf("kafka: producer closed: %w", ErrUnavailable)

// MaxWait is how long Produce waits for Kafka's acknowledgement before it gives up and
// says the outcome is unknown: a sender hears 503 rather than hanging on a broker that
// stopped answering.
const MaxWait = 5 * time.Second

// waitTimers are reused: a timer per record, in a context of its own, cost the send path
// more CPU than encoding the record. A stopped timer's channel holds nothing, so reuse is
// safe.
var waitTimers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// NewProducer connects to brokers. cfg comes from NewConfig.
func NewProducer(brokers []string, topic string, cfg *sarama.Config) (*Producer, error) {
	c := Durable(cfg)
	c.Producer.Retry.Max = 3
	c.Producer.Retry.Backoff = 100 * time.Millisecond
	c.Producer.Timeout = 5 * time.Second
	c.Producer.Flush.Frequency = 0 // send as soon as the one request in flight returns: load makes the batches
	async, err := sarama.NewAsyncProducer(brokers, c)
	if err != nil {
		return nil, fmt.Errorf("kafka: producer: %w: %w", ErrUnavailable, err)
	}
	p := &Producer{async: async, topic: topic, wait: MaxWait}
	// Each record carries the channel its sender waits on: no goroutine per record.
	p.results.Add(2)
	go func() {
		defer p.results.Done()
		for m := range async.Successes() {
			m.Metadata.(chan error) <- nil
		}
	}()
	go func() {
		defer p.results.Done()
		for e := range async.Errors() {
			e.Msg.Metadata.(chan error) <- e.Err
		}
	}()
	return p, nil
}

// Header is one extra Kafka record header, such as traceparent.
type Header struct{ Key, Value string }

// Produce writes b as a binary-mode CloudEvent record and returns once Kafka has
// acknowledged it. When ctx ends or MaxWait passes first the outcome is unknown, and the
// error says so: the caller answers 503 and the sender's retry is deduplicated by id
// downstream.
func (p *Producer) Produce(ctx context.Context, b barrage.Barrage, extra ...Header) error {
	msg, err := Record(p.topic, b, extra...)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	msg.Metadata = done
	t := waitTimers.Get().(*time.Timer)
	t.Reset(p.wait)
	defer func() {
		t.Stop()
		waitTimers.Put(t)
	}()
	if err := p.hand(ctx, msg, t); err != nil {
		return unknown(b, err)
	}
	select {
	case err := <-done:
		if err != nil {
			return unknown(b, err)
		}
		return nil
	case <-ctx.Done():
		return unknown(b, ctx.Err())
	case <-t.C:
		return unknown(b, fmt.Errorf("no acknowledgement within %v", p.wait))
	}
}

// hand puts msg into the producer's input unless it is closed.
func (p *Producer) hand(ctx context.Context, msg *sarama.ProducerMessage, t *time.Timer) error {
	p.input.RLock()
	defer p.input.RUnlock()
	if p.closed {
		return ErrClosed
	}
	select {
	case p.async.Input() <- msg:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("the producer took nothing within %v", p.wait)
	}
}

func unknown(b barrage.Barrage, err error) error {
	return fmt.Errorf("kafka: produce %s: %w: %w", b.ID, ErrUnavailable, err)
}

// Close waits for records being handed over, flushes what is in flight and disconnects.
// Later calls to Produce return ErrClosed; a second Close does nothing.
func (p *Producer) Close() error {
	p.input.Lock()
	already := p.closed
	p.closed = true
	p.input.Unlock()
	if already {
		return nil
	}
	// Not Close: it would drain the results itself, and their senders would never hear.
	p.async.AsyncClose()
	p.results.Wait()
	return nil
}

// The headers every record carries alike are built once; sarama only reads them.
var (
	fixedHeaders = []sarama.RecordHeader{
		{Key: []byte("ce_specversion"), Value: []byte("1.0")},
		{Key: []byte("ce_source"), Value: []byte(barrage.EventSource)},
		{Key: []byte("ce_type"), Value: []byte(barrage.EventType)},
		{Key: []byte("content-type"), Value: []byte("application/json")},
	}
	headerID      = []byte("ce_id")
	headerTime    = []byte("ce_time")
	headerSubject = []byte("ce_subject")
)

// Record builds the Kafka record for b: key = room, value = the barrage as JSON, and the
// ce_ headers of a binary-mode CloudEvent.
func Record(topic string, b barrage.Barrage, extra ...Header) (*sarama.ProducerMessage, error) {
	value, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("kafka: encode %s: %w", b.ID, err)
	}
	headers := make([]sarama.RecordHeader, 0, len(fixedHeaders)+3+len(extra))
	headers = append(headers, fixedHeaders...)
	headers = append(headers,
		sarama.RecordHeader{Key: headerID, Value: []byte(b.ID)},
		sarama.RecordHeader{Key: headerTime, Value: b.AcceptedAt.AppendFormat(nil, time.RFC3339Nano)},
		sarama.RecordHeader{Key: headerSubject, Value: []byte(b.Room)},
	)
	for _, h := range extra {
		headers = append(headers, sarama.RecordHeader{Key: []byte(h.Key), Value: []byte(h.Value)})
	}
	return &sarama.ProducerMessage{
		Topic:     topic,
		Key:       sarama.StringEncoder(b.Room),
		Value:     sarama.ByteEncoder(value),
		Headers:   headers,
		Timestamp: b.AcceptedAt,
	}, nil
}
