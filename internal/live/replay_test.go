package live

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/live/livetest"
	"github.com/barrage-live/barrage/internal/live/stream"
	"github.com/barrage-live/barrage/internal/store"
)

// events follows a stream and keeps every event, in order.
type events struct {
	mu   sync.Mutex
	list []livetest.Event
}

func follow(t *testing.T, url, lastEventID string) *events {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	req.Header.Set("Last-Event-ID", lastEventID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	e := &events{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer resp.Body.Close()
		_ = livetest.ReadEvents(resp.Body, func(ev livetest.Event) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.list = append(e.list, ev)
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// split is what a viewer got: the barrages before the gap event, the gap, and those after.
func (e *events) split(t *testing.T) (before []store.Record, gap *stream.Gap, after []store.Record) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.list {
		switch ev.Name {
		case "gap":
			if gap != nil {
				t.Fatalf("a second gap event: %s", ev.Data)
			}
			gap = &stream.Gap{}
			if err := json.Unmarshal([]byte(ev.Data), gap); err != nil {
				t.Fatal(err)
			}
		case "barrage":
			var recs []store.Record
			if err := json.Unmarshal([]byte(ev.Data), &recs); err != nil {
				t.Fatal(err)
			}
			if ev.ID != string(recs[len(recs)-1].Cursor) {
				t.Fatalf("event id %s is not its last record's cursor %s", ev.ID, recs[len(recs)-1].Cursor)
			}
			if gap == nil {
				before = append(before, recs...)
			} else {
				after = append(after, recs...)
			}
		}
	}
	return before, gap, after
}

func ids(recs []store.Record) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r.ID)
	}
	return out
}

// fill reads what a gap names the way the page does: history pages after its cursor, up
// to and including the cursor where live resumed.
func fill(t *testing.T, src Source, room string, g stream.Gap) []store.Record {
	t.Helper()
	var out []store.Record
	for after := g.After; after < g.Until; {
		recs, err := src.After(context.Background(), room, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			if r.Cursor <= g.Until {
				out = append(out, r)
			}
		}
		after = recs[len(recs)-1].Cursor
	}
	return out
}

// TestFarBehindGetsAGap: a viewer 20,000 records behind gets the replay limit's worth in
// chunks, then a gap event naming the rest, then live; with the gap filled from history
// they have every record once.
func TestFarBehindGetsAGap(t *testing.T) {
	src := &memSource{}
	hub, srv := newTestHub(t, src, Options{PollInterval: 5 * time.Millisecond}, Hooks{})
	seen := src.add("room", 1)
	_, start, _ := src.last()
	missed := src.add("room", 20000)
	watch(t, srv.URL+"/room", "") // the feed runs from the head
	v := follow(t, srv.URL+"/room", string(start))
	var live []string
	waitFor(t, "live events after the gap", func() bool {
		live = append(live, src.add("room", 3)...)
		hub.Notify("room")
		_, g, after := v.split(t)
		return g != nil && len(after) > 0
	})
	waitFor(t, "every live barrage", func() bool { _, _, after := v.split(t); return len(after) == len(live) })
	// Stats come once a second, so a fast run can finish before the first one.
	waitFor(t, "a stats event", func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, ev := range v.list {
			if ev.Name == "stats" {
				return true
			}
		}
		return false
	})

	before, g, after := v.split(t)
	if len(before) != 5000 {
		t.Fatalf("replayed %d records before the gap, want the limit of 5000", len(before))
	}
	if g.Reason != "limit" || g.After != before[len(before)-1].Cursor {
		t.Fatalf("gap %+v does not start at the last replayed cursor %s", g, before[len(before)-1].Cursor)
	}
	// No event gives a Last-Event-ID past what the viewer has: stats carry their own cursor.
	v.mu.Lock()
	chunks, stats := 0, 0
	var at store.Cursor
	for _, ev := range v.list {
		switch ev.Name {
		case "barrage":
			chunks++
			at = store.Cursor(ev.ID)
		case "gap":
			at = g.Until
		case "stats":
			stats++
			if store.Cursor(ev.ID) != at {
				t.Errorf("stats event with id %s when the viewer was at %s", ev.ID, at)
			}
		}
	}
	v.mu.Unlock()
	if stats == 0 {
		t.Error("no stats event to check")
	}
	if chunks < 10 {
		t.Fatalf("the replay came in %d events, want chunks of at most 500", chunks)
	}
	got := append(append(ids(before), ids(fill(t, src, "room", *g))...), ids(after)...)
	exactlyOnce(t, got, append(missed, live...))
	for _, id := range got {
		if id == seen[0] {
			t.Fatal("the record at Last-Event-ID was sent again")
		}
	}
}

