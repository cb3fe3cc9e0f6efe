package stream

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/r3labs/sse/v2"

	"github.com/barrage-live/barrage/internal/store"
)

// Frame is one event in its wire form, encoded once and shared, read-only, by every
// viewer it is queued for.
type Frame struct {
	tagged bool   // written after an id line naming the viewer's own position
	wire   []byte // the event; a batch's without its id line

	// A batch of records, set by Step: what it shows, and where its group is after it.
	recs  []store.Record
	pos   Position
	ahead []store.Record // the records of pos.Ahead, for viewers who join after it
	head  []byte         // the id line of pos
	n     uint64         // its number in its group, set as it is published
}

// Encode writes ev in the text/event-stream format, the fields in the order the library
// writes them.
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
	return &Frame{wire: b.Bytes()}
}

// EncodeTagged is Encode for an event without records of its own (stats): each viewer
// gets it with their own position as its id, so that whatever event a viewer saw last, its
// Last-Event-ID resumes them exactly where they are.
func EncodeTagged(ev *sse.Event) *Frame {
	e := *ev
	e.ID = nil
	f := Encode(&e)
	f.tagged = true
	return f
}

// Batch is the event of settled records alone: named barrage, its data the records as a
// JSON array, its id the last one's cursor.
func Batch(recs []store.Record) (*Frame, error) {
	return Step(recs, Position{Cursor: recs[len(recs)-1].Cursor}, nil)
}

// Step is the event that shows recs to a group and leaves it at pos; ahead are the
// records of pos.Ahead, all of which the group has once it is written.
func Step(recs []store.Record, pos Position, ahead []store.Record) (*Frame, error) {
	f, err := body(recs)
	if err != nil {
		return nil, err
	}
	f.recs, f.pos, f.ahead = recs, pos, ahead
	f.head = idLine(nil, pos)
	return f, nil
}

// Moved is the event that only moves a group to pos, showing nothing: the store settled
// what it was shown early. It is an id and no data, which a browser's EventSource takes as
// its Last-Event-ID without dispatching an event.
func Moved(pos Position, ahead []store.Record) *Frame {
	return &Frame{recs: []store.Record{}, pos: pos, ahead: ahead, head: idLine(nil, pos), wire: []byte("\n")}
}

func body(recs []store.Record) (*Frame, error) {
	data, err := json.Marshal(forViewers(recs))
	if err != nil {
		return nil, fmt.Errorf("stream: encode batch: %w", err)
	}
	return Encode(&sse.Event{Event: eventBarrage, Data: data}), nil
}

// forViewers leaves out what is for operators only: who sent each record and its trace
// context. This is the one place records are encoded for viewers.
func forViewers(recs []store.Record) []store.Record {
	if !slices.ContainsFunc(recs, func(r store.Record) bool { return r.Sender != "" || r.TraceParent != "" }) {
		return recs
	}
	out := slices.Clone(recs)
	for i := range out {
		out[i].Sender, out[i].TraceParent = "", ""
	}
	return out
}

func idLine(b []byte, pos Position) []byte {
	return append(pos.appendID(append(b, "id: "...)), '\n')
}

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
func evictedEvent(id string) *sse.Event {
	data, _ := json.Marshal(struct {
		LastEventID string `json:"lastEventId"`
	}{id})
	return &sse.Event{Event: eventEvicted, Data: data}
}
