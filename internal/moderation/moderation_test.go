package moderation

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/store"
)

func TestHasher(t *testing.T) {
	const one, two = "token-one-0123456789abcdef0123456789", "token-two-0123456789abcdef0123456789"
	h := NewHasher(one).Sender("203.0.113.7/32")
	if len(h) != 32 || strings.Contains(h, "203") {
		t.Fatalf("hash %q: want 32 hex digits that do not show the address", h)
	}
	if NewHasher(one).Sender("203.0.113.7/32") != h {
		t.Fatal("the same token and client give another hash: instances would not agree")
	}
	if NewHasher(two).Sender("203.0.113.7/32") == h || NewHasher(one).Sender("203.0.113.8/32") == h {
		t.Fatal("another token or client gives the same hash")
	}
	if NewHasher("").Sender("x") == NewHasher("").Sender("x") {
		t.Fatal("without a token the key should be random per process")
	}
}

func TestLimits(t *testing.T) {
	tests := []struct {
		name  string
		check func() error
		field string
	}{
		{"mute 0 s", func() error { _, err := MuteFor(0); return err }, "seconds"},
		{"mute over 30 days", func() error { _, err := MuteFor(int64(MaxMute/time.Second) + 1); return err }, "seconds"},
		{"slow mode negative", func() error { _, err := SlowMode(-1); return err }, "slowModeSeconds"},
		{"slow mode over an hour", func() error { _, err := SlowMode(3601); return err }, "slowModeSeconds"},
		{"too many words", func() error { _, err := Words(make([]string, MaxWords+1)); return err }, "words"},
		{"a long word", func() error { _, err := Words([]string{strings.Repeat("a", MaxWordRunes+1)}); return err }, "words"},
		{"a control character", func() error { _, err := Words([]string{"a\nb"}); return err }, "words"},
		{"a long name", func() error { _, err := Name(strings.Repeat("n", MaxNameRunes+1)); return err }, "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.check()
			var fe *FieldError
			if !errors.Is(err, ErrInvalid) || !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("err = %v, want an invalid %s", err, tt.field)
			}
		})
	}
	if d, err := MuteFor(60); err != nil || d != time.Minute {
		t.Fatalf("MuteFor(60) = %v, %v", d, err)
	}
	words, err := Words([]string{" Spoiler ", "", "spoiler", "剧透", strings.Repeat("字", MaxWordRunes)})
	if err != nil || !slices.Equal(words, []string{"Spoiler", "剧透", strings.Repeat("字", MaxWordRunes)}) {
		t.Fatalf("Words = %q, %v: want trimmed, blanks dropped, repeats once", words, err)
	}
}

// fakeSource is an in-memory log and state, as a store gives them.
type fakeSource struct {
	mu    sync.Mutex
	state store.Moderation
	log   []store.Action
}

func (f *fakeSource) Moderation(context.Context, time.Time) (store.Moderation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state, nil
}

func (f *fakeSource) Actions(_ context.Context, since time.Time, limit int) ([]store.Action, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.Action
	for _, a := range f.log {
		if !a.At.Before(since) && len(out) < limit {
			out = append(out, a)
		}
	}
	return out, nil
}

func (f *fakeSource) add(a ...store.Action) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, a...)
}

// The book tells of each deletion in the log once, a late entry (written with an earlier
// time by a slower instance) too, and takes mutes and rules from the state.
func TestBookFollowsTheLog(t *testing.T) {
	src := &fakeSource{}
	var deleted []string
	b := NewBook(src, time.Hour, slog.New(slog.DiscardHandler), func(room, id string) { deleted = append(deleted, room+"/"+id) })
	now := time.Now()
	src.add(store.Action{ID: "old", Room: "r", Kind: store.ActDelete, Target: "before-start", At: now.Add(-time.Minute)})
	if err := b.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	src.add(store.Action{ID: "a1", Room: "r", Kind: store.ActDelete, Target: "x", At: now.Add(time.Second)},
		store.Action{ID: "a2", Room: "r", Kind: store.ActMute, Target: "s", At: now.Add(2 * time.Second)})
	src.mu.Lock()
	src.state = store.Moderation{
		Mutes: []store.Mute{{Room: "r", Sender: "s", Until: now.Add(time.Hour)}},
		Rules: []store.Rules{{Room: "r", SlowMode: 5 * time.Second, Words: []string{"w"}}},
	}
	src.mu.Unlock()
	if err := b.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	src.add(store.Action{ID: "late", Room: "r", Kind: store.ActDelete, Target: "y", At: now.Add(-time.Second)})
	for range 2 {
		if err := b.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(deleted, []string{"r/x", "r/y"}) {
		t.Fatalf("deletions told: %v, want r/x and the late r/y, each once, and none from before the start", deleted)
	}
	if _, ok := b.Muted("r", "s", now); !ok {
		t.Fatal("the mute in the state is not in the book")
	}
	if _, ok := b.Muted("r", "s", now.Add(2*time.Hour)); ok {
		t.Fatal("a mute that ended still holds")
	}
	if _, ok := b.Muted("other", "s", now); ok {
		t.Fatal("a mute holds in another room")
	}
	if r := b.Rules("r"); r.SlowMode != 5*time.Second || !slices.Equal(r.Words, []string{"w"}) {
		t.Fatalf("rules %+v", r)
	}
}
