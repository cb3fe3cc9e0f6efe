package deadletter

import (
	"fmt"
	"sort"
	"strings"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/types"
)

// headerPrefix is how a KafkaSource names an original record header as an extension.
const headerPrefix = "kafkaheader"

// Record turns a dead-lettered event back into the Kafka record it came from, as far as
// the event tells: the key from the key (or partitionkey) extension, each kafkaheader<name>
// extension as header <name>, and every other attribute and extension, Knative's
// knativeerror* among them, as a ce_ header. The record is then a binary-mode CloudEvent
// that a KafkaSource and the dispatcher both deliver again as the same event.
func Record(topic string, e cloudevents.Event) (*sarama.ProducerMessage, error) {
	msg := &sarama.ProducerMessage{Topic: topic}
	if data := e.Data(); len(data) > 0 {
		msg.Value = sarama.ByteEncoder(data)
	}
	add := func(k, v string) {
		msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: []byte(k), Value: []byte(v)})
	}
	add("ce_specversion", e.SpecVersion())
	add("ce_id", e.ID())
	add("ce_source", e.Source())
	add("ce_type", e.Type())
	if v := e.Subject(); v != "" {
		add("ce_subject", v)
	}
	if t := e.Time(); !t.IsZero() {
		add("ce_time", types.FormatTime(t))
	}
	if v := e.DataSchema(); v != "" {
		add("ce_dataschema", v)
	}
	if v := e.DataContentType(); v != "" {
		add("content-type", v)
	}
	ext := e.Extensions()
	names := make([]string, 0, len(ext))
	for name := range ext {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		v, err := types.Format(ext[name])
		if err != nil {
			return nil, fmt.Errorf("deadletter: extension %s of %s: %w", name, e.ID(), err)
		}
		if header, ok := strings.CutPrefix(name, headerPrefix); ok && header != "" {
			add(header, v)
			continue
		}
		add("ce_"+name, v)
	}
	for _, name := range []string{"partitionkey", "key"} {
		if k, ok := ext[name]; ok {
			key, err := types.Format(k)
			if err == nil && key != "" {
				msg.Key = sarama.StringEncoder(key)
				break
			}
		}
	}
	return msg, nil
}
