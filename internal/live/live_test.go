package live

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/live/livetest"
	"github.com/barrage-live/barrage/internal/store"
)

// memSource keeps records in memory with fixed-width cursors, as the store contract asks.
type memSource struct {
	mu   sync.Mutex
	rows []store.Record
}

func (m *memSource) add(room string, n int) []string { return m.addText(room, n, "x") }

func (m *memSource) addText(room string, n int, text string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []string
	for range n {
		b, _ := barrage.Accept(room, barrage.Draft{Text: text}, time.Now())
		m.rows = append(m.rows, store.Record{Barrage: b, Cursor: store.Cursor(fmt.Sprintf("%016x", len(m.rows)+1))})
		ids = append(ids, b.ID)
	}
	return ids
}

func (m *memSource) After(_ context.Context, room string, after store.Cursor, limit int) ([]store.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Record
	for _, r := range m.rows {
		if r.Room == room && r.Cursor > after && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

// last is the newest record's id and cursor.
func (m *memSource) last() (string, store.Cursor, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.rows) == 0 {
		return "", "", false
	}
	r := m.rows[len(m.rows)-1]
	return r.ID, r.Cursor, true
}

func (m *memSource) Latest(_ context.Context, room string, n int) ([]store.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []store.Record
	for i := len(m.rows) - 1; i >= 0 && len(out) < n; i-- {
		if m.rows[i].Room == room {
			out = append([]store.Record{m.rows[i]}, out...)
		}
	}
	return out, nil
}

func newTestHub(t *testing.T, src Source, opts Options, hooks Hooks) (*Hub, *httptest.Server) {
	t.Helper()
	hub := New(src, opts, slog.New(slog.NewTextHandler(io.Discard, nil)), hooks)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := hub.Subscribe(w, r, strings.TrimPrefix(r.URL.Path, "/"), func() {}); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(func() { hub.Close(); srv.Close() })
	return hub, srv
}

// viewer reads a stream and collects barrage ids in arrival order.
type viewer struct {
	mu     sync.Mutex
	ids    []string
	lastID string
	cancel context.CancelFunc
	done   chan struct{}
}

func watch(t *testing.T, url, lastEventID string) *viewer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	v := &viewer{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(v.done)
		defer resp.Body.Close()
		_ = livetest.ReadBarrages(resp.Body, v.add)
	}()
	t.Cleanup(func() { cancel(); <-v.done })
	return v
}

func (v *viewer) add(id string, recs []store.Record) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, r := range recs {
		v.ids = append(v.ids, r.ID)
	}
	v.lastID = id
}

func (v *viewer) snapshot() ([]string, string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.ids...), v.lastID
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func exactlyOnce(t *testing.T, got, want []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Fatalf("%s received %d times", id, seen[id])
		}
	}
	if len(got) != len(want) {
		t.Fatalf("received %d barrages, want %d", len(got), len(want))
	}
}

func TestViewersGetEachBarrageOnce(t *testing.T) {
	src := &memSource{}
	src.add("room", 3) // history before anyone watches is not streamed
	hub, srv := newTestHub(t, src, Options{PollInterval: 10 * time.Millisecond}, Hooks{})
	a, b := watch(t, srv.URL+"/room", ""), watch(t, srv.URL+"/room", "")
	var want []string
	for range 20 {
		want = append(want, src.add("room", 7)...)
		hub.Notify("room")
	}
	src.add("other", 5)
	for _, v := range []*viewer{a, b} {
		waitFor(t, "all barrages", func() bool { ids, _ := v.snapshot(); return len(ids) >= len(want) })
		ids, _ := v.snapshot()
		exactlyOnce(t, ids, want)
	}
}

func TestResumeGetsExactlyWhatWasMissed(t *testing.T) {
	t.Run("one shard", func(t *testing.T) { resumeGetsWhatWasMissed(t, 1000) })
	// Each viewer on a shard of their own: the resumed one joins a shard that another
	// viewer's turns have moved on.
	t.Run("shards", func(t *testing.T) { resumeGetsWhatWasMissed(t, 1) })
}

