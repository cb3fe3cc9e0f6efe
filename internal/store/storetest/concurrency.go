package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// testFollowWhileWriting: writers commit concurrently while a reader follows the cursors
// it is given. A row that becomes visible late must not fall behind the reader's cursor,
// so the reader ends with every written id exactly once.
func testFollowWhileWriting(t *testing.T, open Opener) {
	const writers, batches = 6, 40
	s := open(t, store.Options{Retention: store.DefaultRetention})
	ctx := testContext(t)
	room := newRoom(t, "follow")

	// Batches are made up front: only the test goroutine may fail the test.
	rng := rand.New(rand.NewPCG(1, 7))
	plan := make([][][]barrage.Barrage, writers)
	var all []barrage.Barrage
	for w := range plan {
		plan[w] = make([][]barrage.Barrage, batches)
		for b := range plan[w] {
			plan[w][b] = newBarrages(t, room, fmt.Sprintf("w%d b%d", w, b), 1+rng.IntN(6))
			all = append(all, plan[w][b]...)
		}
	}

	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for b, bs := range plan[w] {
				if _, err := s.Put(ctx, bs); err != nil {
					errs <- fmt.Errorf("writer %d batch %d: %w", w, b, err)
					return
				}
			}
		})
	}
	t.Cleanup(wg.Wait) // a failed reader still lets the writers finish before the store closes
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var got []store.Record
	var after store.Cursor
	deadline := time.Now().Add(2 * time.Minute)
	finished := false
	for {
		recs, err := s.After(ctx, room, after, 7) // small pages, many round trips
		if err != nil {
			t.Fatalf("reader: After(%q): %v", after, err)
		}
		checkPage(t, after, recs)
		if len(recs) > 0 {
			got = append(got, recs...)
			after = recs[len(recs)-1].Cursor
			continue
		}
		if !finished {
			select {
			case <-done:
				finished = true
				deadline = time.Now().Add(visibleWithin)
			default:
			}
		}
		if finished && len(got) >= len(all) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reader has %d records, writers wrote %d", len(got), len(all))
		}
		time.Sleep(time.Millisecond)
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	checkCursors(t, got)
	checkOnce(t, got, idSet(all))
}

// testConcurrentWriters: N goroutines each put their own M barrages and then, again, their
// neighbour's. Every barrage is stored once, the stored counts add up to the distinct
// barrages, and each goroutine's batches keep their order.
func testConcurrentWriters(t *testing.T, open Opener) {
	const writers, perWriter, batchSize = 8, 120, 10
	s := open(t, store.Options{Retention: store.DefaultRetention})
	ctx := testContext(t)
	room := newRoom(t, "writers")
	own := make([][]barrage.Barrage, writers)
	for w := range own {
		own[w] = newBarrages(t, room, fmt.Sprintf("writer %d", w), perWriter)
	}

	var stored atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for _, bs := range [][]barrage.Barrage{own[w], own[(w+1)%writers]} {
				if err := putInBatches(ctx, s, bs, batchSize, &stored); err != nil {
					errs <- fmt.Errorf("writer %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := stored.Load(); got != writers*perWriter {
		t.Fatalf("Put calls reported %d stored, want %d distinct barrages", got, writers*perWriter)
	}

	var all []barrage.Barrage
	batchOf, writerOf := map[string]int{}, map[string]int{}
	for w, bs := range own {
		all = append(all, bs...)
		for i, b := range bs {
			batchOf[b.ID], writerOf[b.ID] = i/batchSize, w
		}
	}
	recs := readAll(ctx, t, s, room, "", 500, len(all))
	checkCursors(t, recs)
	checkOnce(t, recs, idSet(all))
	// Within one writer's sequence, batch k is stored before batch k+1 is put by anyone.
	lastBatch := map[int]int{}
	for _, r := range recs {
		w, b := writerOf[r.ID], batchOf[r.ID]
		if last, ok := lastBatch[w]; ok && b < last {
			t.Fatalf("%q from batch %d follows batch %d of the same sequence", r.Text, b, last)
		}
		lastBatch[w] = b
	}
}

func putInBatches(ctx context.Context, s store.Store, bs []barrage.Barrage, size int, stored *atomic.Int64) error {
	for i := 0; i < len(bs); i += size {
		n, err := s.Put(ctx, bs[i:min(i+size, len(bs))])
		if err != nil {
			return err
		}
		stored.Add(int64(len(n)))
	}
	return nil
}
