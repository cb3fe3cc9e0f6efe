package storetest

import (
	"testing"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// testOrder: each room reads back in the order its barrages were put, cursors rise as
// strings, and rooms never see each other's rows.
func testOrder(t *testing.T, open Opener) {
	s := open(t, store.Options{Retention: store.DefaultRetention})
	ctx := testContext(t)
	roomA, roomB := newRoom(t, "order-a"), newRoom(t, "order-b")
	var inA, inB []barrage.Barrage
	for i := range 24 {
		if i%3 == 0 {
			inB = append(inB, newBarrage(t, roomB, "b"))
			putEach(ctx, t, s, inB[len(inB)-1:])
			continue
		}
		inA = append(inA, newBarrage(t, roomA, "a"))
		putEach(ctx, t, s, inA[len(inA)-1:])
	}

	for _, tc := range []struct {
		name string
		room string
		want []barrage.Barrage
	}{{"RoomA", roomA, inA}, {"RoomB", roomB, inB}} {
		t.Run(tc.name, func(t *testing.T) {
			recs := readAll(ctx, t, s, tc.room, "", 100, len(tc.want))
			checkIDs(t, recs, tc.want)
			checkCursors(t, recs)
			for _, r := range recs {
				if r.Room != tc.room {
					t.Fatalf("record %s of room %s came back for room %s", r.ID, r.Room, tc.room)
				}
			}
			// One record a call walks the same feed.
			checkIDs(t, readAll(ctx, t, s, tc.room, "", 1, len(tc.want)), tc.want)
			if more, err := s.After(ctx, tc.room, recs[len(recs)-1].Cursor, 100); err != nil || len(more) != 0 {
				t.Fatalf("After the last cursor = %d records, %v; want none", len(more), err)
			}
		})
	}

	t.Run("UnknownRoom", func(t *testing.T) {
		recs, err := s.After(ctx, newRoom(t, "empty"), "", 100)
		if err != nil || len(recs) != 0 {
			t.Fatalf("After on an empty room = %d records, %v; want none", len(recs), err)
		}
	})

	t.Run("Ping", func(t *testing.T) {
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping: %v", err)
		}
	})
}

// testReplay: a viewer that comes back with any cursor it was given gets exactly the rest.
func testReplay(t *testing.T, open Opener) {
	s := open(t, store.Options{Retention: store.DefaultRetention})
	ctx := testContext(t)
	room := newRoom(t, "replay")
	bs := newBarrages(t, room, "replay", 30)
	for i := 0; i < len(bs); i += 5 {
		put(ctx, t, s, bs[i:i+5])
	}
	recs := readAll(ctx, t, s, room, "", 100, len(bs))
	checkCursors(t, recs)
	checkOnce(t, recs, idSet(bs))

	t.Run("FromTheMiddle", func(t *testing.T) {
		rest := readAll(ctx, t, s, room, recs[11].Cursor, 100, len(recs)-12)
		if len(rest) != len(recs)-12 {
			t.Fatalf("replay from record 11 gave %d records, want %d", len(rest), len(recs)-12)
		}
		for i, r := range rest {
			if r.ID != recs[12+i].ID || r.Cursor != recs[12+i].Cursor {
				t.Fatalf("replay record %d is %s@%s, want %s@%s", i, r.ID, r.Cursor, recs[12+i].ID, recs[12+i].Cursor)
			}
		}
	})

	t.Run("FromEveryCursor", func(t *testing.T) {
		for i, r := range recs {
			next, err := s.After(ctx, room, r.Cursor, 1)
			if err != nil {
				t.Fatalf("After record %d: %v", i, err)
			}
			if i == len(recs)-1 {
				if len(next) != 0 {
					t.Fatalf("After the last record gave %s", next[0].ID)
				}
				continue
			}
			if len(next) != 1 || next[0].ID != recs[i+1].ID {
				t.Fatalf("After record %d gave %v, want %s", i, next, recs[i+1].ID)
			}
		}
	})

	t.Run("FromTheStart", func(t *testing.T) {
		// The empty cursor is before everything.
		first, err := s.After(ctx, room, "", 1)
		if err != nil || len(first) != 1 || first[0].ID != recs[0].ID {
			t.Fatalf("After the empty cursor = %v, %v; want %s", first, err, recs[0].ID)
		}
	})
}