// TestReplayReadHasADeadline: when the store does not answer a replay's read, the viewer
// gets a gap event within the read deadline and stays live.
func TestReplayReadHasADeadline(t *testing.T) {
	mem := &memSource{}
	mem.add("room", 10)
	hanging := &hangingReplay{memSource: mem, resume: "0000000000000002"}
	hub, srv := newTestHub(t, hanging, Options{PollInterval: 5 * time.Millisecond, ReplayRead: 100 * time.Millisecond}, Hooks{})
	started := time.Now()
	v := follow(t, srv.URL+"/room", "0000000000000002")
	var live []string
	waitFor(t, "a gap, then live events", func() bool {
		live = append(live, mem.add("room", 1)...)
		hub.Notify("room")
		_, g, after := v.split(t)
		return g != nil && len(after) > 0
	})
	_, g, _ := v.split(t)
	if g.Reason != "unavailable" || g.After != "0000000000000002" || g.Until != "000000000000000a" {
		t.Fatalf("gap %+v, want unavailable from 2 until 10", g)
	}
	hanging.mu.Lock()
	readErr := hanging.err
	hanging.mu.Unlock()
	if !errors.Is(readErr, context.DeadlineExceeded) {
		t.Fatalf("the replay's read ended with %v, want its deadline", readErr)
	}
	t.Logf("gap after %v", time.Since(started))
	waitFor(t, "every live barrage", func() bool { _, _, after := v.split(t); return len(after) == len(live) })
	_, _, after := v.split(t)
	exactlyOnce(t, ids(after), live)
}

// hangingReplay blocks reads after resume, which only a replay makes, until their deadline.
type hangingReplay struct {
	*memSource
	resume store.Cursor
	mu     sync.Mutex
	err    error
}

func (h *hangingReplay) After(ctx context.Context, room string, after store.Cursor, limit int) ([]store.Record, error) {
	if after != h.resume {
		return h.memSource.After(ctx, room, after, limit)
	}
	<-ctx.Done()
	h.mu.Lock()
	h.err = ctx.Err()
	h.mu.Unlock()
	return nil, ctx.Err()
}

// TestMaxRooms: a server keeping MaxRooms feeds refuses a viewer of one more room, and
// takes them again once a feed has gone.
func TestMaxRooms(t *testing.T) {
	src := &memSource{}
	hub, srv := newTestHub(t, src, Options{MaxRooms: 2, Linger: time.Millisecond}, Hooks{})
	a := watch(t, srv.URL+"/a", "")
	watch(t, srv.URL+"/b", "")
	if n := hub.Rooms(); n != 2 {
		t.Fatalf("%d rooms, want 2", n)
	}
	for _, tc := range []struct {
		name, room string
		want       int
	}{
		{name: "a new room is refused", room: "c", want: http.StatusServiceUnavailable},
		{name: "a watched room is not", room: "a", want: http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/"+tc.room, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	if _, _, err := hub.join(context.Background(), "c"); !errors.Is(err, ErrTooManyRooms) {
		t.Fatalf("join of a third room: %v, want ErrTooManyRooms", err)
	}
	a.cancel()
	<-a.done
	// Room a's viewers are gone once a write fails; stats come every second.
	waitFor(t, "room a's feed to go", func() bool { return hub.Rooms() == 1 })
	watch(t, srv.URL+"/c", "")
}
