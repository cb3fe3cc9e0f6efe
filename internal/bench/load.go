package bench

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// LoadResult is what a closed-loop load run measured.
type LoadResult struct {
	Requests   int64
	OK         int64 // answered 202
	Seconds    float64
	PerSecond  float64 // accepted per second
	P50, P99   float64 // milliseconds
	FirstError string
}

// closedLoop runs workers that each POST body to url back to back for d.
func closedLoop(ctx context.Context, url string, body []byte, workers int, d time.Duration) LoadResult {
	tr := &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var (
		reqs, ok atomic.Int64
		mu       sync.Mutex
		lats     []float64
		firstErr string
		wg       sync.WaitGroup
	)
	deadline := time.Now().Add(d)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]float64, 0, 4096)
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				reqs.Add(1)
				if err != nil {
					mu.Lock()
					if firstErr == "" {
						firstErr = err.Error()
					}
					mu.Unlock()
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusAccepted {
					ok.Add(1)
					local = append(local, float64(time.Since(t0).Microseconds())/1000)
				} else {
					mu.Lock()
					if firstErr == "" {
						firstErr = resp.Status
					}
					mu.Unlock()
				}
			}
			mu.Lock()
			lats = append(lats, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	return LoadResult{
		Requests: reqs.Load(), OK: ok.Load(), Seconds: secs, PerSecond: float64(ok.Load()) / secs,
		P50: percentile(lats, 50), P99: percentile(lats, 99), FirstError: firstErr,
	}
}
