package views

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/barrage-live/barrage/internal/barrage"
)

func render(t *testing.T, d RoomData) *html.Node {
	t.Helper()
	var sb strings.Builder
	if err := Room(d).Render(context.Background(), &sb); err != nil {
		t.Fatalf("render: %v", err)
	}
	doc, err := html.Parse(strings.NewReader(sb.String()))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// all returns the elements whose data-testid is id, in document order.
func all(doc *html.Node, id string) []*html.Node {
	var out []*html.Node
	for n := range doc.Descendants() {
		if v, ok := attr(n, "data-testid"); ok && n.Type == html.ElementNode && v == id {
			out = append(out, n)
		}
	}
	return out
}

func one(t *testing.T, doc *html.Node, id string) *html.Node {
	t.Helper()
	ns := all(doc, id)
	if len(ns) != 1 {
		t.Fatalf("data-testid=%q: found %d elements, want 1", id, len(ns))
	}
	return ns[0]
}

func text(n *html.Node) string {
	var sb strings.Builder
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			sb.WriteString(d.Data)
		}
	}
	return sb.String()
}

func TestRoomShowsRoomHistoryAndCursor(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 0, 0, 123456789, time.UTC)
	d := RoomData{
		Room: "music",
		Recent: []barrage.Barrage{
			{ID: "a1", Room: "music", Text: "first", Color: "#ff0000", Mode: barrage.ModeScroll, AcceptedAt: at},
			{ID: "a2", Room: "music", Text: `<script>alert(1)</script>`, Color: "#00ff00", Mode: barrage.ModeTop, AcceptedAt: at},
		},
		LastCursor: "c-42",
		Version:    "v1.2.3",
	}
	doc := render(t, d)
	main := one(t, doc, "room")
	for key, want := range map[string]string{"data-room": "music", "data-cursor": "c-42", "data-version": "v1.2.3"} {
		if got, _ := attr(main, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	items := all(doc, "history-item")
	if len(items) != 2 {
		t.Fatalf("history items = %d, want 2", len(items))
	}
	if id, _ := attr(items[0], "data-id"); id != "a1" {
		t.Errorf("first history item id = %q, want a1 (oldest first)", id)
	}
	if got := text(items[1]); strings.TrimSpace(got) != `<script>alert(1)</script>` {
		t.Errorf("history text = %q, want the markup as literal text", got)
	}
	if got, _ := attr(items[1], "data-accepted-at"); got != "2026-11-22T12:00:00.123456789Z" {
		t.Errorf("data-accepted-at = %q", got)
	}
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "script" {
			// A JSON data block is never run, so the CSP has nothing to allow.
			if typ, _ := attr(n, "type"); typ == "application/json" {
				continue
			}
			if _, ok := attr(n, "src"); !ok || text(n) != "" {
				t.Errorf("inline script found; the CSP allows only script src")
			}
		}
		if _, ok := attr(n, "style"); ok {
			t.Errorf("<%s> has a style attribute; the CSP forbids inline styles", n.Data)
		}
	}
}

func TestRoomLoadSenderFollowsSettings(t *testing.T) {
	tests := []struct {
		name     string
		settings LoadSenderSettings
		wantForm bool
		wantMaxC string
		wantMaxD string
	}{
		{name: "off", settings: LoadSenderSettings{}, wantForm: false},
		{name: "on", settings: LoadSenderSettings{Enabled: true, MaxConcurrency: 64, MaxDuration: time.Minute}, wantForm: true, wantMaxC: "64", wantMaxD: "60"},
		{name: "tight", settings: LoadSenderSettings{Enabled: true, MaxConcurrency: 2, MaxDuration: 5 * time.Second}, wantForm: true, wantMaxC: "2", wantMaxD: "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := render(t, RoomData{Room: "r", LoadSender: tt.settings})
			forms := all(doc, "load-form")
			if got := len(forms) == 1; got != tt.wantForm {
				t.Fatalf("load form shown = %v, want %v", got, tt.wantForm)
			}
			if !tt.wantForm {
				return
			}
			if got, _ := attr(one(t, doc, "load-concurrency"), "max"); got != tt.wantMaxC {
				t.Errorf("concurrency max = %q, want %q", got, tt.wantMaxC)
			}
			if got, _ := attr(one(t, doc, "load-duration"), "max"); got != tt.wantMaxD {
				t.Errorf("duration max = %q, want %q", got, tt.wantMaxD)
			}
		})
	}
}

func TestRoomHasSendBoxAndStats(t *testing.T) {
	doc := render(t, RoomData{Room: "r"})
	if got, _ := attr(one(t, doc, "send-text"), "maxlength"); got != "100" {
		t.Errorf("send-text maxlength = %q, want 100", got)
	}
	for _, id := range []string{"send-form", "send-color", "send-mode", "send-error", "stage", "stats-plot", "stat-p99", "ctl-pause", "ctl-hide", "ctl-clear", "block-form", "live-list"} {
		one(t, doc, id)
	}
}
