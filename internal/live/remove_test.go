package live

import (
	"bufio"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// A barrage shown early and then deleted: the viewers who have it are told to remove it,
// and a viewer who joins afterwards is never given it, though the store has not settled
// what was shown early around it: not from the shard's state, nor from the feed's.
func TestRemovedIsNotGivenToLaterViewers(t *testing.T) {
	src := &memSource{}
	hub, srv := newTestHub(t, src, Options{SettleDelay: time.Hour, PollInterval: time.Hour}, Hooks{})
	first := watch(t, srv.URL+"/room", "")
	removed := watchRemoved(t, srv.URL+"/room")
	waitFor(t, "two viewers", func() bool { return hub.viewersOf("room") == 2 })
	var recs []store.Record
	for i := range 2 {
		b, _ := barrage.Accept("room", barrage.Draft{Text: "early"}, time.Now())
		recs = append(recs, store.Record{Barrage: b, Cursor: store.Cursor(strings.Repeat("0", 15) + string(rune('1'+i)))})
	}
	hub.Notice("room", recs)
	waitFor(t, "the early records", func() bool { ids, _ := first.snapshot(); return len(ids) == 2 })
	hub.Remove("room", recs[0].ID)
	waitFor(t, "the removed event", func() bool { return slices.Contains(removed.get(), recs[0].ID) })

	later := watch(t, srv.URL+"/room", "")
	waitFor(t, "the later viewer's catch-up", func() bool { ids, _ := later.snapshot(); return len(ids) >= 1 })
	b, _ := barrage.Accept("room", barrage.Draft{Text: "after"}, time.Now())
	next := store.Record{Barrage: b, Cursor: store.Cursor(strings.Repeat("0", 15) + "3")}
	hub.Notice("room", []store.Record{next})
	waitFor(t, "the next record", func() bool { ids, _ := later.snapshot(); return slices.Contains(ids, next.ID) })
	// And one who joins after the feed published again, from its own early records.
	last := watch(t, srv.URL+"/room", "")
	waitFor(t, "the last viewer's catch-up", func() bool { ids, _ := last.snapshot(); return slices.Contains(ids, next.ID) })
	for name, v := range map[string]*viewer{"after the delete": later, "after the next batch": last} {
		ids, _ := v.snapshot()
		if slices.Contains(ids, recs[0].ID) || !slices.Contains(ids, recs[1].ID) {
			t.Fatalf("a viewer who joined %s got %v; want %s and not the deleted %s", name, ids, recs[1].ID, recs[0].ID)
		}
	}
}

type removedWatcher struct {
	mu  chan struct{}
	ids []string
}

func (r *removedWatcher) get() []string {
	r.mu <- struct{}{}
	defer func() { <-r.mu }()
	return slices.Clone(r.ids)
}

// watchRemoved collects the ids of the stream's removed events.
func watchRemoved(t *testing.T, url string) *removedWatcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r := &removedWatcher{mu: make(chan struct{}, 1)}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		data := ""
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			case line == "event: removed":
				r.mu <- struct{}{}
				r.ids = append(r.ids, strings.Trim(strings.TrimPrefix(data, `{"ids":[`), `"]}`))
				<-r.mu
			case line == "":
				data = ""
			}
		}
	}()
	return r
}
