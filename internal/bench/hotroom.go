package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/dispatch"
	"github.com/barrage-live/barrage/internal/kafka"
	"github.com/barrage-live/barrage/internal/processor"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/ots"
	"github.com/barrage-live/barrage/internal/store/ots/otstest"
)

// HotRoomResult is one delivery ordering of scenario 6.
type HotRoomResult struct {
	Ordering   string
	Stored     int64 // barrages of the room newly stored within the run
	Seconds    float64
	PerSecond  float64
	Processors int
	InFlight   int // the dispatcher's deliveries per partition when unordered
}

// HotRoomReport is scenario 6: both orderings in one run, and their ratio.
type HotRoomReport struct {
	Ordered, Unordered HotRoomResult
	Ratio              float64 // unordered over ordered
}

// hotRoom is the processors of scenario 6 and what Knative holds each to.
const (
	hotRoomProcessors = 4
	hotRoomPerPod     = 2 // the seed's containerConcurrency
)

// HotRoom measures barrages per second into one room through the separate roles: a
// backlog of one room in Kafka (one partition, as key = room makes it), the dispatcher
// with the dispatcher role's defaults, a round-robin balancer, four processors each held
// to two requests at once, and the Tablestore test server with 2 ms added to every
// request. Ordered and unordered run one after the other on fresh topics, each for d.
func HotRoom(ctx context.Context, d time.Duration) (HotRoomReport, error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	broker, err := kafka.StartBroker(kafka.BrokerOptions{Addr: "127.0.0.1:0", Partitions: 4,
		Topics: []string{"hot-ordered", "hot-unordered", "hot-dead-letter"}})
	if err != nil {
		return HotRoomReport{}, err
	}
	defer broker.Close()
	srv := otstest.New(otstest.Options{})
	defer srv.Close()
	srv.SetLatency(2 * time.Millisecond)

	var stored atomic.Int64
	var backends []*url.URL
	for range hotRoomProcessors {
		u, stop, err := startLimitedProcessor(ctx, srv, &stored, quiet)
		if err != nil {
			return HotRoomReport{}, err
		}
		defer stop()
		backends = append(backends, u)
	}
	lb, err := roundRobin(backends)
	if err != nil {
		return HotRoomReport{}, err
	}
	defer lb.Close()

	// The dispatcher role's own defaults: the same numbers production runs with.
	cfg, err := config.Parse(config.RoleDispatcher, func(k string) string {
		return map[string]string{"KAFKA_SERVER": broker.Addr(), "K_SINK": lb.URL}[k]
	})
	if err != nil {
		return HotRoomReport{}, err
	}
	// Enough backlog that neither ordering runs out within d.
	backlog := max(2000, int(3000*d.Seconds()))
	var out HotRoomReport
	for _, ordering := range []string{"ordered", "unordered"} {
		topic := "hot-" + ordering
		if err := fillRoom(broker.Addr(), topic, "hot-"+ordering, backlog); err != nil {
			return out, err
		}
		r, err := runHotRoom(ctx, cfg, broker.Addr(), topic, ordering, lb.URL, &stored, d, quiet)
		if err != nil {
			return out, err
		}
		if ordering == "ordered" {
			out.Ordered = r
		} else {
			out.Unordered = r
		}
	}
	if out.Ordered.PerSecond > 0 {
		out.Ratio = out.Unordered.PerSecond / out.Ordered.PerSecond
	}
	return out, nil
}

