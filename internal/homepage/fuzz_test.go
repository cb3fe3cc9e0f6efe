package homepage

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/kafka"
	"github.com/barrage-live/barrage/internal/live"
	"github.com/barrage-live/barrage/internal/store"
)

type captureProducer struct {
	mu  sync.Mutex
	got []barrage.Barrage
}

func (c *captureProducer) Produce(_ context.Context, b barrage.Barrage, _ ...kafka.Header) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, b)
	return nil
}

type emptyHistory struct{}

func (emptyHistory) After(context.Context, string, store.Cursor, int) ([]store.Record, error) {
	return nil, nil
}
func (emptyHistory) Latest(context.Context, string, int) ([]store.Record, error) { return nil, nil }

// FuzzSendBarrage: any body to the send API gets 202 or a problem document, and only a
// valid barrage ever reaches Kafka.
func FuzzSendBarrage(f *testing.F) {
	for _, s := range []string{`{"text":"hi"}`, `{"text":"a","color":"#FFFFFF","mode":"top"}`, `{"text":`, "{\"text\":\"\xff\"}",
		`{"text":"a","extra":1}`, `[]`, `{"text":"<script>alert(1)</script>"}`, `{"text":"a"} {"text":"b"}`} {
		f.Add("room", s)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, room, body string) {
		prod := &captureProducer{}
		hub := live.New(emptyHistory{}, live.Options{}, log, live.Hooks{})
		defer hub.Close()
		s := New(prod, emptyHistory{}, hub, Options{}, log, Hooks{})
		r := httptest.NewRequest(http.MethodPost, "/api/rooms/x/barrages", strings.NewReader(body))
		r.SetPathValue("room", room)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.sendBarrage(w, r)
		if w.Code == http.StatusAccepted {
			if len(prod.got) != 1 {
				t.Fatalf("202 but %d produced", len(prod.got))
			}
			if err := prod.got[0].Validate(); err != nil {
				t.Fatalf("produced an invalid barrage: %v", err)
			}
			return
		}
		if len(prod.got) != 0 {
			t.Fatal("refused, yet produced")
		}
		if w.Code < 400 || w.Code >= 500 || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("status %d, type %q", w.Code, w.Header().Get("Content-Type"))
		}
		var p struct{ Title, Detail string }
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Title == "" || p.Detail == "" {
			t.Fatalf("problem document unreadable: %s", w.Body)
		}
	})
}
