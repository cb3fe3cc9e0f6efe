package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/processor"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/ots"
	"github.com/barrage-live/barrage/internal/store/ots/otstest"
	"github.com/barrage-live/barrage/internal/store/sqlite"
)

// ProcessorResult is one configuration of scenario 5.
type ProcessorResult struct {
	Store       string
	Concurrency int
	Batching    bool
	Writers     int // store writes at once
	PerSecond   float64
	P99         float64 // milliseconds
}

// Processor measures CloudEvents per second through the processor's HTTP endpoint, with
// group commit on and off, at the seed's concurrency of 2 and at 16: into the embedded
// store with its one writer, and into Tablestore with one writer and with its default four.
func Processor(ctx context.Context, dir string, d time.Duration) ([]ProcessorResult, error) {
	var out []ProcessorResult
	for _, c := range []int{2, 16} {
		for _, batching := range []bool{false, true} {
			st, err := sqlite.Open(ctx, dir, store.Options{Retention: store.DefaultRetention})
			if err != nil {
				return out, err
			}
			r, err := measureProcessor(ctx, st, c, batching, 1, d)
			_ = st.Close()
			if err != nil {
				return out, err
			}
			r.Store = "embedded (SQLite)"
			out = append(out, r)
		}
	}
	// Tablestore through the real SDK, against the wire-level server with 2 ms added to
	// every request, as a nearby region would.
	srv := otstest.New(otstest.Options{})
	defer srv.Close()
	srv.SetLatency(2 * time.Millisecond)
	st, err := ots.Open(ctx, ots.Config{Endpoint: srv.URL, Instance: srv.Instance(), Table: "barrage", KeyID: srv.KeyID(), Secret: srv.Secret()},
		store.Options{Retention: store.DefaultRetention})
	if err != nil {
		return out, err
	}
	defer st.Close()
	for _, c := range []int{2, 16} {
		for _, writers := range []int{1, config.TablestoreWriters} {
			for _, batching := range []bool{false, true} {
				r, err := measureProcessor(ctx, st, c, batching, writers, d)
				if err != nil {
					return out, err
				}
				r.Store = "Tablestore (test server, +2 ms)"
				out = append(out, r)
			}
		}
	}
	return out, nil
}

func measureProcessor(ctx context.Context, st store.Store, concurrency int, batching bool, writers int, d time.Duration) (ProcessorResult, error) {
	maxBatch := 1
	if batching {
		maxBatch = store.MaxBatch
	}
	p := processor.New(st, processor.Options{MaxBatch: maxBatch, Writers: writers}, slog.New(slog.NewTextHandler(io.Discard, nil)), processor.Hooks{})
	defer p.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ProcessorResult{}, err
	}
	srv := &http.Server{Handler: p.Handler()}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	var ok atomic.Int64
	var mu sync.Mutex
	var lats []float64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []float64
			for time.Now().Before(deadline) && ctx.Err() == nil {
				b, _ := barrage.Accept("proc", barrage.Draft{Text: "processor benchmark"}, time.Now())
				data, _ := json.Marshal(b)
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
				req.Header.Set("Ce-Specversion", "1.0")
				req.Header.Set("Ce-Id", b.ID)
				req.Header.Set("Ce-Source", barrage.EventSource)
				req.Header.Set("Ce-Type", barrage.EventType)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					ok.Add(1)
					local = append(local, float64(time.Since(t0).Microseconds())/1000)
				}
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return ProcessorResult{Concurrency: concurrency, Batching: batching, Writers: writers,
		PerSecond: float64(ok.Load()) / time.Since(start).Seconds(), P99: percentile(lats, 99)}, nil
}