func resumeGetsWhatWasMissed(t *testing.T, shardSize int) {
	src := &memSource{}
	hub, srv := newTestHub(t, src, Options{PollInterval: 5 * time.Millisecond, ShardSize: shardSize}, Hooks{})
	first := watch(t, srv.URL+"/room", "")
	watch(t, srv.URL+"/room", "")
	src.add("room", 10)
	hub.Notify("room")
	waitFor(t, "first batch", func() bool { ids, _ := first.snapshot(); return len(ids) == 10 })
	_, last := first.snapshot()
	first.cancel()
	<-first.done

	// While the viewer is away, and while it reconnects, barrages keep coming.
	missed := src.add("room", 25)
	stop, stopped := make(chan struct{}), make(chan struct{})
	var more []string
	var moreMu sync.Mutex
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			default:
			}
			ids := src.add("room", 1)
			moreMu.Lock()
			more = append(more, ids...)
			moreMu.Unlock()
			hub.Notify("room")
			time.Sleep(time.Millisecond)
		}
	}()
	again := watch(t, srv.URL+"/room", last)
	// Keep writing across the seam until live events have followed the replay.
	waitFor(t, "live events after the replay", func() bool { ids, _ := again.snapshot(); return len(ids) > len(missed)+5 })
	close(stop)
	<-stopped
	moreMu.Lock()
	all := append(append([]string(nil), missed...), more...)
	moreMu.Unlock()
	waitFor(t, "resumed stream to catch up", func() bool { ids, _ := again.snapshot(); return len(ids) >= len(all) })
	ids, _ := again.snapshot()
	exactlyOnce(t, ids, all)
}

// TestShardsTakeTurns: a room whose viewers fill several shards gets every barrage to
// every viewer once, in order, and the once-a-second stats too.
func TestShardsTakeTurns(t *testing.T) {
	src := &memSource{}
	hub, srv := newTestHub(t, src, Options{PollInterval: 5 * time.Millisecond, ShardSize: 2}, Hooks{})
	type seen struct {
		mu    sync.Mutex
		ids   []string
		stats int
	}
	viewers := make([]*seen, 5) // three shards: 2, 2 and 1
	for i := range viewers {
		v := &seen{}
		viewers[i] = v
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/room", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer resp.Body.Close()
			_ = livetest.ReadEvents(resp.Body, func(e livetest.Event) {
				v.mu.Lock()
				defer v.mu.Unlock()
				if e.Name == "stats" {
					v.stats++
					return
				}
				var recs []store.Record
				if err := json.Unmarshal([]byte(e.Data), &recs); err != nil {
					t.Errorf("batch %q: %v", e.Data, err)
				}
				for _, r := range recs {
					v.ids = append(v.ids, r.ID)
				}
			})
		}()
		t.Cleanup(func() { cancel(); <-done })
	}
	hub.mu.Lock()
	f := hub.feeds["room"]
	hub.mu.Unlock()
	if n := len(hub.shardsOf(f)); n != 3 {
		t.Fatalf("%d shards for 5 viewers of 2 a shard, want 3", n)
	}
	var want []string
	for i := 0; ; i++ {
		want = append(want, src.add("room", 3)...)
		hub.Notify("room")
		all := true
		for _, v := range viewers {
			v.mu.Lock()
			all = all && v.stats > 0 && len(v.ids) > 0
			v.mu.Unlock()
		}
		if all || i > 2000 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	for i, v := range viewers {
		waitFor(t, "every barrage", func() bool { v.mu.Lock(); defer v.mu.Unlock(); return len(v.ids) >= len(want) })
		v.mu.Lock()
		if v.stats == 0 {
			t.Errorf("viewer %d got no stats", i)
		}
		if !slices.Equal(v.ids, want) {
			t.Errorf("viewer %d got %d barrages, out of order or repeated; want %d", i, len(v.ids), len(want))
		}
		v.mu.Unlock()
	}
}
