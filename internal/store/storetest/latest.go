package storetest

import (
	"testing"

	"github.com/barrage-live/barrage/internal/store"
)

// testLatest: Latest gives the last n visible rows oldest first, and a reader that follows
// on from its last cursor gets exactly the rows put after it.
func testLatest(t *testing.T, open Opener) {
	s := open(t, store.Options{Retention: store.DefaultRetention})
	ctx := testContext(t)
	room := newRoom(t, "latest")

	if recs, err := s.Latest(ctx, room, 10); err != nil || len(recs) != 0 {
		t.Fatalf("Latest of an empty room = %d records, %v; want none", len(recs), err)
	}
	bs := newBarrages(t, room, "early", 25)
	for i := 0; i < len(bs); i += 5 {
		put(ctx, t, s, bs[i:i+5])
	}
	recs := readAll(ctx, t, s, room, "", 100, len(bs))

	for _, tc := range []struct {
		name string
		n    int
		want []store.Record
	}{
		{"LastTen", 10, recs[15:]},
		{"LastOne", 1, recs[24:]},
		{"MoreThanThereAre", 100, recs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Latest(ctx, room, tc.n)
			if err != nil {
				t.Fatalf("Latest(%d): %v", tc.n, err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Latest(%d) gave %d records, want %d", tc.n, len(got), len(tc.want))
			}
			for i := range got {
				if got[i].ID != tc.want[i].ID || got[i].Cursor != tc.want[i].Cursor {
					t.Fatalf("Latest(%d)[%d] = %s@%s, want %s@%s", tc.n, i, got[i].ID, got[i].Cursor, tc.want[i].ID, tc.want[i].Cursor)
				}
			}
		})
	}

	t.Run("FollowOn", func(t *testing.T) {
		last, err := s.Latest(ctx, room, 3)
		if err != nil || len(last) != 3 {
			t.Fatalf("Latest(3) = %d records, %v", len(last), err)
		}
		later := newBarrages(t, room, "later", 5)
		putEach(ctx, t, s, later)
		next := readAll(ctx, t, s, room, last[2].Cursor, 100, len(later))
		checkIDs(t, next, later)
		checkCursors(t, append(last, next...))
	})
}
