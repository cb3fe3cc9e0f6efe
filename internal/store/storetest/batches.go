package storetest

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// testMixedBatch: a batch of new and already stored ids stores only the new ones.
func testMixedBatch(t *testing.T, open Opener) {
	s := open(t, store.Options{Retention: store.DefaultRetention})
	ctx := testContext(t)
	room := newRoom(t, "mixed")
	bs := newBarrages(t, room, "mixed", 5) // a b c d e
	a, b, c, d, e := bs[0], bs[1], bs[2], bs[3], bs[4]
	if n := put(ctx, t, s, []barrage.Barrage{a, b}); n != 2 {
		t.Fatalf("first Put stored %d, want 2", n)
	}
	aChanged := a
	aChanged.Text = "changed"
	if n := put(ctx, t, s, []barrage.Barrage{c, aChanged, d, b, e}); n != 3 {
		t.Fatalf("mixed Put stored %d, want 3 (c, d, e)", n)
	}
	recs := readAll(ctx, t, s, room, "", 100, 5)
	checkCursors(t, recs)
	checkOnce(t, recs, idSet(bs))
	if recs[0].ID != a.ID && recs[1].ID != a.ID || recs[0].ID != b.ID && recs[1].ID != b.ID {
		t.Fatalf("a and b, stored first, are not the first two records: %s %s", recs[0].ID, recs[1].ID)
	}
	for _, r := range recs {
		if r.ID == a.ID && r.Text != a.Text {
			t.Fatalf("a was overwritten with %q", r.Text)
		}
	}
}

// testOversizeBatch: the contract is that a Put of more than store.MaxBatch is rejected
// whole, with an error naming the limit that a retry cannot cure, and stores nothing.
// Callers split; every backend behaves the same, whatever it could take.
func testOversizeBatch(t *testing.T, open Opener) {
	s := open(t, store.Options{Retention: store.DefaultRetention})
	ctx := testContext(t)
	room := newRoom(t, "oversize")
	bs := newBarrages(t, room, "big", store.MaxBatch+1)
	n, err := s.Put(ctx, bs)
	if err == nil {
		t.Fatalf("Put of %d barrages succeeded (stored %d); want it rejected", len(bs), len(n))
	}
	if len(n) != 0 {
		t.Fatalf("rejected Put reported %d stored", len(n))
	}
	if errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("oversize batch error %v wraps ErrUnavailable, so callers would retry it forever", err)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(store.MaxBatch)) {
		t.Fatalf("oversize batch error %q does not name the limit %d", err, store.MaxBatch)
	}
	// Nothing of the rejected batch was stored: the first MaxBatch are all new.
	if n := put(ctx, t, s, bs[:store.MaxBatch]); n != store.MaxBatch {
		t.Fatalf("Put of exactly MaxBatch stored %d, want %d", n, store.MaxBatch)
	}
	recs := readAll(ctx, t, s, room, "", 1000, store.MaxBatch)
	checkOnce(t, recs, idSet(bs[:store.MaxBatch]))
}
