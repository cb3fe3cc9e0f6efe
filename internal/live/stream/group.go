package stream

import (
	"sync"

	"github.com/barrage-live/barrage/internal/store"
)

// Group is the viewers who get the same frames: one shard of a room. Its cursor is that of
// the last batch published to it, so a viewer who joins knows where live starts for them.
type Group struct {
	mu      sync.Mutex
	cursor  store.Cursor
	viewers []*Viewer
	closed  bool
}

// NewGroup returns an empty group whose viewers start live after cursor.
func NewGroup(cursor store.Cursor) *Group { return &Group{cursor: cursor} }

// Cursor is the last record published to the group.
func (g *Group) Cursor() store.Cursor {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cursor
}

// Len is how many viewers the group holds: its evicted ones are out at once.
func (g *Group) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.viewers)
}

// Publish queues f for every viewer and moves the group's cursor to f's, in one step, so
// a viewer joining sees either the frame or the cursor past it, never both or neither. A
// viewer whose queue is full is evicted and leaves the group. It returns how many viewers
// got the frame.
func (g *Group) Publish(f *Frame) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f.cursor != "" {
		g.cursor = max(g.cursor, f.cursor)
	}
	for i := len(g.viewers) - 1; i >= 0; i-- {
		if v := g.viewers[i]; !v.offer(f) {
			g.remove(v)
		}
	}
	return len(g.viewers)
}

// join adds v and returns the cursor live starts after for them. A closed group ends v's
// stream at once.
func (g *Group) join(v *Viewer) store.Cursor {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		v.end(endClosed)
		return g.cursor
	}
	v.slot, v.joined = len(g.viewers), true
	g.viewers = append(g.viewers, v)
	return g.cursor
}

// leave takes v out, if still in.
func (g *Group) leave(v *Viewer) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.remove(v)
}

// remove swaps v out of the slice; g.mu is held.
func (g *Group) remove(v *Viewer) {
	if !v.joined {
		return
	}
	last := len(g.viewers) - 1
	g.viewers[v.slot] = g.viewers[last]
	g.viewers[v.slot].slot = v.slot
	g.viewers[last] = nil
	g.viewers = g.viewers[:last]
	v.joined = false
	if cap(g.viewers) > 64 && len(g.viewers) < cap(g.viewers)/4 {
		g.viewers = append([]*Viewer(nil), g.viewers...) // give back what a crowd left behind
	}
}

// Close ends every viewer's stream; they reconnect elsewhere.
func (g *Group) Close() {
	g.mu.Lock()
	g.closed = true
	vs := append([]*Viewer(nil), g.viewers...)
	g.mu.Unlock()
	for _, v := range vs {
		v.end(endClosed)
	}
}
