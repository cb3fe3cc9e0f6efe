package reliability

import (
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/live/livetest"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/sqlite"
)

// resumed follows a stream from a Last-Event-ID and sorts what it gets around the gap event.
type resumed struct {
	mu            sync.Mutex
	before, after []store.Record
	replayEvents  int
	gap           *struct{ After, Until store.Cursor }
	err           error
}

func resume(t *testing.T, base, room string, last store.Cursor) *resumed {
	t.Helper()
	resp, cancel := openStream(t, base, room, string(last))
	r := &resumed{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer resp.Body.Close()
		_ = livetest.ReadEvents(resp.Body, r.add)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

func (r *resumed) add(e livetest.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch e.Name {
	case "gap":
		if r.gap != nil {
			r.err = errors.New("a second gap event")
			return
		}
		r.gap = &struct{ After, Until store.Cursor }{}
		if err := json.Unmarshal([]byte(e.Data), r.gap); err != nil {
			r.err = err
		}
	case "barrage":
		var recs []store.Record
		if err := json.Unmarshal([]byte(e.Data), &recs); err != nil {
			r.err = err
			return
		}
		if r.gap == nil {
			r.before = append(r.before, recs...)
			r.replayEvents++
		} else {
			r.after = append(r.after, recs...)
		}
	}
}

// fillGap reads the history API the way the page fills a gap: pages after the gap's
// cursor, keeping records up to the cursor where live resumed.
func fillGap(t *testing.T, base, room string, after, until store.Cursor) []store.Record {
	t.Helper()
	var out []store.Record
	for after < until {
		resp, err := http.Get(base + "/api/rooms/" + room + "/barrages?limit=1000&after=" + string(after))
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Barrages []store.Record `json:"barrages"`
			Cursor   store.Cursor   `json:"cursor"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Barrages) == 0 {
			t.Fatalf("history ends at %s, before the gap's end %s", after, until)
		}
		for _, r := range page.Barrages {
			if r.Cursor <= until {
				out = append(out, r)
			}
		}
		after = page.Cursor
	}
	return out
}

// TestFarBehindViewerGetsAGap: a viewer 20,000 records behind gets the replay limit's
// worth, in chunks, then a gap event, then live barrages; with the gap filled from the
// history API they have every record exactly once.
func TestFarBehindViewerGetsAGap(t *testing.T) {
	dir := t.TempDir()
	p := startPipelineWith(t, dir, nil, "")
	const room, behind = "behind", 20000

	// The backlog goes straight into the shared store, as the processor would have put it.
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "store"), store.Options{Retention: store.DefaultRetention})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	put := func(n int) map[string]bool {
		ids := map[string]bool{}
		for n > 0 {
			batch := make([]barrage.Barrage, min(n, store.MaxBatch))
			for i := range batch {
				batch[i], _ = barrage.Accept(room, barrage.Draft{Text: "backlog " + strconv.Itoa(n-i)}, time.Now())
				ids[batch[i].ID] = true
			}
			if _, err := st.Put(t.Context(), batch); err != nil {
				t.Fatal(err)
			}
			n -= len(batch)
		}
		return ids
	}
	put(1)
	var seen []store.Record
	waitUntil(t, "the first record visible", 30*time.Second, func() bool {
		seen = history(t, p.base, room)
		return len(seen) > 0
	})
	last := seen[len(seen)-1].Cursor
	want := put(behind)

	v := resume(t, p.base, room, last)
	s := send(t, p.base, room, 250, 50, 4)
	s.wait()
	for id := range s.ids() {
		want[id] = true
	}
	waitUntil(t, "every live barrage after the gap", 90*time.Second, func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		return v.err != nil || len(v.before)+len(v.after) >= 5000+len(s.ids())
	})

	v.mu.Lock()
	defer v.mu.Unlock()
	if v.err != nil {
		t.Fatal(v.err)
	}
	if v.gap == nil {
		t.Fatalf("no gap event after %d replayed records", len(v.before))
	}
	if len(v.before) != 5000 || v.gap.After != v.before[len(v.before)-1].Cursor {
		t.Fatalf("%d records replayed before a gap after %s", len(v.before), v.gap.After)
	}
	if v.replayEvents < 10 {
		t.Fatalf("the replay came in %d events, want chunks of at most 500", v.replayEvents)
	}
	filled := fillGap(t, p.base, room, v.gap.After, v.gap.Until)
	counts := map[string]int{}
	for _, part := range [][]store.Record{v.before, filled, v.after} {
		for _, r := range part {
			counts[r.ID]++
		}
	}
	missing, twice, extra := 0, 0, 0
	for id := range want {
		switch counts[id] {
		case 0:
			missing++
		case 1:
		default:
			twice++
		}
	}
	for id := range counts {
		if !want[id] {
			extra++
		}
	}
	if missing+twice+extra > 0 {
		t.Fatalf("of %d records: %d missing, %d more than once, %d not expected (the one at Last-Event-ID among them)", len(want), missing, twice, extra)
	}
	t.Logf("%d replayed in %d events, %d filled from history up to %s, %d live", len(v.before), v.replayEvents, len(filled), v.gap.Until, len(v.after))
}
