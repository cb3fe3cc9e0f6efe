package processor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// memStore keeps the store contract in memory for the processor's tests.
type memStore struct {
	mu   sync.Mutex
	byID map[string]bool
	rows []store.Record
	fail error
	puts int
}

func (m *memStore) Put(_ context.Context, bs []barrage.Barrage) ([]store.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.puts++
	if m.fail != nil {
		return nil, m.fail
	}
	var stored []store.Record
	for _, b := range bs {
		if m.byID[b.ID] {
			continue
		}
		m.byID[b.ID] = true
		r := store.Record{Barrage: b, Cursor: store.Cursor(fmt.Sprintf("%016x", len(m.rows)+1))}
		m.rows = append(m.rows, r)
		stored = append(stored, r)
	}
	return stored, nil
}
func (m *memStore) After(context.Context, string, store.Cursor, int) ([]store.Record, error) {
	return nil, nil
}
func (m *memStore) Latest(context.Context, string, int) ([]store.Record, error) { return nil, nil }
func (m *memStore) Ping(context.Context) error                                  { return nil }
func (m *memStore) Close() error                                                { return nil }

func newTestProcessor(t *testing.T, words ...string) (*Processor, *memStore) {
	st := &memStore{byID: map[string]bool{}}
	p := New(st, Options{SensitiveWords: words}, slog.New(slog.NewTextHandler(io.Discard, nil)), Hooks{})
	t.Cleanup(p.Close)
	return p, st
}

func binaryEvent(t *testing.T, typ, id string, ext map[string]string, data string) *http.Request {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(data))
	r.Header.Set("Ce-Specversion", "1.0")
	r.Header.Set("Ce-Id", id)
	r.Header.Set("Ce-Source", "/test")
	r.Header.Set("Ce-Type", typ)
	r.Header.Set("Content-Type", "application/json")
	for k, v := range ext {
		r.Header.Set("Ce-"+k, v)
	}
	return r
}

func TestReceive(t *testing.T) {
	b, _ := barrage.Accept("room1", barrage.Draft{Text: "that is BadWord here"}, time.Now())
	whole, _ := json.Marshal(b)
	tests := []struct {
		name     string
		req      func(t *testing.T) *http.Request
		status   int
		wantText string
		wantRoom string
	}{
		{name: "our event type", status: 200, wantText: "that is ******* here", wantRoom: "room1",
			req: func(t *testing.T) *http.Request { return binaryEvent(t, barrage.EventType, b.ID, nil, string(whole)) }},
		{name: "plain record wrapped by a KafkaSource", status: 200, wantText: "hi", wantRoom: "fromkey",
			req: func(t *testing.T) *http.Request {
				return binaryEvent(t, barrage.KafkaEventType, "partition:0/offset:7", map[string]string{"key": "fromkey"}, `{"text":"hi"}`)
			}},
		{name: "structured mode", status: 200, wantText: "structured", wantRoom: "r2",
			req: func(t *testing.T) *http.Request {
				body := `{"specversion":"1.0","id":"x1","source":"/t","type":"live.barrage.accepted","datacontenttype":"application/json","data":{"id":"x1","room":"r2","text":"structured","acceptedAt":"2026-01-01T00:00:00Z"}}`
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/cloudevents+json")
				return r
			}},
		{name: "not json", status: 400,
			req: func(t *testing.T) *http.Request {
				return binaryEvent(t, barrage.KafkaEventType, "p:1", nil, "not json")
			}},
		{name: "invalid barrage", status: 400,
			req: func(t *testing.T) *http.Request {
				return binaryEvent(t, barrage.KafkaEventType, "p:2", map[string]string{"key": "r"}, `{"text":""}`)
			}},
		{name: "no room anywhere", status: 400,
			req: func(t *testing.T) *http.Request {
				return binaryEvent(t, barrage.KafkaEventType, "p:3", nil, `{"text":"x"}`)
			}},
		{name: "other event type", status: 400,
			req: func(t *testing.T) *http.Request { return binaryEvent(t, "com.example.other", "p:4", nil, `{}`) }},
		{name: "not a cloudevent", status: 400,
			req: func(t *testing.T) *http.Request {
				return httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(nil))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, st := newTestProcessor(t, "badword")
			w := httptest.NewRecorder()
			p.Handler().ServeHTTP(w, tt.req(t))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if tt.status != 200 {
				if len(st.rows) != 0 {
					t.Fatalf("a rejected event was stored: %+v", st.rows)
				}
				if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("content type %q", ct)
				}
				return
			}
			if len(st.rows) != 1 || st.rows[0].Text != tt.wantText || st.rows[0].Room != tt.wantRoom {
				t.Fatalf("stored %+v, want text %q in %q", st.rows, tt.wantText, tt.wantRoom)
			}
		})
	}
}

