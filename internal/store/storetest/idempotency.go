package storetest

import (
	"testing"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

func testIdempotency(t *testing.T, open Opener) {
	s := open(t, store.Options{Retention: store.DefaultRetention})
	ctx := testContext(t)

	t.Run("EmptyPut", func(t *testing.T) {
		if n, err := s.Put(ctx, nil); len(n) != 0 || err != nil {
			t.Fatalf("Put(nil) = %d records, %v; want none, nil", len(n), err)
		}
	})

	t.Run("TwiceInOneBatch", func(t *testing.T) {
		room := newRoom(t, "dup-batch")
		first := newBarrage(t, room, "first words")
		second := first
		second.Text = "second words"
		other := newBarrage(t, room, "another")
		if n := put(ctx, t, s, []barrage.Barrage{first, second, other, first}); n != 2 {
			t.Fatalf("Put stored %d, want 2 (one id three times, one other)", n)
		}
		recs := readAll(ctx, t, s, room, "", 100, 2)
		checkIDs(t, recs, []barrage.Barrage{first, other})
		if recs[0].Text != first.Text {
			t.Fatalf("stored text %q, want the first one put, %q", recs[0].Text, first.Text)
		}
	})

	t.Run("TwiceAcrossBatches", func(t *testing.T) {
		room := newRoom(t, "dup-across")
		first := newBarrage(t, room, "kept")
		changed := first
		changed.Text = "ignored"
		changed.Color = "#000000"
		if n := put(ctx, t, s, []barrage.Barrage{first}); n != 1 {
			t.Fatalf("first Put stored %d, want 1", n)
		}
		for i := range 3 {
			if n := put(ctx, t, s, []barrage.Barrage{changed}); n != 0 {
				t.Fatalf("Put %d of a stored id stored %d, want 0", i+2, n)
			}
		}
		recs := readAll(ctx, t, s, room, "", 100, 1)
		checkIDs(t, recs, []barrage.Barrage{first})
		if recs[0].Text != first.Text || recs[0].Color != first.Color {
			t.Fatalf("stored %q %s, want the first put: %q %s", recs[0].Text, recs[0].Color, first.Text, first.Color)
		}
	})

	t.Run("RoundTrip", func(t *testing.T) {
		room := newRoom(t, "fields")
		b := newBarrage(t, room, "弾幕 with ünïcode & <b>tags</b>")
		b.Mode = barrage.ModeBottom
		b.TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
		put(ctx, t, s, []barrage.Barrage{b})
		got := readAll(ctx, t, s, room, "", 10, 1)[0]
		if got.ID != b.ID || got.Room != b.Room || got.Text != b.Text || got.Color != b.Color ||
			got.Mode != b.Mode || got.TraceParent != b.TraceParent {
			t.Fatalf("read back %+v, want %+v", got.Barrage, b)
		}
		if !got.AcceptedAt.Equal(b.AcceptedAt) {
			t.Fatalf("acceptedAt read back as %v, want %v", got.AcceptedAt, b.AcceptedAt)
		}
	})
}
