package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// Reopener opens a store on the same data as the one it is given, after closing it: a
// restart.
type Reopener func(t *testing.T, old store.Store) store.Store

// RunModeration holds a store to the guarantees of store.Moderator: a deleted barrage never
// comes back through After, Latest, Find or a redelivery, the other cursors do not move,
// and mutes, rules and the log survive a restart.
func RunModeration(t *testing.T, open Opener, reopen Reopener) {
	st := open(t, store.Options{})
	mod, ok := st.(store.Moderator)
	if !ok {
		t.Fatalf("%T keeps no moderation", st)
	}
	ctx := t.Context()
	room := newRoom(t, "mod")
	bs := newBarrages(t, room, "moderated", 5)
	for i := range bs {
		bs[i].Sender = "00ff00ff00ff00ff00ff00ff00ff00ff"
	}
	if _, err := st.Put(ctx, bs); err != nil {
		t.Fatal(err)
	}
	before := readAll(ctx, t, st, room, "", 100, len(bs))
	got, found, err := mod.Find(ctx, room, bs[2].ID)
	if err != nil || !found || got.Sender != bs[2].Sender {
		t.Fatalf("Find(%s) = %+v, %v, %v; want it with its sender", bs[2].ID, got, found, err)
	}
	if _, found, _ := mod.Find(ctx, "other-room", bs[2].ID); found {
		t.Fatal("Find found a barrage under another room")
	}
	by := store.Actor{Client: "aa", Name: "mod one"}
	at := time.Now().UTC().Truncate(time.Microsecond)
	del := store.Action{ID: barrage.NewID(at), Room: room, Kind: store.ActDelete, Target: bs[2].ID, By: by, At: at}
	if ok, err := mod.Delete(ctx, room, bs[2].ID, del); err != nil || !ok {
		t.Fatalf("Delete = %v, %v; want true", ok, err)
	}
	if ok, err := mod.Delete(ctx, room, bs[2].ID, del); err != nil || ok {
		t.Fatalf("second Delete = %v, %v; want false", ok, err)
	}
	if ok, err := mod.Delete(ctx, room, "no-such-id", del); err != nil || ok {
		t.Fatalf("Delete of an unknown id = %v, %v; want false", ok, err)
	}
	// A redelivery of the deleted id is skipped, not stored again.
	if stored, err := st.Put(ctx, bs[2:3]); err != nil || len(stored) != 0 {
		t.Fatalf("redelivery of a deleted barrage: stored %v, %v; want none", stored, err)
	}
	want := slices.Concat(before[:2], before[3:])
	check := func(st store.Store, when string) {
		t.Helper()
		for _, after := range []store.Cursor{"", before[0].Cursor, before[1].Cursor} {
			recs, err := st.After(ctx, room, after, 100)
			if err != nil {
				t.Fatal(err)
			}
			var wantAfter []store.Record
			for _, r := range want {
				if r.Cursor > after {
					wantAfter = append(wantAfter, r)
				}
			}
			if !sameCursors(recs, wantAfter) {
				t.Fatalf("%s: After(%q) = %v, want %v: the deleted row gone and no other cursor moved", when, after, cursors(recs), cursors(wantAfter))
			}
		}
		latest, err := st.Latest(ctx, room, 10)
		if err != nil || !sameCursors(latest, want) {
			t.Fatalf("%s: Latest = %v, %v; want %v", when, cursors(latest), err, cursors(want))
		}
		if _, found, _ := st.(store.Moderator).Find(ctx, room, bs[2].ID); found {
			t.Fatalf("%s: Find found the deleted barrage", when)
		}
	}
	check(st, "after the delete")

	until := at.Add(time.Hour)
	mute := store.Mute{Room: room, Sender: bs[0].Sender, Until: until, By: by, At: at}
	if err := mod.PutMute(ctx, mute, store.Action{ID: barrage.NewID(at.Add(1)), Room: room, Kind: store.ActMute, Target: mute.Sender, Until: until, By: by, At: at.Add(1)}); err != nil {
		t.Fatal(err)
	}
	ended := store.Mute{Room: room, Sender: "0123", Until: at.Add(-time.Second), By: by, At: at.Add(-time.Hour)}
	if err := mod.PutMute(ctx, ended, store.Action{ID: barrage.NewID(at.Add(2)), Room: room, Kind: store.ActMute, Target: "0123", By: by, At: at.Add(2)}); err != nil {
		t.Fatal(err)
	}
	rules := store.Rules{Room: room, SlowMode: 5 * time.Second, Words: []string{"spoiler", "剧透"}, By: by, At: at}
	if err := mod.PutRules(ctx, rules, store.Action{ID: barrage.NewID(at.Add(3)), Room: room, Kind: store.ActRules, By: by, At: at.Add(3)}); err != nil {
		t.Fatal(err)
	}

	st = reopen(t, st)
	check(st, "after a restart")
	mod = st.(store.Moderator)
	m, err := mod.Moderation(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	mutes := filterMutes(m.Mutes, room)
	if len(mutes) != 1 || mutes[0].Sender != mute.Sender || !mutes[0].Until.Equal(until) || mutes[0].By != by {
		t.Fatalf("after a restart the room's running mutes are %+v, want only %+v", mutes, mute)
	}
	var gotRules []store.Rules
	for _, r := range m.Rules {
		if r.Room == room {
			gotRules = append(gotRules, r)
		}
	}
	if len(gotRules) != 1 || gotRules[0].SlowMode != rules.SlowMode || !slices.Equal(gotRules[0].Words, rules.Words) {
		t.Fatalf("after a restart the room's rules are %+v, want %+v", gotRules, rules)
	}
	acts, err := mod.Actions(ctx, at, 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, a := range acts {
		if a.Room == room {
			kinds = append(kinds, a.Kind)
			if a.By != by {
				t.Errorf("action %s was logged by %+v, want %+v", a.Kind, a.By, by)
			}
		}
	}
	if !slices.Equal(kinds, []string{store.ActDelete, store.ActMute, store.ActMute, store.ActRules}) {
		t.Fatalf("the log holds %v, want delete, mute, mute, rules in order", kinds)
	}

	if err := mod.Unmute(ctx, room, mute.Sender, store.Action{ID: barrage.NewID(at.Add(4)), Room: room, Kind: store.ActUnmute, Target: mute.Sender, By: by, At: at.Add(4)}); err != nil {
		t.Fatal(err)
	}
	if err := mod.PutRules(ctx, store.Rules{Room: room}, store.Action{ID: barrage.NewID(at.Add(5)), Room: room, Kind: store.ActRules, By: by, At: at.Add(5)}); err != nil {
		t.Fatal(err)
	}
	m, err = mod.Moderation(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	if mutes := filterMutes(m.Mutes, room); len(mutes) != 0 {
		t.Fatalf("after the unmute the room's mutes are %+v", mutes)
	}
	for _, r := range m.Rules {
		if r.Room == room {
			t.Fatalf("rules set to nothing are still there: %+v", r)
		}
	}
}

func filterMutes(ms []store.Mute, room string) []store.Mute {
	var out []store.Mute
	for _, m := range ms {
		if m.Room == room {
			out = append(out, m)
		}
	}
	return out
}

func sameCursors(a, b []store.Record) bool {
	return slices.Equal(cursors(a), cursors(b))
}

func cursors(recs []store.Record) []store.Cursor {
	out := make([]store.Cursor, len(recs))
	for i, r := range recs {
		out[i] = r.Cursor
	}
	return out
}
