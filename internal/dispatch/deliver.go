package dispatch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
)

// post sends e to the sink once, in binary mode, and returns the status (0 when no
// response came) and an error unless the sink answered 2xx.
func (d *Dispatcher) post(ctx context.Context, e cloudevents.Event) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.opts.Sink, nil)
	if err != nil {
		return 0, fmt.Errorf("dispatch: request to %s: %w", d.opts.Sink, err)
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		return 0, fmt.Errorf("dispatch: encode %s: %w", e.ID(), err)
	}
	if tp := d.opts.Tracing.Inject(ctx); tp != "" {
		req.Header.Set("traceparent", tp)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("dispatch: post %s: %w", e.ID(), err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("dispatch: post %s: sink answered %d: %s", e.ID(), resp.StatusCode, body)
	}
	return resp.StatusCode, nil
}

// deadLetter writes m to the dead letter topic with why it failed, retrying until that
// works or ctx ends: dropping it is the one thing the dispatcher must never do.
func (d *Dispatcher) deadLetter(ctx context.Context, m *sarama.ConsumerMessage, reason string, status int) error {
	msg := &sarama.ProducerMessage{
		Topic:     d.opts.DeadLetterTopic,
		Key:       sarama.ByteEncoder(m.Key),
		Value:     sarama.ByteEncoder(m.Value),
		Timestamp: m.Timestamp,
	}
	for _, h := range m.Headers {
		if h != nil {
			msg.Headers = append(msg.Headers, *h)
		}
	}
	msg.Headers = append(msg.Headers,
		sarama.RecordHeader{Key: []byte("x-barrage-dead-letter-reason"), Value: []byte(reason)},
		sarama.RecordHeader{Key: []byte("x-barrage-dead-letter-status"), Value: []byte(strconv.Itoa(status))},
		sarama.RecordHeader{Key: []byte("x-barrage-dead-letter-origin"), Value: []byte(position(m))},
	)
	for attempt := 1; ; attempt++ {
		err := d.dlq.send(msg)
		if errors.Is(err, errDeadLettersClosed) {
			return err // shutting down: the offset stays unmarked and the record comes back
		}
		if err == nil {
			d.log.Warn("dead-lettered", "record", position(m), "status", status, "reason", reason)
			if d.hooks.DeadLettered != nil {
				d.hooks.DeadLettered(reason)
			}
			return nil
		}
		d.log.Error("dead letter produce failed; retrying", "record", position(m), "attempt", attempt, "err", err)
		if err := sleep(ctx, min(time.Duration(attempt)*time.Second, 10*time.Second)); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
