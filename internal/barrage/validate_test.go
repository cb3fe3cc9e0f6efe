package barrage

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAccept(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 123456789, time.UTC)
	tests := []struct {
		name      string
		room      string
		draft     Draft
		wantField string // empty when valid
	}{
		{name: "plain", room: "default", draft: Draft{Text: "hello"}},
		{name: "colour and mode", room: "r-1_x", draft: Draft{Text: "上", Color: "#FF00aa", Mode: ModeTop}},
		{name: "empty text", room: "r", draft: Draft{Text: "   "}, wantField: "text"},
		{name: "too long", room: "r", draft: Draft{Text: strings.Repeat("字", MaxTextRunes+1)}, wantField: "text"},
		{name: "exactly the limit", room: "r", draft: Draft{Text: strings.Repeat("字", MaxTextRunes)}},
		{name: "invalid utf-8", room: "r", draft: Draft{Text: "a\xffb"}, wantField: "text"},
		{name: "control character", room: "r", draft: Draft{Text: "a\x07b"}, wantField: "text"},
		{name: "line break", room: "r", draft: Draft{Text: "a\nb"}, wantField: "text"},
		{name: "unknown mode", room: "r", draft: Draft{Text: "a", Mode: "sideways"}, wantField: "mode"},
		{name: "bad colour", room: "r", draft: Draft{Text: "a", Color: "red"}, wantField: "color"},
		{name: "short colour", room: "r", draft: Draft{Text: "a", Color: "#fff"}, wantField: "color"},
		{name: "room with slash", room: "a/b", draft: Draft{Text: "a"}, wantField: "room"},
		{name: "room too long", room: strings.Repeat("r", MaxRoomLength+1), draft: Draft{Text: "a"}, wantField: "room"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := Accept(tt.room, tt.draft, now)
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Accept: %v", err)
				}
				if b.ID == "" || !b.AcceptedAt.Equal(now) || b.Color == "" || b.Mode == "" {
					t.Fatalf("incomplete barrage: %+v", b)
				}
				return
			}
			var fe *FieldError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Fatalf("err = %v, want a field error on %q", err, tt.wantField)
			}
		})
	}
}

func TestNewIDSortsByTimeAndIsUnique(t *testing.T) {
	t0 := time.Now()
	seen := map[string]bool{}
	prev := ""
	for i := range 1000 {
		id := NewID(t0.Add(time.Duration(i) * time.Microsecond))
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
		if id <= prev {
			t.Fatalf("id %s does not sort after %s", id, prev)
		}
		if err := safeName("id", id, MaxIDLength); err != nil {
			t.Fatalf("id %s: %v", id, err)
		}
		prev = id
	}
}
