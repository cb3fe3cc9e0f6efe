package ots_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/ots/otstest"
)

// BenchmarkPut stores new barrages through the SDK against the test server with 2 ms
// added to every request, roughly a round trip inside one region. A Put is two
// BatchWriteRow calls (claims, then rows), whatever the batch size.
func BenchmarkPut(b *testing.B) {
	for _, size := range []int{1, 100} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			srv := otstest.Start(b, otstest.Options{})
			srv.SetLatency(2 * time.Millisecond)
			s := openStore(b, configFor(srv), store.Options{})
			batches := make([][]barrage.Barrage, b.N)
			for i := range batches {
				batches[i] = make([]barrage.Barrage, size)
				for j := range batches[i] {
					batches[i][j] = mustAccept(b, "bench", "a barrage of ordinary length")
				}
			}
			b.ResetTimer()
			for i := range b.N {
				if n, err := s.Put(b.Context(), batches[i]); err != nil || len(n) != size {
					b.Fatalf("Put = %d, %v", len(n), err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "barrages/s")
		})
	}
}

// BenchmarkPutRedelivered puts batches of 100 that are already stored, as after a
// processor restart: every id is settled by reading its claim and its row.
func BenchmarkPutRedelivered(b *testing.B) {
	const size = 100
	srv := otstest.Start(b, otstest.Options{})
	s := openStore(b, configFor(srv), store.Options{})
	batch := make([]barrage.Barrage, size)
	for j := range batch {
		batch[j] = mustAccept(b, "bench", "a barrage of ordinary length")
	}
	if n, err := s.Put(b.Context(), batch); err != nil || len(n) != size {
		b.Fatalf("first Put = %d, %v", len(n), err)
	}
	srv.SetLatency(2 * time.Millisecond)
	b.ResetTimer()
	for range b.N {
		if n, err := s.Put(b.Context(), batch); err != nil || len(n) != 0 {
			b.Fatalf("Put of a stored batch = %d, %v", len(n), err)
		}
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "barrages/s")
}
