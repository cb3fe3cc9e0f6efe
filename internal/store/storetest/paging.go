package storetest

import (
	"fmt"
	"testing"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// pagingRows is past the 5000 rows a single Tablestore GetRange returns.
const pagingRows = 5000 + 2*store.MaxBatch + 37

// testPaging writes more than 5000 rows to one room in full batches and reads them all
// back in pages: every row once, batches in the order they were put.
func testPaging(t *testing.T, open Opener) {
	s := open(t, store.Options{Retention: store.DefaultRetention})
	ctx := testContext(t)
	room := newRoom(t, "paging")
	batchOf := make(map[string]int, pagingRows)
	all := make([]barrage.Barrage, 0, pagingRows)
	for batch := 0; len(all) < pagingRows; batch++ {
		n := min(store.MaxBatch, pagingRows-len(all))
		bs := make([]barrage.Barrage, n)
		for i := range bs {
			bs[i] = newBarrage(t, room, fmt.Sprintf("row %d", len(all)+i))
			batchOf[bs[i].ID] = batch
		}
		if got := put(ctx, t, s, bs); got != n {
			t.Fatalf("batch %d stored %d, want %d", batch, got, n)
		}
		all = append(all, bs...)
	}

	for _, limit := range []int{999, 6000} {
		t.Run(fmt.Sprintf("Limit%d", limit), func(t *testing.T) {
			recs := readAll(ctx, t, s, room, "", limit, pagingRows)
			if len(recs) != pagingRows {
				t.Fatalf("read %d rows, wrote %d", len(recs), pagingRows)
			}
			checkCursors(t, recs)
			checkOnce(t, recs, idSet(all))
			for i := 1; i < len(recs); i++ {
				if batchOf[recs[i].ID] < batchOf[recs[i-1].ID] {
					t.Fatalf("row %d is from batch %d but follows a row of batch %d", i, batchOf[recs[i].ID], batchOf[recs[i-1].ID])
				}
			}
		})
	}
}
