package bench

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"time"

	"github.com/barrage-live/barrage/internal/app"
	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/kafka"
)

// IngestResult is scenario 1's outcome: the send path next to a bare handler, same run.
type IngestResult struct {
	Workers int
	Bare    LoadResult
	Send    LoadResult
	Ratio   float64 // Send.PerSecond / Bare.PerSecond, in the median round
	// The lowest and highest ratio of any round.
	Lowest, Highest float64
}

// Ingest measures POST → Kafka acknowledgement through the real HomePage and the embedded
// broker, and a net/http handler that only answers 202, with the same client.
func Ingest(ctx context.Context, dir string, workers int, d time.Duration) (IngestResult, error) {
	body := []byte(`{"text":"ingest benchmark 弾幕","color":"#00ffcc","mode":"scroll"}`)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return IngestResult{}, err
	}
	bare := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte(`{"id":"x"}` + "\n"))
	})}
	go func() { _ = bare.Serve(ln) }()
	defer bare.Close()

	broker, err := kafka.StartBroker(kafka.BrokerOptions{Addr: "127.0.0.1:0", Partitions: 4, Topics: []string{"barrage-info"}})
	if err != nil {
		return IngestResult{}, err
	}
	defer broker.Close()
	env := map[string]string{
		"PORT": "0", "KAFKA_SERVER": broker.Addr(), "BARRAGE_DATA_DIR": dir,
		"BARRAGE_RATE_LIMIT": "0", // one client sends everything here
	}
	cfg, err := config.Parse(config.RoleHomePage, func(k string) string { return env[k] })
	if err != nil {
		return IngestResult{}, err
	}
	a, err := app.Start(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return IngestResult{}, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = a.Shutdown(sctx)
	}()

	// Warm both up so connection set-up and first metadata fetches are not measured.
	closedLoop(ctx, "http://"+ln.Addr().String()+"/", body, workers, time.Second)
	closedLoop(ctx, "http://"+a.HomePage+"/api/rooms/bench/barrages", body, workers, time.Second)

	// Alternate the two for five rounds and keep the median round, so a burst of other
	// work on the machine does not decide the ratio.
	var rounds []IngestResult
	for range ingestRounds {
		r := IngestResult{Workers: workers}
		r.Bare = closedLoop(ctx, "http://"+ln.Addr().String()+"/", body, workers, d/ingestRounds)
		r.Send = closedLoop(ctx, "http://"+a.HomePage+"/api/rooms/bench/barrages", body, workers, d/ingestRounds)
		if r.Bare.PerSecond > 0 {
			r.Ratio = r.Send.PerSecond / r.Bare.PerSecond
		}
		rounds = append(rounds, r)
	}
	sort.Slice(rounds, func(i, j int) bool { return rounds[i].Ratio < rounds[j].Ratio })
	med := rounds[len(rounds)/2]
	med.Lowest, med.Highest = rounds[0].Ratio, rounds[len(rounds)-1].Ratio
	return med, nil
}

const ingestRounds = 5
