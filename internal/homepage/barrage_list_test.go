package homepage

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/live"
	"github.com/barrage-live/barrage/internal/store"
)

// tracedHistory holds one barrage that carries its trace context, as the store keeps it.
type tracedHistory struct{}

func (tracedHistory) After(context.Context, string, store.Cursor, int) ([]store.Record, error) {
	return []store.Record{{Cursor: "c1", Barrage: barrage.Barrage{ID: "b1", Room: "r", Text: "hi", Mode: barrage.ModeScroll,
		AcceptedAt: time.Unix(1_700_000_000, 0).UTC(), TraceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}}}, nil
}
func (tracedHistory) Latest(context.Context, string, int) ([]store.Record, error) { return nil, nil }

func TestHistoryHidesTraceContext(t *testing.T) {
	h := startTarget(t, Options{}, live.Options{}, tracedHistory{})
	resp, err := http.Get(h.url + "/api/rooms/r/barrages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var got struct{ Barrages []map[string]any }
	if err := json.Unmarshal(body, &got); err != nil || len(got.Barrages) != 1 || got.Barrages[0]["id"] != "b1" {
		t.Fatalf("history %s: %v", body, err)
	}
	if strings.Contains(string(body), "traceparent") || strings.Contains(string(body), "0af7651916cd43dd") {
		t.Fatalf("history carries the trace context: %s", body)
	}
}
