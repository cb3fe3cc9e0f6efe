package processor

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/barrage-live/barrage/internal/barrage"
)

// errUnsupported marks an event type this processor does not handle.
var errUnsupported = errors.New("unsupported event type")

// incoming is the data of either event type: a whole barrage from the HomePage, or a
// send body with whatever an outside producer added.
type incoming struct {
	ID         string       `json:"id"`
	Room       string       `json:"room"`
	Text       string       `json:"text"`
	Color      string       `json:"color"`
	Mode       barrage.Mode `json:"mode"`
	AcceptedAt time.Time    `json:"acceptedAt"`
	Sender     string       `json:"sender"`
}

// Decode turns an event into a barrage, filling in what a plain record may lack from the
// event itself: the room from the record key, an id derived from the event id (so a
// redelivered record maps to the same barrage), and the time.
func Decode(e cloudevents.Event) (barrage.Barrage, error) {
	switch e.Type() {
	case barrage.EventType, barrage.KafkaEventType:
	default:
		return barrage.Barrage{}, fmt.Errorf("processor: %w %q", errUnsupported, e.Type())
	}
	var in incoming
	if err := json.Unmarshal(e.Data(), &in); err != nil {
		return barrage.Barrage{}, fmt.Errorf("processor: event %s: data is not a barrage: %w: %w", e.ID(), barrage.ErrInvalid, err)
	}
	b := barrage.Barrage{ID: in.ID, Room: in.Room, Text: strings.TrimSpace(in.Text), Color: strings.ToLower(in.Color), Mode: in.Mode, AcceptedAt: in.AcceptedAt, Sender: in.Sender}
	if b.Room == "" {
		if key, ok := e.Extensions()["key"].(string); ok {
			b.Room = key
		}
	}
	if b.ID == "" {
		sum := sha256.Sum256([]byte(e.Source() + "\x00" + e.ID()))
		b.ID = "k" + hex.EncodeToString(sum[:15])
	}
	if b.AcceptedAt.IsZero() {
		b.AcceptedAt = e.Time()
	}
	if b.AcceptedAt.IsZero() {
		b.AcceptedAt = time.Now()
	}
	b.AcceptedAt = b.AcceptedAt.UTC()
	if b.Color == "" {
		b.Color = barrage.DefaultColor
	}
	if b.Mode == "" {
		b.Mode = barrage.ModeScroll
	}
	if err := b.Validate(); err != nil {
		return b, fmt.Errorf("processor: event %s: %w", e.ID(), err)
	}
	return b, nil
}
