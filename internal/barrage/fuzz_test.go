package barrage

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzAccept: whatever a sender submits, Accept either refuses it with a field error or
// returns a barrage that validates, survives a JSON round trip and keeps the limits.
func FuzzAccept(f *testing.F) {
	for _, seed := range []struct{ room, text, color, mode string }{
		{"default", "hello", "", ""}, {"r", "弾幕", "#FFAA00", "top"}, {"a/b", "x", "red", "diagonal"},
		{"r", "a\x00b", "#ffffff", "bottom"}, {"r", "\xff\xfe", "", ""}, {"r", "  ", "", ""},
	} {
		f.Add(seed.room, seed.text, seed.color, seed.mode)
	}
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	f.Fuzz(func(t *testing.T, room, text, color, mode string) {
		b, err := Accept(room, Draft{Text: text, Color: color, Mode: Mode(mode)}, at)
		if err != nil {
			var fe *FieldError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &fe) || fe.Field == "" || fe.Reason == "" {
				t.Fatalf("refusal without a field error: %v", err)
			}
			return
		}
		if err := b.Validate(); err != nil {
			t.Fatalf("accepted barrage does not validate: %v", err)
		}
		if !utf8.ValidString(b.Text) || utf8.RuneCountInString(b.Text) > MaxTextRunes {
			t.Fatalf("limits broken: %q", b.Text)
		}
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		var back Barrage
		if err := json.Unmarshal(raw, &back); err != nil || back != b {
			t.Fatalf("round trip changed the barrage: %+v → %+v (%v)", b, back, err)
		}
	})
}