func runHotRoom(ctx context.Context, cfg config.Config, brokerAddr, topic, ordering, sink string, stored *atomic.Int64, d time.Duration, log *slog.Logger) (HotRoomResult, error) {
	kcfg, err := kafka.NewConfig(cfg.Kafka, "bench-hot-room")
	if err != nil {
		return HotRoomResult{}, err
	}
	disp, err := dispatch.New(dispatch.Options{
		Brokers: []string{brokerAddr}, Topic: topic, ConsumerGroup: "bench-" + ordering, Sink: sink,
		Source: "/bench#" + topic, Retry: cfg.Dispatch.RetryCount, BackoffDelay: cfg.Dispatch.RetryInterval,
		Exponential: cfg.Dispatch.BackoffPolicy == "exponential", MaxDelay: cfg.Dispatch.RetryMaxDelay,
		Timeout: cfg.Dispatch.RequestTimeout, DeadLetterTopic: "hot-dead-letter", InitialOldest: true,
		Unordered: ordering == "unordered", Concurrency: cfg.Dispatch.Concurrency,
	}, kcfg, log, dispatch.Hooks{})
	if err != nil {
		return HotRoomResult{}, err
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	before := stored.Load()
	go func() { done <- disp.Run(runCtx) }()
	// The clock starts at the first stored barrage, so joining the group is not counted.
	first := time.Now().Add(30 * time.Second)
	for stored.Load() == before && time.Now().Before(first) {
		time.Sleep(time.Millisecond)
	}
	n0, t0 := stored.Load(), time.Now()
	timer := time.NewTimer(d)
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
	n, secs := stored.Load()-n0, time.Since(t0).Seconds()
	cancel()
	err = errors.Join(<-done, disp.Close())
	if n == 0 {
		return HotRoomResult{}, fmt.Errorf("bench: hot room: nothing stored with %s delivery", ordering)
	}
	return HotRoomResult{Ordering: ordering, Stored: n, Seconds: secs, PerSecond: float64(n) / secs,
		Processors: hotRoomProcessors, InFlight: cfg.Dispatch.Concurrency}, err
}

// fillRoom produces n barrages of room to topic: all on one partition, as key = room puts them.
func fillRoom(brokerAddr, topic, room string, n int) error {
	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	p, err := sarama.NewAsyncProducer([]string{brokerAddr}, cfg)
	if err != nil {
		return fmt.Errorf("bench: hot room: producer: %w", err)
	}
	go func() {
		for i := range n {
			b, _ := barrage.Accept(room, barrage.Draft{Text: fmt.Sprintf("hot %d", i)}, time.Now())
			m, _ := kafka.Record(topic, b)
			p.Input() <- m
		}
	}()
	for range n {
		select {
		case <-p.Successes():
		case e := <-p.Errors():
			_ = p.Close()
			return fmt.Errorf("bench: hot room: fill: %w", e.Err)
		}
	}
	return p.Close()
}

// startLimitedProcessor serves a processor with its own Tablestore client behind a
// limit of hotRoomPerPod requests at once; the rest wait their turn, as queue-proxy
// queues them rather than refusing.
func startLimitedProcessor(ctx context.Context, srv *otstest.Server, stored *atomic.Int64, log *slog.Logger) (*url.URL, func(), error) {
	st, err := ots.Open(ctx, ots.Config{Endpoint: srv.URL, Instance: srv.Instance(), Table: "barrage", KeyID: srv.KeyID(), Secret: srv.Secret()},
		store.Options{Retention: store.DefaultRetention})
	if err != nil {
		return nil, nil, err
	}
	p := processor.New(st, processor.Options{Writers: config.TablestoreWriters}, log,
		processor.Hooks{New: func(n int) { stored.Add(int64(n)) }})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		p.Close()
		_ = st.Close()
		return nil, nil, err
	}
	slots := make(chan struct{}, hotRoomPerPod)
	h := p.Handler()
	s := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		defer func() { <-slots }()
		h.ServeHTTP(w, r)
	})}
	go func() { _ = s.Serve(ln) }()
	stop := func() {
		_ = s.Close()
		p.Close()
		_ = st.Close()
	}
	return &url.URL{Scheme: "http", Host: ln.Addr().String()}, stop, nil
}

// balancer is a round-robin reverse proxy, as Knative's ingress spreads requests over pods.
type balancer struct {
	URL string
	srv *http.Server
}

func (b *balancer) Close() error { return b.srv.Close() }

func roundRobin(backends []*url.URL) (*balancer, error) {
	var next atomic.Uint64
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(backends[next.Add(1)%uint64(len(backends))])
		},
		Transport: &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second},
		ErrorLog:  log.New(io.Discard, "", 0), // deliveries cut by the end of a run are expected
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &http.Server{Handler: proxy}
	go func() { _ = s.Serve(ln) }()
	return &balancer{URL: "http://" + ln.Addr().String() + "/", srv: s}, nil
}