func TestRedeliveredPlainRecordKeepsItsID(t *testing.T) {
	p, st := newTestProcessor(t)
	for range 3 {
		w := httptest.NewRecorder()
		p.Handler().ServeHTTP(w, binaryEvent(t, barrage.KafkaEventType, "partition:1/offset:9", map[string]string{"key": "r"}, `{"text":"again"}`))
		if w.Code != 200 {
			t.Fatalf("status %d", w.Code)
		}
	}
	if len(st.rows) != 1 {
		t.Fatalf("stored %d rows for one redelivered record", len(st.rows))
	}
}

func TestStoreFailureIsRetryable(t *testing.T) {
	p, st := newTestProcessor(t)
	st.fail = store.ErrUnavailable
	b, _ := barrage.Accept("r", barrage.Draft{Text: "x"}, time.Now())
	data, _ := json.Marshal(b)
	w := httptest.NewRecorder()
	p.Handler().ServeHTTP(w, binaryEvent(t, barrage.EventType, b.ID, nil, string(data)))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
}

func TestConcurrentRequestsShareWrites(t *testing.T) {
	p, st := newTestProcessor(t)
	const n = 400
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, _ := barrage.Accept("r", barrage.Draft{Text: "x"}, time.Now().Add(time.Duration(i)))
			if err := p.Process(context.Background(), b); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(st.rows) != n {
		t.Fatalf("stored %d, want %d", len(st.rows), n)
	}
	t.Logf("%d barrages in %d store writes", n, st.puts)
}

// gatedStore holds every Put until released, counting how many are inside at once.
type gatedStore struct {
	memStore
	release chan struct{}
	mu      sync.Mutex
	inside  int
	most    int
	entered chan struct{}
}

func (g *gatedStore) Put(ctx context.Context, bs []barrage.Barrage) ([]store.Record, error) {
	g.mu.Lock()
	g.inside++
	g.most = max(g.most, g.inside)
	g.mu.Unlock()
	g.entered <- struct{}{}
	<-g.release
	g.mu.Lock()
	g.inside--
	g.mu.Unlock()
	return g.memStore.Put(ctx, bs)
}

func TestWritersRunStoreWritesAtOnce(t *testing.T) {
	for _, writers := range []int{1, 3} {
		g := &gatedStore{memStore: memStore{byID: map[string]bool{}}, release: make(chan struct{}), entered: make(chan struct{}, 16)}
		p := New(g, Options{Writers: writers}, slog.New(slog.NewTextHandler(io.Discard, nil)), Hooks{})
		const n = 6
		errs := make(chan error, n)
		send := func(i int) {
			b, _ := barrage.Accept("r", barrage.Draft{Text: "x"}, time.Now().Add(time.Duration(i)))
			go func() { errs <- p.Process(context.Background(), b) }()
		}
		// One at a time until every writer holds a write, so none can batch them.
		deadline := time.After(10 * time.Second)
		for i := range writers {
			send(i)
			select {
			case <-g.entered:
			case <-deadline:
				t.Fatalf("%d writers: write %d did not start while %d were running", writers, i+1, i)
			}
		}
		for i := writers; i < n; i++ {
			send(i)
		}
		close(g.release)
		for range n {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		p.Close()
		if g.most != writers || len(g.rows) != n {
			t.Fatalf("%d writers: %d writes at once, %d stored of %d", writers, g.most, len(g.rows), n)
		}
	}
}

func TestMask(t *testing.T) {
	m := NewMasker([]string{"bad", "坏蛋", " "})
	tests := map[string]string{
		"BAD things":   "*** things",
		"你是坏蛋吗":        "你是**吗",
		"nothing here": "nothing here",
		"badbad":       "******",
	}
	for in, want := range tests {
		if got := m.Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

// A room's own words are masked after the server's, in that room only, and the sender hash
// the HomePage wrote is stored with the barrage.
func TestRoomWordsAndSender(t *testing.T) {
	st := &memStore{byID: map[string]bool{}}
	p := New(st, Options{SensitiveWords: []string{"bad"}, RoomWords: func(room string) []string {
		if room == "strict" {
			return []string{"剧透", "ending"}
		}
		return nil
	}}, slog.New(slog.DiscardHandler), Hooks{})
	t.Cleanup(p.Close)
	for _, room := range []string{"strict", "open"} {
		b, _ := barrage.Accept(room, barrage.Draft{Text: "bad 剧透: the Ending"}, time.Now())
		b.Sender = "0123456789abcdef0123456789abcdef"
		data, _ := json.Marshal(b)
		w := httptest.NewRecorder()
		p.Handler().ServeHTTP(w, binaryEvent(t, barrage.EventType, b.ID, nil, string(data)))
		if w.Code >= 300 {
			t.Fatalf("%s: %d %s", room, w.Code, w.Body)
		}
	}
	want := map[string]string{"strict": "*** **: the ******", "open": "*** 剧透: the Ending"}
	for _, r := range st.rows {
		if r.Text != want[r.Room] {
			t.Errorf("room %s stored %q, want %q", r.Room, r.Text, want[r.Room])
		}
		if r.Sender != "0123456789abcdef0123456789abcdef" {
			t.Errorf("room %s stored sender %q", r.Room, r.Sender)
		}
	}
	if len(st.rows) != 2 {
		t.Fatalf("stored %d, want 2", len(st.rows))
	}
}
