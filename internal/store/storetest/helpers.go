package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// visibleWithin bounds how long a store may hold back a row it has acknowledged.
const visibleWithin = 15 * time.Second

// newRoom returns a room name no other subtest uses, so backends may share one table.
func newRoom(t *testing.T, label string) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("room name: %v", err)
	}
	return label + "-" + hex.EncodeToString(b[:])
}

var stampMu sync.Mutex
var lastStamp time.Time

// stamp returns strictly increasing acceptance times near now, so put order and acceptance
// order agree whichever one a backend's cursor follows.
func stamp() time.Time {
	stampMu.Lock()
	defer stampMu.Unlock()
	now := time.Now().UTC()
	if !now.After(lastStamp) {
		now = lastStamp.Add(time.Microsecond)
	}
	lastStamp = now
	return now
}

// newBarrage accepts a valid barrage for room, accepted now.
func newBarrage(t testing.TB, room, text string) barrage.Barrage {
	t.Helper()
	return newBarrageAt(t, room, text, stamp())
}

func newBarrageAt(t testing.TB, room, text string, at time.Time) barrage.Barrage {
	t.Helper()
	b, err := barrage.Accept(room, barrage.Draft{Text: text, Color: "#00ff7f", Mode: barrage.ModeTop}, at)
	if err != nil {
		t.Fatalf("accept %q: %v", text, err)
	}
	return b
}

// newBarrages returns n barrages for room, in acceptance order.
func newBarrages(t testing.TB, room, label string, n int) []barrage.Barrage {
	t.Helper()
	bs := make([]barrage.Barrage, n)
	for i := range bs {
		bs[i] = newBarrage(t, room, fmt.Sprintf("%s %d", label, i))
	}
	return bs
}

func put(ctx context.Context, t testing.TB, s store.Store, bs []barrage.Barrage) int {
	t.Helper()
	n, err := s.Put(ctx, bs)
	if err != nil {
		t.Fatalf("Put of %d barrages: %v", len(bs), err)
	}
	return len(n)
}

// putEach puts every barrage on its own, so each Put returns before the next begins.
func putEach(ctx context.Context, t testing.TB, s store.Store, bs []barrage.Barrage) {
	t.Helper()
	for _, b := range bs {
		if n := put(ctx, t, s, []barrage.Barrage{b}); n != 1 {
			t.Fatalf("Put of new barrage %s stored %d, want 1", b.ID, n)
		}
	}
}

// readAll follows room's cursors from after, limit records a call, until it holds want
// records and the next call returns nothing. It waits for rows a store holds back, and
// fails if they do not show up within visibleWithin.
func readAll(ctx context.Context, t testing.TB, s store.Store, room string, after store.Cursor, limit, want int) []store.Record {
	t.Helper()
	var all []store.Record
	deadline := time.Now().Add(visibleWithin)
	for {
		recs, err := s.After(ctx, room, after, limit)
		if err != nil {
			t.Fatalf("After(%s, %q, %d): %v", room, after, limit, err)
		}
		if len(recs) > limit {
			t.Fatalf("After(%s, %q, %d) returned %d records, more than the limit", room, after, limit, len(recs))
		}
		checkPage(t, after, recs)
		if len(recs) > 0 {
			all = append(all, recs...)
			after = recs[len(recs)-1].Cursor
			continue
		}
		if len(all) >= want {
			return all
		}
		if time.Now().After(deadline) {
			t.Fatalf("room %s: read %d records within %v, want %d", room, len(all), visibleWithin, want)
		}
		time.Sleep(5 * time.Millisecond) // poll: rows held back become visible on their own
	}
}

// checkPage fails unless every record After returned follows after, in cursor order, so
// a reader loop always moves forward.
func checkPage(t testing.TB, after store.Cursor, recs []store.Record) {
	t.Helper()
	prev := after
	for i, r := range recs {
		if r.Cursor <= prev {
			t.Fatalf("After(%q) returned record %d (%s) with cursor %q, not greater than %q", after, i, r.ID, r.Cursor, prev)
		}
		prev = r.Cursor
	}
}

// checkCursors fails unless every cursor is set and each is greater than the one before.
func checkCursors(t testing.TB, recs []store.Record) {
	t.Helper()
	for i, r := range recs {
		if r.Cursor == "" {
			t.Fatalf("record %d (%s) has an empty cursor", i, r.ID)
		}
		if i > 0 && r.Cursor <= recs[i-1].Cursor {
			t.Fatalf("cursor %d %q is not greater than cursor %d %q", i, r.Cursor, i-1, recs[i-1].Cursor)
		}
	}
}

// checkIDs fails unless recs hold exactly the ids of want, in that order.
func checkIDs(t testing.TB, recs []store.Record, want []barrage.Barrage) {
	t.Helper()
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d", len(recs), len(want))
	}
	for i := range want {
		if recs[i].ID != want[i].ID {
			t.Fatalf("record %d is %s (%q), want %s (%q)", i, recs[i].ID, recs[i].Text, want[i].ID, want[i].Text)
		}
	}
}

// checkOnce fails unless recs hold each id of want exactly once and nothing else.
func checkOnce(t testing.TB, recs []store.Record, want map[string]bool) {
	t.Helper()
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		if !want[r.ID] {
			t.Fatalf("record %s (%q) was never written to this room", r.ID, r.Text)
		}
		if seen[r.ID] {
			t.Fatalf("record %s appears twice", r.ID)
		}
		seen[r.ID] = true
	}
	if len(seen) != len(want) {
		t.Fatalf("read %d distinct records, wrote %d", len(seen), len(want))
	}
}

func idSet(bs []barrage.Barrage) map[string]bool {
	m := make(map[string]bool, len(bs))
	for _, b := range bs {
		m[b.ID] = true
	}
	return m
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
