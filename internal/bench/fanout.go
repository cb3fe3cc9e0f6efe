package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/live"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/sqlite"
)

// streamServer is a room feed over real HTTP on loopback, reading a real embedded store.
type streamServer struct {
	store store.Store
	hub   *live.Hub
	srv   *http.Server
	url   string
}

func startStreamServer(ctx context.Context, dir string, opts live.Options) (*streamServer, error) {
	st, err := sqlite.Open(ctx, dir, store.Options{Retention: store.DefaultRetention})
	if err != nil {
		return nil, err
	}
	hub := live.New(st, opts, slog.New(slog.NewTextHandler(io.Discard, nil)), live.Hooks{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /stream/{room}", func(w http.ResponseWriter, r *http.Request) {
		if err := hub.Subscribe(w, r, r.PathValue("room"), func() {}); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ConnContext: live.WithConn}
	go func() { _ = srv.Serve(ln) }()
	return &streamServer{store: st, hub: hub, srv: srv, url: "http://" + ln.Addr().String()}, nil
}

func (s *streamServer) close() {
	s.hub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	_ = s.store.Close()
}

// viewers is a child process holding many streams open.
type viewers struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

func startViewers(url string, n, sampleEvery int) (*viewers, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "bench-viewers", "-url", url, "-n", strconv.Itoa(n), "-sample", strconv.Itoa(sampleEvery))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	v := &viewers{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	line, err := v.out.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("bench: viewers did not start: %q %v", line, err)
	}
	return v, nil
}

// delivered asks the viewers how many barrages they have received so far.
func (v *viewers) delivered() (int64, error) {
	if _, err := fmt.Fprintln(v.stdin, "count"); err != nil {
		return 0, err
	}
	line, err := v.out.ReadString('\n')
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(line), 10, 64)
}

