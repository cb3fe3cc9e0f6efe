package processor

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

type notices struct {
	mu    sync.Mutex
	calls map[string][][]store.Record
}

func (n *notices) Notice(room string, recs []store.Record) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.calls[room] = append(n.calls[room], recs)
}

// TestNoticeAfterEachWrite: each durable write is followed by one notice per room it
// touched, holding that room's new records, moderated, with their cursors; a redelivered
// barrage, already stored, is in none; a failed write sends none.
func TestNoticeAfterEachWrite(t *testing.T) {
	st := &memStore{byID: map[string]bool{}}
	n := &notices{calls: map[string][][]store.Record{}}
	p := New(st, Options{SensitiveWords: []string{"darn"}, MaxBatch: 1, Notices: n}, slog.New(slog.NewTextHandler(io.Discard, nil)), Hooks{})
	defer p.Close()
	a, _ := barrage.Accept("a", barrage.Draft{Text: "darn it"}, time.Now())
	b, _ := barrage.Accept("b", barrage.Draft{Text: "fine"}, time.Now())
	for _, bg := range []barrage.Barrage{a, b, a} {
		if err := p.Process(context.Background(), bg); err != nil {
			t.Fatal(err)
		}
	}
	st.mu.Lock()
	st.fail = fmt.Errorf("store down: %w", store.ErrUnavailable)
	st.mu.Unlock()
	c, _ := barrage.Accept("a", barrage.Draft{Text: "lost"}, time.Now())
	if err := p.Process(context.Background(), c); err == nil {
		t.Fatal("a failed write reported success")
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.calls["a"]) != 1 || len(n.calls["b"]) != 1 {
		t.Fatalf("notices %v, want one for each room", n.calls)
	}
	got := n.calls["a"][0]
	if len(got) != 1 || got[0].ID != a.ID || got[0].Text != "**** it" || got[0].Cursor == "" {
		t.Fatalf("notice of room a holds %+v, want the moderated barrage with its cursor", got)
	}
}

// TestNoticesSplitByRoom: a write that carries several rooms sends one notice for each,
// its records in the order they were stored.
func TestNoticesSplitByRoom(t *testing.T) {
	var recs []store.Record
	for i, room := range []string{"a", "b", "a", "c", "b"} {
		recs = append(recs, store.Record{Barrage: barrage.Barrage{ID: string(rune('0' + i)), Room: room}})
	}
	got := byRoom(recs)
	want := [][]string{{"0", "2"}, {"1", "4"}, {"3"}}
	if len(got) != len(want) {
		t.Fatalf("%d notices, want %d", len(got), len(want))
	}
	for i, w := range want {
		for k, id := range w {
			if got[i][k].ID != id {
				t.Fatalf("notice %d is %+v, want ids %v", i, got[i], w)
			}
		}
	}
}
