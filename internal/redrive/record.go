package redrive

import (
	"encoding/json"
	"strings"

	"github.com/IBM/sarama"
)

// deadLetterOnly reports whether a header says why a record was dead-lettered rather than
// what it is: the dispatcher's x-barrage-dead-letter-* and Knative's knativeerror*
// extensions, which the sink keeps as ce_ headers.
func deadLetterOnly(key string) bool {
	k := strings.ToLower(key)
	return strings.HasPrefix(k, "x-barrage-dead-letter-") || strings.HasPrefix(k, "ce_knativeerror")
}

// Redriven is the record to put back on topic for dead letter m: its key, value and
// headers, without the dead-letter-only headers. Its timestamp is now, so the barrage
// topic's retention counts from the redrive.
func Redriven(m *sarama.ConsumerMessage, topic string) *sarama.ProducerMessage {
	msg := &sarama.ProducerMessage{Topic: topic}
	if len(m.Key) > 0 {
		msg.Key = sarama.ByteEncoder(m.Key)
	}
	if len(m.Value) > 0 {
		msg.Value = sarama.ByteEncoder(m.Value)
	}
	for _, h := range m.Headers {
		if h != nil && !deadLetterOnly(string(h.Key)) {
			msg.Headers = append(msg.Headers, sarama.RecordHeader{Key: h.Key, Value: h.Value})
		}
	}
	return msg
}

// RoomOf is the room a dead letter belongs to: the record key, as the HomePage writes it,
// or else the room in its body.
func RoomOf(m *sarama.ConsumerMessage) string {
	if len(m.Key) > 0 {
		return string(m.Key)
	}
	var body struct {
		Room string `json:"room"`
	}
	if json.Unmarshal(m.Value, &body) == nil {
		return body.Room
	}
	return ""
}
