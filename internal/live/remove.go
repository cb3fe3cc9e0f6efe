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
// viewer who resumes or reloads never gets them again.
func (h *Hub) Remove(room string, ids ...string) {
	h.mu.Lock()
	f := h.feeds[room]
	h.mu.Unlock()
	if f == nil || len(ids) == 0 {
		return
	}
	data, _ := json.Marshal(struct {
		IDs []string `json:"ids"`
	}{ids})
	// Tagged like stats: each viewer gets it under their own position, so it never moves
	// anyone's Last-Event-ID.
	fr := stream.EncodeTagged(&sse.Event{Event: []byte(eventRemoved), Data: data})
	select {
	case f.removed <- ids:
	default: // many deletes at once: the screens are told, and the store has the rest
	}
	for _, sh := range h.shardsOf(f) {
		sh.group.Drop(ids)
		sh.group.Publish(fr)
	}
}
