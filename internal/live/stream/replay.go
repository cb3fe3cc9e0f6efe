package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/r3labs/sse/v2"

	"github.com/barrage-live/barrage/internal/store"
)

// replay writes what a resuming viewer missed, from after up to upTo, where their live
// events start. It reads the store a chunk at a time, each read under its own deadline, and
// writes each chunk as it comes. When the viewer is further behind than the replay limit,
// or the store does not answer in time, it stops there with a gap event naming what to
// read from the history API. Either way the viewer's cursor ends at upTo, so the live
// frames queued meanwhile are written from there on, and none twice.
func (v *Viewer) replay(ctx context.Context, src Source, log *slog.Logger, room string, after, upTo store.Cursor) error {
	v.cursor = after
	if after == "" || after >= upTo {
		v.cursor = max(after, upTo) // a new viewer starts live; the page shows recent history itself
		return nil
	}
	for sent := 0; after < upTo; {
		if sent >= v.opts.ReplayLimit {
			return v.gap(Gap{After: after, Until: upTo, Reason: "limit"})
		}
		rctx, cancel := context.WithTimeout(ctx, v.opts.ReadTimeout)
		recs, err := src.After(rctx, room, after, min(v.opts.ReplayChunk, v.opts.ReplayLimit-sent))
		cancel()
		if err != nil {
			log.Warn("replay read failed; the viewer is sent a gap", "room", room, "after", after, "err", err)
			return v.gap(Gap{After: after, Until: upTo, Reason: "unavailable"})
		}
		n := 0
		for n < len(recs) && recs[n].Cursor <= upTo {
			n++
		}
		if n == 0 {
			break
		}
		f, err := Batch(Viewable(recs[:n]))
		if err != nil {
			return err
		}
		if err := v.write(f.wire); err != nil {
			return err
		}
		sent += n
		after = recs[n-1].Cursor
		v.cursor = after
	}
	v.cursor = upTo
	return nil
}

// gap writes the gap event and moves the viewer's cursor to where live resumes. The event
// carries no id: the viewer's Last-Event-ID stays at the last record they got, so a
// reconnect before the next live event replays from there.
func (v *Viewer) gap(g Gap) error {
	data, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("stream: encode gap: %w", err)
	}
	if err := v.write(Encode(&sse.Event{Event: eventGap, Data: data}).wire); err != nil {
		return err
	}
	v.cursor = g.Until
	return nil
}

// Viewable drops what viewers need not carry: the trace context is for the operators' view.
func Viewable(recs []store.Record) []store.Record {
	for i := range recs {
		recs[i].TraceParent = ""
	}
	return recs
}
