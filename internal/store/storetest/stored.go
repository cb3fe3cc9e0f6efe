package storetest

import (
	"testing"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// testPutReturnsStored: Put gives back exactly the records it stored new, in the order
// given, each under the cursor a reader later gets it at, with the fields as stored; a
// redelivered id comes back in no record.
func testPutReturnsStored(t *testing.T, open Opener) {
	s := open(t, store.Options{Retention: store.DefaultRetention})
	ctx := testContext(t)
	room := newRoom(t, "stored")
	old := newBarrage(t, room, "already here")
	put(ctx, t, s, []barrage.Barrage{old})
	bs := newBarrages(t, room, "fresh", 5)
	again := old
	again.Text = "redelivered"
	got, err := s.Put(ctx, []barrage.Barrage{bs[0], again, bs[1], bs[2], bs[0], bs[3], bs[4]})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if len(got) != len(bs) {
		t.Fatalf("Put returned %d records, want the %d new ones", len(got), len(bs))
	}
	for i, r := range got {
		if r.ID != bs[i].ID || r.Text != bs[i].Text || r.Room != room || r.Cursor == "" {
			t.Fatalf("record %d is %q %q at %q, want %q %q with a cursor", i, r.ID, r.Text, r.Cursor, bs[i].ID, bs[i].Text)
		}
	}
	recs := readAll(ctx, t, s, room, "", 100, len(bs)+1)
	at := map[string]store.Cursor{}
	for _, r := range recs {
		at[r.ID] = r.Cursor
	}
	for _, r := range got {
		if at[r.ID] != r.Cursor {
			t.Fatalf("Put said %s is at %q; readers find it at %q", r.ID, r.Cursor, at[r.ID])
		}
	}
}
