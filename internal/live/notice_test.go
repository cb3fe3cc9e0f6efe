package live

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/live/stream"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/ots"
	"github.com/barrage-live/barrage/internal/store/ots/otstest"
)

// openOTS is the real Tablestore SDK against the wire-level test server, with its settle
// window: rows reach readers only two seconds after their write.
func openOTS(t *testing.T) *ots.Store {
	t.Helper()
	srv := otstest.Start(t, otstest.Options{})
	srv.SetLatency(5 * time.Millisecond)
	st, err := ots.Open(t.Context(), ots.Config{Endpoint: srv.URL, Instance: srv.Instance(), Table: "barrage",
		KeyID: srv.KeyID(), Secret: srv.Secret()}, store.Options{}, ots.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// noticeFaults is what happens to the notices one HomePage instance gets.
type noticeFaults struct {
	drop, dup, hold float64 // chance a notice is lost, sent twice, or held back and sent after the next
}

// courier delivers a write's notice to a hub as the notice topic might: or not at all,
// twice, or after a later one.
type courier struct {
	hub    *Hub
	faults noticeFaults
	rnd    *rand.Rand
	held   [][]store.Record
}

func (c *courier) deliver(recs []store.Record) {
	switch r := c.rnd.Float64(); {
	case r < c.faults.drop:
		return
	case r < c.faults.drop+c.faults.hold:
		c.held = append(c.held, recs)
		return
	case r < c.faults.drop+c.faults.hold+c.faults.dup:
		c.hub.Notice(recs[0].Room, recs)
	}
	c.hub.Notice(recs[0].Room, recs)
	for _, h := range c.held {
		c.hub.Notice(h[0].Room, h)
	}
	c.held = nil
}

// TestNoticesShowEarlyAndExactlyOnce: two HomePage instances on one Tablestore, each
// getting the notices of every write with its own faults, lost, repeated and reordered.
// Every viewer gets every barrage exactly once; barrages are shown from notices before the
// store lets readers see them; a viewer who drops mid-run and comes back to the other
// instance with its Last-Event-ID gets exactly what it missed; and a lower row that
// settles after a higher one was shown early is not skipped.
func TestNoticesShowEarlyAndExactlyOnce(t *testing.T) {
	st := openOTS(t)
	opts := Options{PollInterval: time.Second, SettleDelay: st.Settle()}
	var mu sync.Mutex
	unnoticed := 0
	hooks := Hooks{Unnoticed: func(_ string, n int) { mu.Lock(); unnoticed += n; mu.Unlock() }}
	hubA, srvA := newTestHub(t, st, opts, hooks)
	hubB, srvB := newTestHub(t, st, opts, hooks)
	rooms := []string{"r0", "r1", "r2"}
	type seat struct {
		v    *viewer
		room string
	}
	var seats []seat
	for _, room := range rooms {
		for _, srv := range []string{srvA.URL, srvB.URL} {
			seats = append(seats, seat{watch(t, srv+"/"+room, ""), room})
		}
	}
	waitFor(t, "every feed", func() bool { return hubA.Rooms() == len(rooms) && hubB.Rooms() == len(rooms) })

	// The viewer who leaves: it reads through its own reader to see each event's id.
	mover := watchIDs(t, srvA.URL+"/r0", "")
	couriers := []*courier{
		{hub: hubA, faults: noticeFaults{drop: 0.2, dup: 0.2, hold: 0.2}, rnd: rand.New(rand.NewPCG(1, 2))},
		{hub: hubB, faults: noticeFaults{drop: 0.1, dup: 0.1, hold: 0.3}, rnd: rand.New(rand.NewPCG(3, 4))},
	}
	want := map[string][]string{}
	lastCursor := map[string]store.Cursor{}
	var moved *idViewer
	const writes = 60
	for i := range writes {
		room := rooms[i%len(rooms)]
		var bs []barrage.Barrage
		for k := range 1 + i%3 {
			b, _ := barrage.Accept(room, barrage.Draft{Text: fmt.Sprintf("w%d-%d", i, k)}, time.Now())
			bs = append(bs, b)
			want[room] = append(want[room], b.ID)
		}
		recs, err := st.Put(t.Context(), bs)
		if err != nil || len(recs) != len(bs) {
			t.Fatalf("Put: %d of %d, %v", len(recs), len(bs), err)
		}
		lastCursor[room] = recs[len(recs)-1].Cursor
		for _, c := range couriers {
			c.deliver(recs)
		}
		if i == writes/2 {
			// Leave mid-flight, while rows shown early have not settled, and come back to
			// the other instance.
			waitFor(t, "an early id", mover.sawAhead)
			last := mover.leave()
			moved = watchIDs(t, srvB.URL+"/r0", last)
		}
	}
	for _, c := range couriers {
		for _, h := range c.held {
			c.hub.Notice(h[0].Room, h)
		}
	}
	for _, s := range seats {
		waitFor(t, "every barrage in "+s.room, func() bool { ids, _ := s.v.snapshot(); return len(ids) >= len(want[s.room]) })
	}
	waitFor(t, "the mover's barrages", func() bool { return len(mover.ids())+len(moved.ids()) >= len(want["r0"]) })
	// Any repeat would come with the store read that settles the room's last row: wait
	// until every viewer's id says it has settled.
	settled := func(v *viewer, room string) func() bool {
		return func() bool {
			_, id := v.snapshot()
			p := stream.ParsePosition(id)
			return p.Cursor >= lastCursor[room] && len(p.Ahead) == 0
		}
	}
	for _, s := range seats {
		waitFor(t, "the last row of "+s.room+" to settle", settled(s.v, s.room))
	}
	waitFor(t, "the mover's last row to settle", settled(moved.viewer, "r0"))
	for _, s := range seats {
		ids, _ := s.v.snapshot()
		exactlyOnce(t, ids, want[s.room])
	}
	exactlyOnce(t, append(mover.ids(), moved.ids()...), want["r0"])
	if !mover.sawAhead() {
		t.Fatal("no barrage was shown before the store settled it")
	}
	mu.Lock()
	defer mu.Unlock()
	if unnoticed == 0 {
		t.Fatal("no lost notice was filled in by a store read")
	}
}

// idViewer reads a stream keeping each event's id, and can leave it.
type idViewer struct {
	*viewer
	mu    sync.Mutex
	ahead bool
}

func watchIDs(t *testing.T, url, last string) *idViewer {
	iv := &idViewer{}
	v := watch(t, url, last)
	iv.viewer = v
	return iv
}

func (iv *idViewer) sawAhead() bool {
	_, id := iv.snapshot()
	if strings.Contains(id, ".") {
		iv.mu.Lock()
		iv.ahead = true
		iv.mu.Unlock()
	}
	iv.mu.Lock()
	defer iv.mu.Unlock()
	return iv.ahead
}

func (iv *idViewer) ids() []string { ids, _ := iv.snapshot(); return ids }

// leave drops the connection and returns the id the viewer resumes from.
func (iv *idViewer) leave() string {
	iv.cancel()
	<-iv.done
	_, id := iv.snapshot()
	return id
}

// TestLowerRowSettlingLateIsNotSkipped: a row with a higher cursor is shown early; a
// row with a lower cursor, whose notice is lost, settles after it. A viewer resuming from
// the id they were given after the early row gets the lower row, and not the early one.
func TestLowerRowSettlingLateIsNotSkipped(t *testing.T) {
	st := openOTS(t)
	hub, srv := newTestHub(t, st, Options{PollInterval: time.Hour, SettleDelay: st.Settle()}, Hooks{})
	v := watch(t, srv.URL+"/room", "")
	waitFor(t, "the feed", func() bool { return hub.Rooms() == 1 })
	lowB, _ := barrage.Accept("room", barrage.Draft{Text: "low"}, time.Now())
	highB, _ := barrage.Accept("room", barrage.Draft{Text: "high"}, time.Now())
	low, err := st.Put(context.Background(), []barrage.Barrage{lowB})
	if err != nil {
		t.Fatal(err)
	}
	high, err := st.Put(context.Background(), []barrage.Barrage{highB})
	if err != nil {
		t.Fatal(err)
	}
	if low[0].Cursor >= high[0].Cursor {
		t.Fatalf("cursors %q and %q are not in write order", low[0].Cursor, high[0].Cursor)
	}
	hub.Notice("room", high) // low's notice is lost
	waitFor(t, "the early row", func() bool { ids, _ := v.snapshot(); return len(ids) == 1 })
	ids, id := v.snapshot()
	if ids[0] != highB.ID {
		t.Fatalf("shown %v, want the high row", ids)
	}
	pos := stream.ParsePosition(id)
	if len(pos.Ahead) != 1 || pos.Ahead[0] != high[0].Cursor || pos.Cursor >= low[0].Cursor {
		t.Fatalf("id %q after the early row: want a settled cursor below the low row and the high row ahead", id)
	}
	back := watch(t, srv.URL+"/room", id)
	waitFor(t, "the low row after it settles", func() bool { got, _ := v.snapshot(); return len(got) == 2 })
	waitFor(t, "the low row on resume", func() bool { got, _ := back.snapshot(); return len(got) >= 1 })
	got, _ := v.snapshot()
	exactlyOnce(t, got, []string{highB.ID, lowB.ID})
	resumed, last := back.snapshot()
	exactlyOnce(t, resumed, []string{lowB.ID})
	if stream.ParsePosition(last).Cursor < high[0].Cursor {
		t.Fatalf("after both settled the id is %q, want a settled cursor at or past the high row", last)
	}
}
