package storetest

import (
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// expiryRetention is a retention every backend accepts (Tablestore's TTL is at least a day).
const expiryRetention = 48 * time.Hour

// testExpiry: rows older than the retention are gone once the store expires at a given
// time, younger ones stay with their cursors, and cursors keep rising afterwards.
func testExpiry(t *testing.T, open Opener) {
	s := open(t, store.Options{Retention: expiryRetention})
	exp, ok := s.(Expirer)
	if !ok {
		t.Skipf("%T cannot be told to expire now (no storetest.Expirer); its expiry is the backend's own TTL", s)
	}
	ctx := testContext(t)
	room := newRoom(t, "expiry")
	now := time.Now().UTC()
	// Old rows are 30h old: inside the retention now, so a cleanup running on the real
	// clock leaves them alone; outside it 20h from now.
	var olds int
	old := func(text string) barrage.Barrage {
		olds++
		return newBarrageAt(t, room, text, now.Add(-30*time.Hour+time.Duration(olds)*time.Millisecond))
	}
	young := func(text string) barrage.Barrage { return newBarrage(t, room, text) }
	// Put last, the newest row is an old one: expiring it must not free its cursor.
	bs := []barrage.Barrage{old("old 1"), young("young 1"), old("old 2"), young("young 2"), old("old 3")}
	youngs := []barrage.Barrage{bs[1], bs[3]}
	putEach(ctx, t, s, bs)
	before := readAll(ctx, t, s, room, "", 100, len(bs))
	checkCursors(t, before)
	checkOnce(t, before, idSet(bs))
	cursorOf := map[string]store.Cursor{}
	for _, r := range before {
		cursorOf[r.ID] = r.Cursor
	}

	if err := exp.ExpireNow(ctx, now.Add(10*time.Hour)); err != nil {
		t.Fatalf("ExpireNow(+10h): %v", err)
	}
	checkOnce(t, readAll(ctx, t, s, room, "", 100, len(bs)), idSet(bs)) // 40h old: still kept

	if err := exp.ExpireNow(ctx, now.Add(20*time.Hour)); err != nil {
		t.Fatalf("ExpireNow(+20h): %v", err)
	}
	kept := readAll(ctx, t, s, room, "", 100, len(youngs))
	checkIDs(t, kept, youngs)
	for _, r := range kept {
		if r.Cursor != cursorOf[r.ID] {
			t.Fatalf("expiry moved the cursor of %s from %s to %s", r.ID, cursorOf[r.ID], r.Cursor)
		}
	}
	latest, err := s.Latest(ctx, room, 10)
	if err != nil {
		t.Fatalf("Latest after expiry: %v", err)
	}
	checkIDs(t, latest, youngs)

	// A new row gets a cursor above every earlier one, expired or not, so a viewer holding
	// the last cursor it saw does not miss it.
	next := young("after expiry")
	putEach(ctx, t, s, []barrage.Barrage{next})
	got := readAll(ctx, t, s, room, before[len(before)-1].Cursor, 100, 1)
	checkIDs(t, got, []barrage.Barrage{next})
}

// testRetentionSetting: the retention a backend enforces is the one it was opened with,
// and a zero retention means store.DefaultRetention.
func testRetentionSetting(t *testing.T, open Opener) {
	for _, tc := range []struct {
		name      string
		retention time.Duration
		want      time.Duration
	}{
		{"Configured", 36 * time.Hour, 36 * time.Hour},
		{"Default", 0, store.DefaultRetention},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, store.Options{Retention: tc.retention})
			r, ok := s.(RetentionReporter)
			if !ok {
				t.Skipf("%T does not report its retention (no storetest.RetentionReporter)", s)
			}
			got, err := r.EnforcedRetention(testContext(t))
			if err != nil {
				t.Fatalf("EnforcedRetention: %v", err)
			}
			if got != tc.want {
				t.Fatalf("retention enforced is %v, want %v", got, tc.want)
			}
		})
	}
}
