package reliability

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/barrage-live/barrage/internal/dispatch"
)

// kafkaSourceStandIn plays a KafkaSource's dispatcher, as DESIGN.md records it from
// upstream: a consumer group, each record as a CloudEvent in binary mode (forwarded as it is
// when it already is one, else wrapped as dev.knative.kafka.event), retries on 5xx, 404,
// 408, 409, 429 and transport errors with exponential backoff, then the event with
// knativeerrorcode, knativeerrordest and knativeerrordata to the deadLetterSink with the same
// retries, and the offset committed whether or not the dead letter got through.
type kafkaSourceStandIn struct {
	sink, deadLetterSink string
	source               string
	retry                int
	backoff              time.Duration
	client               *http.Client

	delivered, deadLettered, deadLetterLost atomic.Int64
}

func startKafkaSourceStandIn(t *testing.T, brokers, topic, sink, deadLetterSink string, retry int, backoff time.Duration) *kafkaSourceStandIn {
	t.Helper()
	k := &kafkaSourceStandIn{
		sink: sink, deadLetterSink: deadLetterSink, retry: retry, backoff: backoff,
		source: "/apis/v1/namespaces/default/kafkasources/barrage#" + topic,
		client: &http.Client{Timeout: 10 * time.Second},
	}
	cfg := sarama.NewConfig()
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Interval = 100 * time.Millisecond
	group, err := sarama.NewConsumerGroup([]string{brokers}, "kafkasource-standin", cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if err := group.Consume(ctx, []string{topic}, k); err != nil && !errors.Is(err, sarama.ErrClosedConsumerGroup) {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = group.Close()
	})
	return k
}

func (k *kafkaSourceStandIn) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (k *kafkaSourceStandIn) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim delivers in order, as a KafkaSource's default ordering does.
func (k *kafkaSourceStandIn) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for m := range claim.Messages() {
		e, err := dispatch.ToEvent(m, k.source)
		if err == nil {
			k.deliver(s.Context(), e)
		}
		if s.Context().Err() != nil {
			return nil
		}
		s.MarkMessage(m, "") // committed even when the dead letter was lost
	}
	return nil
}

func (k *kafkaSourceStandIn) deliver(ctx context.Context, e cloudevents.Event) {
	status, body, ok := k.send(ctx, k.sink, e)
	if ok {
		k.delivered.Add(1)
		return
	}
	if ctx.Err() != nil {
		return
	}
	dl := e.Clone()
	dl.SetExtension("knativeerrorcode", strconv.Itoa(status))
	dl.SetExtension("knativeerrordest", k.sink)
	dl.SetExtension("knativeerrordata", base64.StdEncoding.EncodeToString(body))
	if _, _, ok := k.send(ctx, k.deadLetterSink, dl); ok {
		k.deadLettered.Add(1)
		return
	}
	k.deadLetterLost.Add(1)
}

// send posts e with retries and returns the last status and body, and whether it was 2xx.
func (k *kafkaSourceStandIn) send(ctx context.Context, url string, e cloudevents.Event) (int, []byte, bool) {
	var (
		status int
		body   []byte
	)
	for attempt := 0; attempt <= k.retry; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(k.backoff << (attempt - 1)):
			case <-ctx.Done():
				return status, body, false
			}
		}
		status, body = k.post(ctx, url, e)
		if status/100 == 2 {
			return status, body, true
		}
		if !knativeRetries(status) {
			break
		}
	}
	return status, body, false
}

func (k *kafkaSourceStandIn) post(ctx context.Context, url string, e cloudevents.Event) (int, []byte) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return 0, nil
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		return 0, []byte(fmt.Sprint(err))
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return resp.StatusCode, body
}

// knativeRetries is the rule: 5xx, 404, 408, 409, 429 and no answer (0) are retried.
func knativeRetries(status int) bool {
	switch status {
	case 0, http.StatusNotFound, http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return true
	}
	return status >= 500
}
