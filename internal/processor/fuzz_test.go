package processor

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/barrage-live/barrage/internal/barrage"
)

// FuzzReceive: any body and attributes a sink might be sent get 200, 400 or 503, never a
// panic, and only a valid barrage is ever stored.
func FuzzReceive(f *testing.F) {
	f.Add(barrage.EventType, "id1", "room", "application/json", `{"id":"a","room":"r","text":"hi","acceptedAt":"2026-01-01T00:00:00Z"}`)
	f.Add(barrage.KafkaEventType, "partition:0/offset:1", "r", "application/json", `{"text":"typed"}`)
	f.Add(barrage.KafkaEventType, "p", "", "text/plain", "not json")
	f.Add("other", "", "", "", "")
	f.Add(barrage.EventType, "x", "r", "application/cloudevents+json", `{"specversion":"1.0"}`)
	f.Fuzz(func(t *testing.T, typ, id, key, contentType, body string) {
		p, st := newTestProcessor(t)
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.Header.Set("Ce-Specversion", "1.0")
		r.Header.Set("Ce-Id", id)
		r.Header.Set("Ce-Source", "/fuzz")
		r.Header.Set("Ce-Type", typ)
		r.Header.Set("Ce-Key", key)
		r.Header.Set("Content-Type", contentType)
		w := httptest.NewRecorder()
		p.Handler().ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusServiceUnavailable:
		default:
			t.Fatalf("status %d", w.Code)
		}
		for _, rec := range st.rows {
			if err := rec.Validate(); err != nil {
				t.Fatalf("stored an invalid barrage %+v: %v", rec.Barrage, err)
			}
		}
	})
}
