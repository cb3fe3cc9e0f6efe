// Package livetest reads a room's live stream as a browser's EventSource would, for the
// tests of every package that watches one.
package livetest

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"

	"github.com/barrage-live/barrage/internal/store"
)

// Event is one server-sent event.
type Event struct {
	ID, Name, Data string
}

// ReadEvents calls fn for each event on r until r ends, and returns why it ended.
func ReadEvents(r io.Reader, fn func(Event)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var e Event
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			e.ID = line[4:]
		case strings.HasPrefix(line, "event: "):
			e.Name = line[7:]
		case strings.HasPrefix(line, "data: "):
			e.Data = line[6:]
		case line == "":
			if e.Name != "" || e.Data != "" || e.ID != "" {
				fn(e)
			}
			e = Event{}
		}
	}
	return sc.Err()
}

// ReadBarrages calls fn with each batch of barrages on r, and the batch's event id; an
// event with an id alone, which only moves it, comes as a nil batch.
func ReadBarrages(r io.Reader, fn func(id string, batch []store.Record)) error {
	var bad error
	err := ReadEvents(r, func(e Event) {
		if e.Name == "" && e.Data == "" {
			fn(e.ID, nil) // only moves the id: what was shown early has settled
			return
		}
		if e.Name != "barrage" {
			return
		}
		var recs []store.Record
		if err := json.Unmarshal([]byte(e.Data), &recs); err != nil {
			bad = err
			return
		}
		fn(e.ID, recs)
	})
	if bad != nil {
		return bad
	}
	return err
}
