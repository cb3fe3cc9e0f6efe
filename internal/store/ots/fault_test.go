package ots_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/ots"
	"github.com/barrage-live/barrage/internal/store/ots/otstest"
)

// TestBusyDuringRun: the server answers OTSServerBusy for a while in the middle of 1,000
// barrages written by four processors that retry the way the event driver redelivers.
// Every barrage ends up stored exactly once and the stored counts add up.
func TestBusyDuringRun(t *testing.T) {
	const total, writers, batch = 1000, 4, 10
	srv := otstest.Start(t, otstest.Options{})
	s := openStore(t, configFor(srv), store.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	room := "busy-run"
	bs := make([]barrage.Barrage, total)
	for i := range bs {
		bs[i] = mustAccept(t, room, fmt.Sprintf("barrage %d", i))
	}
	var stored, progress, refused atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := w * batch; i < total; i += writers * batch {
				chunk := bs[i:min(i+batch, total)]
				for {
					n, err := s.Put(ctx, chunk)
					if err == nil {
						stored.Add(int64(len(n)))
						break
					}
					if !errors.Is(err, store.ErrUnavailable) {
						errs <- fmt.Errorf("writer %d: %w", w, err)
						return
					}
					refused.Add(1)
					select { // the event driver's backoff before redelivery
					case <-time.After(20 * time.Millisecond):
					case <-ctx.Done():
						errs <- ctx.Err()
						return
					}
				}
				progress.Add(int64(len(chunk)))
			}
		})
	}
	waitFor(t, "a fifth of the barrages stored", func() bool { return progress.Load() >= total/5 })
	srv.SetFault(&otstest.Busy)
	waitFor(t, "Put calls failing while busy", func() bool { return refused.Load() >= 2*writers })
	srv.ClearFault()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := stored.Load(); got != total {
		t.Fatalf("Put calls reported %d stored, want %d", got, total)
	}
	recs := readRoom(t, s, room, total)
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.ID] {
			t.Fatalf("%s stored twice", r.ID)
		}
		seen[r.ID] = true
	}
	for _, b := range bs {
		if !seen[b.ID] {
			t.Fatalf("%s (%q) was never stored", b.ID, b.Text)
		}
	}
	t.Logf("%d Put calls refused, %d requests answered busy", refused.Load(), srv.Faulted())
}

// TestWriteInterruptedAfterClaim: a processor claims an id and dies before its row is
// written. Meanwhile a reader moves past the claimed position. The retry stores the
// barrage once, at a position the reader still reaches.
func TestWriteInterruptedAfterClaim(t *testing.T) {
	const window = 100 * time.Millisecond
	srv := otstest.Start(t, otstest.Options{})
	s := openStore(t, configFor(srv), store.Options{}, ots.WithWriteWindow(window))
	ctx := t.Context()
	room := "interrupted"
	first, lost, later := mustAccept(t, room, "first"), mustAccept(t, room, "lost"), mustAccept(t, room, "later")
	putOne(t, s, first, 1)

	// The second BatchWriteRow of the next Put, the one with the rows, fails for good.
	var batches atomic.Int64
	srv.SetInterceptor(func(action string) *otstest.Fault {
		if action == "BatchWriteRow" && batches.Add(1) == 2 {
			return &otstest.Fault{Status: 400, Code: "OTSParameterInvalid", Message: "injected"}
		}
		return nil
	})
	if _, err := s.Put(ctx, []barrage.Barrage{lost}); err == nil {
		t.Fatal("Put succeeded though its rows were refused")
	}
	srv.SetInterceptor(nil)
	claimed := time.Now()
	putOne(t, s, later, 1)
	recs := readRoom(t, s, room, 2)
	if recs[0].ID != first.ID || recs[1].ID != later.ID {
		t.Fatalf("room holds %v before the retry", ids(recs))
	}
	waitFor(t, "the claim to go stale", func() bool { return time.Since(claimed) > window })

	putOne(t, s, lost, 1)
	putOne(t, s, lost, 0) // redelivered once more
	rest := readFrom(t, s, room, recs[1].Cursor, 1)
	if rest[0].ID != lost.ID {
		t.Fatalf("after the reader's cursor came %s, want the retried barrage", rest[0].ID)
	}
	if all := readRoom(t, s, room, 3); len(all) != 3 {
		t.Fatalf("room holds %v, want three barrages", ids(all))
	}
}

