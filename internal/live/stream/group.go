package stream

import (
	"slices"
	"sync"

	"github.com/barrage-live/barrage/internal/store"
)

// Group is the viewers who get the same frames: one shard of a room. Its position is that
// of the last batch published to it, so a viewer who joins knows where live starts for them.
type Group struct {
	mu      sync.Mutex
	pos     Position
	ahead   []store.Record // the records of pos.Ahead
	n       uint64         // batches published
	viewers []*Viewer
	closed  bool
}

// NewGroup returns an empty group whose viewers start live after cursor.
func NewGroup(cursor store.Cursor) *Group { return &Group{pos: Position{Cursor: cursor}} }

// Cursor is the settled cursor of the group's position.
func (g *Group) Cursor() store.Cursor {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pos.Cursor
}

// State is the group's position and the records of what it holds ahead.
func (g *Group) State() (Position, []store.Record) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pos, g.ahead
}

// Drop leaves the records of ids out of what a viewer who joins from now on is given of the
// group's early records: an operator deleted them.
func (g *Group) Drop(ids []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ahead = slices.DeleteFunc(slices.Clone(g.ahead), func(r store.Record) bool { return slices.Contains(ids, r.ID) })
}

// joined is the group as a viewer found it when they joined: where live starts for them.
type joined struct {
	pos   Position
	ahead []store.Record
	n     uint64
}

// Len is how many viewers the group holds: its evicted ones are out at once.
func (g *Group) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.viewers)
}

// Publish queues f for every viewer and moves the group's position to f's, in one step,
// so a viewer joining sees either the frame or the position past it, never both or
// neither. A viewer whose queue is full is evicted and leaves the group. It returns how
// many viewers got the frame. A frame is published to one group only.
func (g *Group) Publish(f *Frame) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f.recs != nil {
		g.n++
		f.n = g.n
		g.pos, g.ahead = f.pos, f.ahead
	}
	for i := len(g.viewers) - 1; i >= 0; i-- {
		if v := g.viewers[i]; !v.offer(f) {
			g.remove(v)
		}
	}
	return len(g.viewers)
}

// join adds v and returns where live starts for them. A closed group ends v's stream at
// once.
func (g *Group) join(v *Viewer) joined {
	g.mu.Lock()
	defer g.mu.Unlock()
	j := joined{pos: g.pos, ahead: g.ahead, n: g.n}
	if g.closed {
		v.end(endClosed)
		return j
	}
	v.slot, v.joined = len(g.viewers), true
	g.viewers = append(g.viewers, v)
	return j
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
