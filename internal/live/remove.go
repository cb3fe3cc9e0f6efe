package live

import (
	"encoding/json"

	"github.com/r3labs/sse/v2"

	"github.com/barrage-live/barrage/internal/live/stream"
)

// eventRemoved names the event that takes barrages an operator deleted off every screen.
const eventRemoved = "removed"

// Remove tells the room's viewers on this server, if it has a feed for the room, to take
// the barrages ids off their screens and lists. The store no longer returns them, so a
// viewer who resumes or reloads never gets them again. The feed's goroutine carries it
// out, between two turns, so no turn can publish a deleted record after the screens were
// told.
func (h *Hub) Remove(room string, ids ...string) {
	h.mu.Lock()
	f := h.feeds[room]
	h.mu.Unlock()
	if f == nil || len(ids) == 0 {
		return
	}
	f.removeMu.Lock()
	f.toRemove = append(f.toRemove, ids...)
	f.removeMu.Unlock()
	select {
	case f.removed <- struct{}{}:
	default: // already signalled: the feed takes every id queued so far
	}
}

// remove takes what was deleted out of what the feed has yet to publish, out of every
// shard's record of what it was shown early, and off its viewers' screens.
func (h *Hub) remove(f *feed, t *turns) {
	f.removeMu.Lock()
	ids := f.toRemove
	f.toRemove = nil
	f.removeMu.Unlock()
	if len(ids) == 0 {
		return
	}
	t.drop(ids)
	data, _ := json.Marshal(struct {
		IDs []string `json:"ids"`
	}{ids})
	// Tagged like stats: each viewer gets it under their own position, so it never moves
	// anyone's Last-Event-ID.
	fr := stream.EncodeTagged(&sse.Event{Event: []byte(eventRemoved), Data: data})
	for _, sh := range h.shardsOf(f) {
		sh.group.Drop(ids)
		sh.group.Publish(fr)
	}
}
