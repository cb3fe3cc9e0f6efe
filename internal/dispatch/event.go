package dispatch

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
)

// ToEvent turns a Kafka record into the CloudEvent a KafkaSource would send for it:
//   - a record with a ce_specversion header is a binary-mode CloudEvent and is forwarded
//     with its own attributes;
//   - a record whose content-type is application/cloudevents... is a structured-mode
//     CloudEvent and is forwarded as it is;
//   - anything else is wrapped as dev.knative.kafka.event, with the key and every header
//     carried as extensions.
//
// source is the wrapping event's source, such as
// /apis/v1/namespaces/default/kafkasources/barrage#barrage-info.
func ToEvent(m *sarama.ConsumerMessage, source string) (cloudevents.Event, error) {
	headers := map[string]string{}
	for _, h := range m.Headers {
		if h != nil {
			headers[strings.ToLower(string(h.Key))] = string(h.Value)
		}
	}
	if _, ok := headers["ce_specversion"]; ok {
		return fromBinary(m, headers)
	}
	if strings.HasPrefix(headers["content-type"], "application/cloudevents") {
		e := cloudevents.NewEvent()
		if err := json.Unmarshal(m.Value, &e); err != nil {
			return e, fmt.Errorf("dispatch: structured event at %s: %w", position(m), err)
		}
		return e, e.Validate()
	}
	return wrap(m, headers, source)
}

func fromBinary(m *sarama.ConsumerMessage, headers map[string]string) (cloudevents.Event, error) {
	e := cloudevents.NewEvent(headers["ce_specversion"])
	for k, v := range headers {
		name, ok := strings.CutPrefix(k, "ce_")
		if !ok {
			continue
		}
		switch name {
		case "specversion":
		case "id":
			e.SetID(v)
		case "source":
			e.SetSource(v)
		case "type":
			e.SetType(v)
		case "subject":
			e.SetSubject(v)
		case "dataschema":
			e.SetDataSchema(v)
		case "time":
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return e, fmt.Errorf("dispatch: ce_time at %s: %w", position(m), err)
			}
			e.SetTime(t)
		default:
			e.SetExtension(name, v)
		}
	}
	if tp, ok := headers["traceparent"]; ok {
		e.SetExtension("traceparent", tp)
	}
	if err := e.SetData(contentType(headers), m.Value); err != nil {
		return e, fmt.Errorf("dispatch: data at %s: %w", position(m), err)
	}
	return e, e.Validate()
}

func wrap(m *sarama.ConsumerMessage, headers map[string]string, source string) (cloudevents.Event, error) {
	e := cloudevents.NewEvent()
	e.SetID(fmt.Sprintf("partition:%d/offset:%d", m.Partition, m.Offset))
	e.SetType("dev.knative.kafka.event")
	e.SetSource(source)
	e.SetSubject(fmt.Sprintf("partition:%d#%d", m.Partition, m.Offset))
	if !m.Timestamp.IsZero() {
		e.SetTime(m.Timestamp)
	}
	if len(m.Key) > 0 {
		e.SetExtension("key", string(m.Key))
		e.SetExtension("partitionkey", string(m.Key))
	}
	for k, v := range headers {
		if name := extensionName("kafkaheader" + k); name != "" && k != "content-type" {
			e.SetExtension(name, v)
		}
	}
	if err := e.SetData(contentType(headers), m.Value); err != nil {
		return e, fmt.Errorf("dispatch: data at %s: %w", position(m), err)
	}
	return e, e.Validate()
}

// extensionName keeps what CloudEvents allows in an attribute name: a-z and 0-9.
func extensionName(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func contentType(headers map[string]string) string {
	if ct := headers["content-type"]; ct != "" {
		return ct
	}
	return "application/json"
}

func position(m *sarama.ConsumerMessage) string {
	return fmt.Sprintf("%s/%d@%d", m.Topic, m.Partition, m.Offset)
}
