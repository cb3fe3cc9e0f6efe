package stream

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/r3labs/sse/v2"

	"github.com/barrage-live/barrage/internal/store"
)

// Frame is one event in its wire form, encoded once and shared, read-only, by every
// viewer it is queued for.
type Frame struct {
	cursor store.Cursor // the event's id, when it carries records; a viewer past it drops it
	tagged bool         // written after an id line naming the viewer's own cursor
	wire   []byte
}

// Encode writes ev in the text/event-stream format, the fields in the order the library
// writes them. An event with an ID is a batch of records up to that cursor: a viewer who
// has that cursor already is not sent it again.
func Encode(ev *sse.Event) *Frame {
	var b bytes.Buffer
	if len(ev.ID) > 0 {
		fmt.Fprintf(&b, "id: %s\n", ev.ID)
	}
	if len(ev.Data) > 0 {
		for line := range bytes.SplitSeq(ev.Data, []byte("\n")) {
			fmt.Fprintf(&b, "data: %s\n", line)
		}
	}
	if len(ev.Event) > 0 {
		fmt.Fprintf(&b, "event: %s\n", ev.Event)
	}
	if len(ev.Retry) > 0 {
		fmt.Fprintf(&b, "retry: %s\n", ev.Retry)
	}
	if len(ev.Comment) > 0 {
		fmt.Fprintf(&b, ": %s\n", ev.Comment)
	}
	b.WriteByte('\n')
	return &Frame{cursor: store.Cursor(ev.ID), wire: b.Bytes()}
}

// EncodeTagged is Encode for an event without records of its own (stats): each viewer
// gets it with their own cursor as its id, so that whatever event a viewer saw last, its
// Last-Event-ID resumes them exactly where they are.
func EncodeTagged(ev *sse.Event) *Frame {
	e := *ev
	e.ID = nil
	f := Encode(&e)
	f.tagged = true
	return f
}

// Batch is the event of a batch of records: named barrage, its data the records as a
// JSON array, its id the last one's cursor.
func Batch(recs []store.Record) (*Frame, error) {
	data, err := json.Marshal(recs)
	if err != nil {
		return nil, fmt.Errorf("stream: encode batch: %w", err)
	}
	return Encode(&sse.Event{ID: []byte(recs[len(recs)-1].Cursor), Event: eventBarrage, Data: data}), nil
}

// Cursor is the id of the frame's event, empty for one without records.
func (f *Frame) Cursor() store.Cursor { return f.cursor }

var (
	eventBarrage = []byte("barrage")
	eventGap     = []byte("gap")
	eventEvicted = []byte("evicted")
)

// Gap is what a resuming viewer is told when the replay stops short: the records after
// After up to and including Until are in the history API, and live events follow Until.
type Gap struct {
	After  store.Cursor `json:"after"`
	Until  store.Cursor `json:"until"`
	Reason string       `json:"reason"` // "limit": further behind than a replay serves; "unavailable": the store did not answer in time
}

// evictedEvent is the last event of a viewer evicted for falling behind.
func evictedEvent(cursor store.Cursor) *sse.Event {
	data, _ := json.Marshal(struct {
		LastEventID store.Cursor `json:"lastEventId"`
	}{cursor})
	return &sse.Event{Event: eventEvicted, Data: data}
}
