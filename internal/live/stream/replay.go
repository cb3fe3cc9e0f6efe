package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/r3labs/sse/v2"
)

// replay writes what a resuming viewer at from missed, up to where their live events
// start, j. It reads the store a chunk at a time, each read under its own deadline, and
// writes each chunk as it comes, leaving out what from says they have. When the viewer is
// further behind than the replay limit, or the store does not answer in time, it stops
// there with a gap event naming what to read from the history API. Then it writes what
// the group was shown early that they do not have, so their position ends at the
// group's, and the live frames queued meanwhile are written from there on, none twice.
func (v *Viewer) replay(ctx context.Context, src Source, log *slog.Logger, room string, from Position, j joined) error {
	v.pos = from
	if from.Cursor == "" && len(from.Ahead) == 0 {
		v.pos.Cursor = j.pos.Cursor // a new viewer starts live; the page shows recent history itself
	}
	upTo := j.pos.Cursor
	for sent := 0; v.pos.Cursor < upTo; {
		after := v.pos.Cursor
		if sent >= v.opts.ReplayLimit {
			return v.gap(Gap{After: after, Until: upTo, Reason: "limit"}, j)
		}
		rctx, cancel := context.WithTimeout(ctx, v.opts.ReadTimeout)
		recs, err := src.After(rctx, room, after, min(v.opts.ReplayChunk, v.opts.ReplayLimit-sent))
		cancel()
		if err != nil {
			log.Warn("replay read failed; the viewer is sent a gap", "room", room, "after", after, "err", err)
			return v.gap(Gap{After: after, Until: upTo, Reason: "unavailable"}, j)
		}
		n := 0
		for n < len(recs) && recs[n].Cursor <= upTo {
			n++
		}
		if n == 0 {
			break
		}
		next := v.pos.Join(Position{Cursor: recs[n-1].Cursor})
		if missing := v.pos.Missing(recs[:n]); len(missing) > 0 {
			f, err := Step(missing, next, nil)
			if err != nil {
				return err
			}
			if err := v.write(append(f.head, f.wire...)); err != nil {
				return err
			}
		}
		sent += n
		v.pos = next
	}
	return v.catchUp(j)
}

// catchUp moves the viewer to the group's position as they joined: past its cursor, and
// given the records it was shown early that they lack.
func (v *Viewer) catchUp(j joined) error {
	next := v.pos.Join(j.pos)
	if missing := v.pos.Missing(j.ahead); len(missing) > 0 {
		f, err := Step(missing, next, nil)
		if err != nil {
			return err
		}
		if err := v.write(append(f.head, f.wire...)); err != nil {
			return err
		}
	}
	v.pos, v.at, v.synced = next, j.n, next.Equal(j.pos)
	return nil
}

// gap writes the gap event and moves the viewer's cursor to where live resumes. The event
// carries no id: the viewer's Last-Event-ID stays at the last record they got, so a
// reconnect before the next live event replays from there.
func (v *Viewer) gap(g Gap, j joined) error {
	data, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("stream: encode gap: %w", err)
	}
	if err := v.write(Encode(&sse.Event{Event: eventGap, Data: data}).wire); err != nil {
		return err
	}
	v.pos = v.pos.Join(Position{Cursor: g.Until})
	return v.catchUp(j)
}
