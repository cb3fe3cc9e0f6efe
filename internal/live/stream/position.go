package stream

import (
	"slices"
	"strings"

	"github.com/barrage-live/barrage/internal/store"
)

// Position is what a viewer has: every record up to Cursor, which the store has settled,
// and the records of Ahead, shown early from notices before the store let readers see
// them. A row the store settles later may sort below an early one, so the cursor of the
// last record shown cannot stand for everything before it; the settled cursor plus what
// was shown past it can. It is the id of every event, so a viewer's Last-Event-ID says
// exactly what they have, whichever server they come back to.
type Position struct {
	Cursor store.Cursor
	Ahead  []store.Cursor // sorted, each above Cursor; shared read-only once made
}

// MaxAhead bounds what one position holds past its cursor; a room's feed shows no more
// early than that, so an id stays well inside a request header.
const MaxAhead = 32

// aheadSep joins the parts of an id. Cursors are made of hex digits and id characters
// (letters, digits, '-' and '_'), so it cannot be part of one.
const aheadSep = '.'

// ID is the position as an event id: the cursor alone when nothing is ahead, so ids read
// as plain cursors whenever the store has caught up.
func (p Position) ID() string {
	if len(p.Ahead) == 0 {
		return string(p.Cursor)
	}
	return string(p.appendID(nil))
}

func (p Position) appendID(b []byte) []byte {
	b = append(b, p.Cursor...)
	for _, c := range p.Ahead {
		b = append(append(b, aheadSep), c...)
	}
	return b
}

// ParsePosition reads an id back. Clients hand ids back opaquely, so any string is read
// rather than refused: the part before the first separator is the cursor, by string order
// as the store reads it, and the rest are kept when they follow it, up to MaxAhead.
func ParsePosition(id string) Position {
	cur, rest, _ := strings.Cut(id, string(aheadSep))
	p := Position{Cursor: store.Cursor(cur)}
	for part := range strings.SplitSeq(rest, string(aheadSep)) {
		if c := store.Cursor(part); c > p.Cursor && len(p.Ahead) < MaxAhead {
			p.Ahead = append(p.Ahead, c)
		}
	}
	slices.Sort(p.Ahead)
	p.Ahead = slices.Compact(p.Ahead)
	return p
}

// Has reports whether the record at c is one the position has.
func (p Position) Has(c store.Cursor) bool {
	if c <= p.Cursor {
		return true
	}
	_, found := slices.BinarySearch(p.Ahead, c)
	return found
}

// Equal reports whether p and q say the same.
func (p Position) Equal(q Position) bool {
	return p.Cursor == q.Cursor && slices.Equal(p.Ahead, q.Ahead)
}

// Join is what a viewer at p has after being given, besides, everything q has: the later
// cursor, and what either holds past it.
func (p Position) Join(q Position) Position {
	out := Position{Cursor: max(p.Cursor, q.Cursor)}
	if len(p.Ahead) == 0 && out.Cursor == q.Cursor {
		out.Ahead = q.Ahead // the common case: shared, not copied
		return out
	}
	for _, a := range [][]store.Cursor{p.Ahead, q.Ahead} {
		for _, c := range a {
			if c > out.Cursor {
				out.Ahead = append(out.Ahead, c)
			}
		}
	}
	slices.Sort(out.Ahead)
	out.Ahead = slices.Compact(out.Ahead)
	return out
}

// Missing is the records of recs that p does not have, in their order; recs itself when
// it has none of them.
func (p Position) Missing(recs []store.Record) []store.Record {
	for i, r := range recs {
		if p.Has(r.Cursor) {
			out := append([]store.Record(nil), recs[:i]...)
			for _, r := range recs[i+1:] {
				if !p.Has(r.Cursor) {
					out = append(out, r)
				}
			}
			return out
		}
	}
	return recs
}
