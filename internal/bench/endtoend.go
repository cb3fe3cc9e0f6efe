package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/barrage-live/barrage/internal/app"
	"github.com/barrage-live/barrage/internal/config"
)

// EndToEndResult is one rate step of scenario 2.
type EndToEndResult struct {
	TargetRate   int
	AchievedRate float64 // accepted per second
	Accepted     int64
	Received     int64
	For          time.Duration // how long it was to send
	Seconds      float64       // how long it did, to the last answer
	P50, P99     float64       // milliseconds, acceptance → receipt on an SSE client
	Held         bool          // every accepted barrage arrived and p99 ≤ 250 ms
	PerCommit    float64       // barrages per store write, on average: what group commit gathered
	// Cores is the CPU the whole process used, senders and viewer included, per second of
	// the run; CPUPerBarrage divides it by the barrages accepted, in microseconds.
	Cores, CPUPerBarrage float64
}

// EndToEndReport is scenario 2: the rate steps, then the longest runs at the best rates.
type EndToEndReport struct {
	Steps []EndToEndResult
	// Sustained holds the runs of length sustain, from the highest rate that held a step
	// down, until one holds: the target is a rate held for a minute, not for one step.
	Sustained []EndToEndResult
}

// sustainTries bounds the sustained runs: the two highest rates that held a step.
const sustainTries = 2

// EndToEnd starts dev mode and, for each rate, sends at that rate for d while one viewer
// times every barrage from acceptance to receipt. With sustain > 0 it then holds the best
// rates that held for that long.
func EndToEnd(ctx context.Context, dir string, rates []int, d, sustain time.Duration) (EndToEndReport, error) {
	env := map[string]string{
		"PORT": "0", "BARRAGE_PROCESSOR_PORT": "0", "BARRAGE_BROKER_ADDR": "127.0.0.1:0",
		"BARRAGE_DATA_DIR": dir, "BARRAGE_RATE_LIMIT": "0",
	}
	// Other BARRAGE_ settings come from the environment, to measure them.
	cfg, err := config.Parse(config.RoleDev, func(k string) string {
		if v, ok := env[k]; ok || !strings.HasPrefix(k, "BARRAGE_") {
			return v
		}
		return os.Getenv(k)
	})
	if err != nil {
		return EndToEndReport{}, err
	}
	a, err := app.Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return EndToEndReport{}, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = a.Shutdown(sctx)
	}()
	base := "http://" + a.HomePage
	var out EndToEndReport
	runs := 0
	run := func(rate int, d time.Duration) (EndToEndResult, error) {
		runs++
		return measuredStep(ctx, base, fmt.Sprintf("e2e-%d", runs), rate, d)
	}
	for _, rate := range rates {
		r, err := run(rate, d)
		if err != nil {
			return out, err
		}
		out.Steps = append(out.Steps, r)
	}
	if sustain <= 0 {
		return out, nil
	}
	var held []int
	for _, r := range out.Steps {
		if r.Held {
			held = append(held, r.TargetRate)
		}
	}
	sort.Sort(sort.Reverse(sort.IntSlice(held)))
	for _, rate := range held[:min(len(held), sustainTries)] {
		r, err := run(rate, sustain)
		if err != nil {
			return out, err
		}
		out.Sustained = append(out.Sustained, r)
		if r.Held {
			break
		}
	}
	return out, nil
}

// measuredStep is one run, with the store's commits and the process's CPU counted
// around it.
func measuredStep(ctx context.Context, base, room string, rate int, d time.Duration) (EndToEndResult, error) {
	writes0, stored0, err := histogramAt(base, "barrage_store_batch_size")
	if err != nil {
		return EndToEndResult{}, err
	}
	cpu0, t0 := cpuSeconds(), time.Now()
	r, err := endToEndStep(ctx, base, room, rate, d)
	if err != nil {
		return r, err
	}
	cpu := cpuSeconds() - cpu0
	r.Cores = cpu / time.Since(t0).Seconds()
	if r.Accepted > 0 {
		r.CPUPerBarrage = cpu / float64(r.Accepted) * 1e6
	}
	writes, stored, err := histogramAt(base, "barrage_store_batch_size")
	if err != nil {
		return r, err
	}
	if writes > writes0 {
		r.PerCommit = (stored - stored0) / float64(writes-writes0)
	}
	return r, nil
}

// endToEndSenders is the load generator's connections. Under load a send waits its turn
// for a core, about 25 ms at 5,000/s, so 128 could not offer 5,000 a second; people
// sending are independent of each other, and the offered rate should not depend on how
// fast the last ones were answered.
const endToEndSenders = 512

func endToEndStep(ctx context.Context, base, room string, rate int, d time.Duration) (EndToEndResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/rooms/"+room+"/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return EndToEndResult{}, err
	}
	defer resp.Body.Close()
	var (
		received atomic.Int64
		mu       sync.Mutex
		lats     []float64
	)
	go func() {
		r := bufio.NewReaderSize(resp.Body, 1<<16)
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return
			}
			data, ok := bytes.CutPrefix(line, []byte("data: ["))
			if !ok {
				continue
			}
			now := time.Now()
			var batch []struct {
				AcceptedAt time.Time `json:"acceptedAt"`
			}
			if json.Unmarshal(append([]byte("["), data...), &batch) != nil {
				continue
			}
			mu.Lock()
			for _, b := range batch {
				lats = append(lats, float64(now.Sub(b.AcceptedAt).Microseconds())/1000)
			}
			mu.Unlock()
			received.Add(int64(len(batch)))
		}
	}()

	var accepted atomic.Int64
	jobs := make(chan struct{}, rate)
	var wg sync.WaitGroup
	for range endToEndSenders {
		s, err := dialSender(ctx, base, "/api/rooms/"+room+"/barrages", []byte(`{"text":"end to end"}`))
		if err != nil {
			close(jobs) // the senders already started return and close their connections
			wg.Wait()
			return EndToEndResult{}, err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.close()
			for range jobs {
				if s.send() == http.StatusAccepted {
					accepted.Add(1)
				}
			}
		}()
	}
	// Open loop: a tick every millisecond releases the sends due by then.
	start := time.Now()
	sent := 0
	tick := time.NewTicker(time.Millisecond)
	for now := range tick.C {
		el := now.Sub(start)
		if el >= d {
			break
		}
		due := int(el.Seconds() * float64(rate))
		for ; sent < due; sent++ {
			select {
			case jobs <- struct{}{}:
			default: // the senders are saturated; the achieved rate shows it
			}
		}
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	secs := time.Since(start).Seconds()
	// Wait for stragglers, up to a bound.
	for end := time.Now().Add(10 * time.Second); received.Load() < accepted.Load() && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	r := EndToEndResult{
		TargetRate: rate, For: d, Accepted: accepted.Load(), Received: received.Load(), Seconds: secs,
		AchievedRate: float64(accepted.Load()) / secs, P50: percentile(lats, 50), P99: percentile(lats, 99),
	}
	r.Held = r.Received >= r.Accepted && r.P99 <= 250 && r.AchievedRate >= 0.95*float64(rate)
	return r, nil
}
