package sqlite

import (
	"fmt"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// BenchmarkPut measures group commit: one transaction, one fsync, per batch.
func BenchmarkPut(b *testing.B) {
	for _, size := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := openTemp(b, store.Options{})
			bs := make([]barrage.Barrage, size)
			n := 0
			for b.Loop() {
				for i := range bs {
					bs[i] = benchBarrage(b, "bench", n)
					n++
				}
				if _, err := s.Put(b.Context(), bs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "barrages/s")
		})
	}
}

// BenchmarkAfter reads a page of 100 from a room of 10,000 rows mixed with another room's.
func BenchmarkAfter(b *testing.B) {
	s := openTemp(b, store.Options{})
	const rows = 10000
	var cursors []store.Cursor
	for k := 0; k < rows; k += store.MaxBatch {
		bs := make([]barrage.Barrage, store.MaxBatch)
		for i := range bs {
			room := "bench"
			if i%4 == 3 {
				room = "other"
			}
			bs[i] = benchBarrage(b, room, k+i)
		}
		if _, err := s.Put(b.Context(), bs); err != nil {
			b.Fatal(err)
		}
	}
	for after := store.Cursor(""); ; {
		recs, err := s.After(b.Context(), "bench", after, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			cursors = append(cursors, r.Cursor)
		}
		after = recs[len(recs)-1].Cursor
	}
	i := 0
	for b.Loop() {
		recs, err := s.After(b.Context(), "bench", cursors[i%(len(cursors)-200)], 100)
		if err != nil || len(recs) != 100 {
			b.Fatalf("After = %d, %v", len(recs), err)
		}
		i += 97
	}
}

func benchBarrage(b *testing.B, room string, n int) barrage.Barrage {
	return barrage.Barrage{
		ID:         fmt.Sprintf("bench-%09d", n),
		Room:       room,
		Text:       "a barrage of ordinary length for a benchmark",
		Color:      barrage.DefaultColor,
		Mode:       barrage.ModeScroll,
		AcceptedAt: benchStart.Add(time.Duration(n)),
	}
}

var benchStart = time.Now().UTC() // recent, so the cleanup leaves rows alone