// TestTTLExpiry: rows older than the table's TTL by the service's clock are gone, and a
// new row still follows the cursor of the newest one expired.
func TestTTLExpiry(t *testing.T) {
	srv := otstest.Start(t, otstest.Options{})
	var offset atomic.Int64
	srv.SetClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
	s := openStore(t, configFor(srv), store.Options{Retention: 48 * time.Hour})
	room := "ttl"
	old := mustAccept(t, room, "old")
	putOne(t, s, old, 1)
	recs := readRoom(t, s, room, 1)
	offset.Store(int64(47 * time.Hour))
	young := mustAccept(t, room, "young")
	putOne(t, s, young, 1)
	offset.Store(int64(49 * time.Hour))
	got := readFrom(t, s, room, "", 1)
	if len(got) != 1 || got[0].ID != young.ID {
		t.Fatalf("after 49h the room holds %v, want only the young barrage", ids(got))
	}
	if got[0].Cursor <= recs[0].Cursor {
		t.Fatalf("young cursor %s is not above the expired %s", got[0].Cursor, recs[0].Cursor)
	}
}

func putOne(t *testing.T, s store.Store, b barrage.Barrage, want int) {
	t.Helper()
	n, err := s.Put(t.Context(), []barrage.Barrage{b})
	if err != nil || len(n) != want {
		t.Fatalf("Put(%s) = %d, %v; want %d", b.Text, len(n), err, want)
	}
}

// readRoom follows room from the start until it has want records.
func readRoom(t *testing.T, s store.Store, room string, want int) []store.Record {
	t.Helper()
	return readFrom(t, s, room, "", want)
}

func readFrom(t *testing.T, s store.Store, room string, after store.Cursor, want int) []store.Record {
	t.Helper()
	var all []store.Record
	waitFor(t, fmt.Sprintf("%d records in %s", want, room), func() bool {
		recs, err := s.After(t.Context(), room, after, 500)
		if err != nil {
			t.Fatalf("After: %v", err)
		}
		all = append(all, recs...)
		if len(recs) > 0 {
			after = recs[len(recs)-1].Cursor
		}
		return len(all) >= want
	})
	return all
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ids(recs []store.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Text
	}
	return out
}

// TestLostAnswer: the service writes a barrage's row but the answer is lost, so the Put
// fails and is retried. Written within the window, the row stays where it is; written
// after it (readers may be past it), the retry moves it above the reader's cursor and
// drops the old one.
func TestLostAnswer(t *testing.T) {
	const window = 200 * time.Millisecond
	for _, tc := range []struct {
		name string
		late time.Duration // how far the service's clock is ahead when it writes the row
	}{{"InTime", 0}, {"Late", 3 * window}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := otstest.Start(t, otstest.Options{})
			var offset atomic.Int64
			srv.SetClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) })
			s := openStore(t, configFor(srv), store.Options{}, ots.WithWriteWindow(window))
			room := "lost-" + tc.name
			lost, later := mustAccept(t, room, "lost"), mustAccept(t, room, "later")
			var batches atomic.Int64
			srv.SetInterceptor(func(action string) *otstest.Fault {
				if action == "BatchWriteRow" && batches.Add(1) == 2 {
					offset.Store(int64(tc.late))
					return &otstest.Fault{Status: 500, Code: "OTSInternalServerError", Message: "injected", AfterApply: true}
				}
				offset.Store(0)
				return nil
			})
			if _, err := s.Put(t.Context(), []barrage.Barrage{lost}); !errors.Is(err, store.ErrUnavailable) {
				t.Fatalf("Put with a lost answer gave %v, want ErrUnavailable", err)
			}
			srv.SetInterceptor(nil)
			putOne(t, s, later, 1)
			// The row was written, answer or not: a reader gets both, and passes the lost one.
			before := readRoom(t, s, room, 2)
			if len(before) != 2 || before[0].ID != lost.ID || before[1].ID != later.ID {
				t.Fatalf("before the retry the room holds %v, want lost then later", ids(before))
			}
			cursor := before[1].Cursor
			retried := lost
			retried.Text = "retried" // the first stored wins, even when moved
			putOne(t, s, retried, 0)
			all := readRoom(t, s, room, 2)
			if len(all) != 2 || all[0].Text == "retried" || all[1].Text == "retried" {
				t.Fatalf("room holds %v, want each barrage once, as first stored", ids(all))
			}
			if tc.late > 0 {
				if rest := readFrom(t, s, room, cursor, 1); rest[0].ID != lost.ID {
					t.Fatalf("after the reader's cursor came %v, want the moved barrage", ids(rest))
				}
			}
		})
	}
}