// awaitDeliveries waits until the viewers have received want barrages or the deadline
// passes, and says how many they had.
func (v *viewers) awaitDeliveries(want int64, within time.Duration) (int64, error) {
	deadline := time.Now().Add(within)
	for {
		got, err := v.delivered()
		if err != nil || got >= want || time.Now().After(deadline) {
			return got, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the viewers and returns their report.
func (v *viewers) stop() (ClientReport, error) {
	_ = v.stdin.Close()
	var rep ClientReport
	err := json.NewDecoder(v.out).Decode(&rep)
	_ = v.cmd.Wait()
	return rep, err
}

// FanoutResult is scenario 3's outcome.
type FanoutResult struct {
	Viewers        int
	Rate           int // barrages per second published
	Published      int
	Delivered      int64 // of Published × Viewers
	Seconds        float64
	DeliveriesPerS float64 // Delivered over the span from the first publication to the last receipt
	SteadyPerS     float64 // deliveries a second over the middle half of the publishing
	LagP50, LagP99 float64 // milliseconds, from acceptance: the store's write included
	// Milliseconds from publication, when the store had the barrage: delivery alone.
	PublishedP50, PublishedP99 float64
	ServerCores                float64 // CPU seconds per second
	ViewerCores                float64
	Failed                     int
	// Runs of this rate, and the lowest and highest p99 lag among them.
	Runs                  int
	LagP99Low, LagP99High float64
}

// medianByLag is the run with the median p99 lag, carrying the range of all of them.
func medianByLag(runs []FanoutResult) FanoutResult {
	sort.Slice(runs, func(i, j int) bool { return runs[i].LagP99 < runs[j].LagP99 })
	m := runs[len(runs)/2]
	m.Runs, m.LagP99Low, m.LagP99High = len(runs), runs[0].LagP99, runs[len(runs)-1].LagP99
	return m
}

// Fanout puts n viewers on one room and publishes rate barrages a second for d.
func Fanout(ctx context.Context, dir string, n, rate int, d time.Duration, opts live.Options) (FanoutResult, error) {
	raiseFileLimit()
	s, err := startStreamServer(ctx, dir, opts)
	if err != nil {
		return FanoutResult{}, err
	}
	defer s.close()
	v, err := startViewers(s.url+"/stream/fanout", n, 100)
	if err != nil {
		return FanoutResult{}, err
	}
	cpu0, t0 := cpuSeconds(), time.Now()
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	published := 0
	// The deliveries counted a quarter and three quarters of the way through give the
	// steady rate, without the start or the tail.
	type mark struct {
		at time.Time
		n  int64
	}
	var marks []mark
	stored := map[string]time.Time{} // when each barrage became readable: its publication
	for time.Since(t0) < d {
		select {
		case <-ctx.Done():
			_, _ = v.stop()
			return FanoutResult{}, ctx.Err()
		case <-tick.C:
			// A slow write drops ticks; catch up in one write so the rate holds.
			due := min(int(time.Since(t0).Seconds()*float64(rate))-published, store.MaxBatch)
			if due <= 0 {
				continue
			}
			batch := make([]barrage.Barrage, due)
			for i := range batch {
				batch[i], _ = barrage.Accept("fanout", barrage.Draft{Text: "fan-out 弾幕 " + strconv.Itoa(published+i)}, time.Now())
			}
			if _, err := s.store.Put(ctx, batch); err != nil {
				_, _ = v.stop()
				return FanoutResult{}, err
			}
			now := time.Now()
			for _, b := range batch {
				stored[b.ID] = now
			}
			published += due
			s.hub.Notify("fanout")
			if len(marks) < 2 && time.Since(t0) >= d*time.Duration(1+2*len(marks))/4 {
				n, err := v.delivered()
				if err != nil {
					_, _ = v.stop()
					return FanoutResult{}, err
				}
				marks = append(marks, mark{time.Now(), n})
			}
		}
	}
	// The last batches are still on their way: wait for them, or for a viewer to be lost.
	if _, err := v.awaitDeliveries(int64(published)*int64(n), 10*time.Second); err != nil {
		_, _ = v.stop()
		return FanoutResult{}, err
	}
	serverCPU := cpuSeconds() - cpu0
	rep, err := v.stop()
	if err != nil {
		return FanoutResult{}, err
	}
	span := time.Unix(0, rep.LastReceipt).Sub(t0).Seconds()
	millis := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	var fromAcceptance, fromStore []float64
	for _, r := range rep.Receipts {
		at := time.Unix(0, r.At)
		fromAcceptance = append(fromAcceptance, millis(at.Sub(r.AcceptedAt)))
		if storedAt, ok := stored[r.ID]; ok {
			fromStore = append(fromStore, millis(at.Sub(storedAt)))
		}
	}
	steady := 0.0
	if len(marks) == 2 {
		steady = float64(marks[1].n-marks[0].n) / marks[1].at.Sub(marks[0].at).Seconds()
	}
	return FanoutResult{
		Viewers: rep.Connected, Rate: rate, Published: published, Delivered: rep.Deliveries,
		Seconds: span, Failed: rep.Failed,
		DeliveriesPerS: float64(rep.Deliveries) / span, SteadyPerS: steady,
		LagP50: percentile(fromAcceptance, 50), LagP99: percentile(fromAcceptance, 99),
		PublishedP50: percentile(fromStore, 50), PublishedP99: percentile(fromStore, 99),
		ServerCores: serverCPU / span, ViewerCores: rep.CPUSeconds / span,
	}, nil
}

// MemoryResult is scenario 4's outcome.
type MemoryResult struct {
	Viewers       int
	RSSBefore     int64
	RSSAfter      int64
	PerConnection float64 // bytes
	// Where it goes, per connection, from the Go runtime's own accounting.
	HeapPerConnection, StackPerConnection, GoroutinesPerConnection float64
}

// IdleMemory opens n idle streams and reports the server's RSS growth per stream.
func IdleMemory(ctx context.Context, dir string, n int) (MemoryResult, error) {
	raiseFileLimit()
	s, err := startStreamServer(ctx, dir, live.Options{})
	if err != nil {
		return MemoryResult{}, err
	}
	defer s.close()
	// Warm up: one stream, so the room's feed and the server's pools exist before the baseline.
	warm, err := startViewers(s.url+"/stream/idle", 1, 0)
	if err != nil {
		return MemoryResult{}, err
	}
	before := rssBytes()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	g0 := runtime.NumGoroutine()
	v, err := startViewers(s.url+"/stream/idle", n, 0)
	if err != nil {
		return MemoryResult{}, err
	}
	after := rssBytes()
	runtime.ReadMemStats(&m1)
	g1 := runtime.NumGoroutine()
	rep, _ := v.stop()
	_, _ = warm.stop()
	per := float64(max(rep.Connected, 1))
	return MemoryResult{Viewers: rep.Connected, RSSBefore: before, RSSAfter: after,
		PerConnection:           float64(after-before) / per,
		HeapPerConnection:       float64(int64(m1.HeapInuse)-int64(m0.HeapInuse)) / per,
		StackPerConnection:      float64(int64(m1.StackInuse)-int64(m0.StackInuse)) / per,
		GoroutinesPerConnection: float64(g1-g0) / per,
	}, nil
}
