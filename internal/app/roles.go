package app

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/dispatch"
	"github.com/barrage-live/barrage/internal/homepage"
	"github.com/barrage-live/barrage/internal/kafka"
	"github.com/barrage-live/barrage/internal/live"
	"github.com/barrage-live/barrage/internal/loadsender"
	"github.com/barrage-live/barrage/internal/moderation"
	"github.com/barrage-live/barrage/internal/operator"
	"github.com/barrage-live/barrage/internal/processor"
	"github.com/barrage-live/barrage/internal/sinkauth"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/sqlite"
	"github.com/barrage-live/barrage/static"
	"github.com/barrage-live/barrage/views"
)

// startDev runs every role in this process, each over its real protocol: the embedded
// broker (unless KAFKA_SERVER names a real one), the store, the HomePage, the processor
// on its own port and the dispatcher POSTing to it.
func (a *App) startDev(ctx context.Context, cfg config.Config) error {
	if len(cfg.Kafka.Brokers) == 0 {
		if err := a.startBroker(cfg, false); err != nil {
			return err
		}
		cfg.Kafka.Brokers = []string{a.Broker}
	}
	st, err := a.openStore(ctx, cfg)
	if err != nil {
		return err
	}
	if _, err := a.startHomePageWith(ctx, cfg, st); err != nil {
		return err
	}
	procCfg := cfg
	procCfg.Port = cfg.DevPorts.Processor
	if err := a.startProcessorWith(ctx, cfg.Host, procCfg.Port, cfg, st); err != nil {
		return err
	}
	cfg.Dispatch.Sink = "http://" + a.Processor + "/"
	return a.startDispatcher(ctx, cfg, false)
}

// startBroker runs the embedded broker; alone, it also serves health on PORT.
func (a *App) startBroker(cfg config.Config, alone bool) error {
	opts := kafka.BrokerOptions{
		Addr:       cfg.Broker.Addr,
		DataDir:    filepath.Join(cfg.DataDir, "kafka"),
		Partitions: cfg.Broker.Partitions,
		Topics:     []string{cfg.Kafka.Topic, cfg.Dispatch.DeadLetterTopic, cfg.Kafka.NoticeTopic},
	}
	// As a stand-in for a managed Kafka, the broker asks for what its clients are given.
	if cfg.Broker.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.Broker.TLSCert, cfg.Broker.TLSKey)
		if err != nil {
			return fmt.Errorf("app: embedded broker certificate (BARRAGE_BROKER_TLS_CERT_FILE, BARRAGE_BROKER_TLS_KEY_FILE): %w", err)
		}
		opts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if cfg.Kafka.User != "" {
		opts.SASL = &kafka.SASLUser{Mechanism: cfg.Kafka.SASLMechanism, User: cfg.Kafka.User, Password: cfg.Kafka.Password}
	}
	b, err := kafka.StartBroker(opts)
	if err != nil {
		return fmt.Errorf("app: embedded broker on %s (BARRAGE_BROKER_ADDR): %w", cfg.Broker.Addr, err)
	}
	a.Broker = b.Addr()
	a.log.Info("embedded Kafka broker", "addr", b.Addr(), "topic", cfg.Kafka.Topic)
	a.onStop(phaseCloseBroker, "broker", func(context.Context) error { b.Close(); return nil })
	if alone {
		_, err = a.serve("broker", cfg.Host, cfg.Port, nil, nil, phaseStopAccepting)
	}
	return err
}

// openStore opens Tablestore when OTS_ENDPOINT is set, else the embedded store.
func (a *App) openStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	opts := store.Options{Retention: cfg.Retention}
	if cfg.OTS.Enabled() {
		return a.openTablestore(ctx, cfg, opts)
	}
	dir := filepath.Join(cfg.DataDir, "store")
	st, err := sqlite.Open(ctx, dir, opts)
	if err != nil {
		return nil, fmt.Errorf("app: embedded store in %s (BARRAGE_DATA_DIR): %w", dir, err)
	}
	a.onStop(phaseCloseStore, "store", func(context.Context) error { return st.Close() })
	return st, nil
}

func (a *App) startProcessor(ctx context.Context, cfg config.Config) error {
	st, err := a.openStore(ctx, cfg)
	if err != nil {
		return err
	}
	return a.startProcessorWith(ctx, cfg.Host, cfg.Port, cfg, st)
}

// startProcessorWith serves the CloudEvents receiver. After each write it sends a notice
// per room to the notice topic, which every HomePage follows, in dev mode too.
func (a *App) startProcessorWith(ctx context.Context, host string, port int, cfg config.Config, st store.Store) error {
	m := a.metrics
	notices, err := a.startNotices(cfg)
	if err != nil {
		return err
	}
	hooks := processor.Hooks{
		Stored: func(bs []barrage.Barrage) {
			m.Processed.Add(float64(len(bs)))
			m.StoreBatch.Observe(float64(len(bs)))
		},
		New:        func(n int) { m.Stored.Add(float64(n)) },
		Duplicates: func(n int) { m.Duplicates.Add(float64(n)) },
		Rejected:   func(string) { m.EventsRejected.Inc() },
		Failed:     func(error) { m.StoreErrors.Inc() },
	}
	opts := processor.Options{SensitiveWords: cfg.Processor.SensitiveWords, Tracing: a.tracing,
		Writers: cfg.Processor.StoreWriters}
	if notices != nil {
		opts.Notices = notices
	}
	if book := a.startBook(ctx, cfg, st, "processor", nil); book != nil {
		opts.RoomWords = func(room string) []string { return book.Rules(room).Words }
	}
	p := processor.New(st, opts,
		a.log.With("part", "processor"), hooks)
	h, err := a.sinkAuth(cfg.Processor.OIDC, p.Handler())
	if err != nil {
		p.Close()
		return err
	}
	// The listener and its requests go first, then the writers that serve them.
	addr, err := a.serve("processor", host, port, h, st.Ping, phaseStopProcessing)
	a.onStop(phaseStopProcessing, "processor writers", func(context.Context) error { p.Close(); return nil })
	a.Processor = addr
	return err
}

// sinkAuth puts token verification in front of h when BARRAGE_OIDC_AUDIENCE is set. The
// health and metrics routes stay outside it, for the kubelet. The keys are fetched on the
// first event; a probe at start only logs whether they can be, so a JWKS outage shows in
// the log at once without keeping the pod from starting.
func (a *App) sinkAuth(o config.OIDC, h http.Handler) (http.Handler, error) {
	if !o.Enabled() {
		return h, nil
	}
	log := a.log.With("part", "sinkauth")
	v, err := sinkauth.New(sinkauth.Options{
		Audience: o.Audience, Subjects: o.Subjects, Issuer: o.Issuer, JWKSURL: o.JWKSURL, CAFile: o.CAFile, TokenFile: o.TokenFile,
	}, log)
	if err != nil {
		return nil, fmt.Errorf("app: sink token check (BARRAGE_OIDC_*): %w", err)
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if n, err := v.Check(ctx); err != nil {
			log.Error("the issuer's keys cannot be fetched yet; events get 503 until they can", "url", o.JWKSURL, "err", err)
		} else {
			log.Info("sink requests need a token", "audience", o.Audience, "issuer", o.Issuer, "subjects", len(o.Subjects), "keys", n)
		}
	}()
	return v.Wrap(h), nil
}

// startDispatcher runs the consumer group; alone, it also serves health on PORT.
func (a *App) startDispatcher(ctx context.Context, cfg config.Config, alone bool) error {
	kcfg, err := kafka.NewConfig(cfg.Kafka, clientID(cfg, "dispatcher"))
	if err != nil {
		return err
	}
	ns := cfg.Namespace
	if ns == "" {
		ns = "default"
	}
	d, err := dispatch.New(dispatch.Options{
		Brokers:         cfg.Kafka.Brokers,
		Topic:           cfg.Kafka.Topic,
		ConsumerGroup:   cfg.Dispatch.ConsumerGroup,
		Sink:            cfg.Dispatch.Sink,
		Source:          fmt.Sprintf("/apis/v1/namespaces/%s/kafkasources/barrage#%s", ns, cfg.Kafka.Topic),
		Retry:           cfg.Dispatch.RetryCount,
		BackoffDelay:    cfg.Dispatch.RetryInterval,
		MaxDelay:        cfg.Dispatch.RetryMaxDelay,
		Exponential:     cfg.Dispatch.BackoffPolicy == "exponential",
		Timeout:         cfg.Dispatch.RequestTimeout,
		DeadLetterTopic: cfg.Dispatch.DeadLetterTopic,
		InitialOldest:   cfg.Dispatch.InitialOffset == "earliest",
		Unordered:       cfg.Dispatch.Ordering == "unordered",
		Concurrency:     cfg.Dispatch.Concurrency,
		Tracing:         a.tracing,
	}, kcfg, a.log.With("part", "dispatcher"), dispatch.Hooks{
		Delivered:    func(status int) { a.metrics.Dispatched.WithLabelValues(strconv.Itoa(status)).Inc() },
		Retried:      func(int, error) { a.metrics.Retried.Inc() },
		DeadLettered: func(string) { a.metrics.DeadLettered.WithLabelValues("dispatcher").Inc() },
	})
	if err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- d.Run(runCtx) }()
	a.onStop(phaseStopDelivery, "dispatcher", func(stopCtx context.Context) error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-stopCtx.Done():
			return fmt.Errorf("app: dispatcher did not stop: %w", stopCtx.Err())
		}
	})
	a.onStop(phaseCloseProducers, "dead letter producer", func(context.Context) error { return d.Close() })
	a.log.Info("dispatching", "topic", cfg.Kafka.Topic, "group", cfg.Dispatch.ConsumerGroup, "sink", cfg.Dispatch.Sink)
	if alone {
		addr, err := a.serve("dispatcher", cfg.Host, cfg.Port, nil, nil, phaseStopAccepting)
		a.Dispatcher = addr
		return err
	}
	return nil
}

func (a *App) startHomePage(ctx context.Context, cfg config.Config) (*live.Hub, error) {
	st, err := a.openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return a.startHomePageWith(ctx, cfg, st)
}

// startHomePageWith serves the page, the send API and the live streams on PORT.
func (a *App) startHomePageWith(ctx context.Context, cfg config.Config, st store.Store) (*live.Hub, error) {
	kcfg, err := kafka.NewConfig(cfg.Kafka, clientID(cfg, "homepage"))
	if err != nil {
		return nil, err
	}
	prod, err := kafka.NewProducer(cfg.Kafka.Brokers, cfg.Kafka.Topic, kcfg)
	if err != nil {
		return nil, fmt.Errorf("app: Kafka at %s (KAFKA_SERVER): %w", strings.Join(cfg.Kafka.Brokers, ","), err)
	}
	a.onStop(phaseCloseProducers, "homepage producer", func(context.Context) error { return prod.Close() })
	m := a.metrics
	hub := live.New(st, live.Options{
		PollInterval: cfg.HomePage.PollInterval, SettleDelay: settleDelay(st),
		MaxPerRoom: cfg.HomePage.ViewersPerRoom, MaxRooms: cfg.HomePage.MaxRooms,
		WriteTimeout: cfg.HomePage.StreamWriteTimeout, Tracing: a.tracing,
	},
		a.log.With("part", "live"), live.Hooks{
			Published: func(_ string, recs []store.Record, viewers int) {
				m.Deliveries.Add(float64(len(recs) * viewers))
				now := time.Now()
				for _, r := range recs {
					m.EndToEnd.Observe(now.Sub(r.AcceptedAt).Seconds())
				}
			},
			Connected: func(_ string, delta int) { m.Connections.Add(float64(delta)) },
			Evicted:   func(string) { m.Evictions.Inc() },
			Read:      func(reason string) { m.StoreReads.WithLabelValues(reason).Inc() },
			Unnoticed: func(_ string, n int) { m.NoticesMissed.Add(float64(n)) },
		})
	book := a.startBook(ctx, cfg, st, "homepage", func(room, id string) { hub.Remove(room, id) })
	if err := a.followNotices(cfg, hub, book); err != nil {
		return nil, err
	}
	clientAddr := homepage.ClientAddr{
		Header:         cfg.HomePage.ClientIPHeader,
		TrustedProxies: cfg.HomePage.TrustedProxies,
		TrustedHops:    cfg.HomePage.TrustedHops,
	}
	// Without a token only the dev role, on a laptop, leaves operator routes open.
	guard := operator.New(operator.Options{
		Token:     cfg.Operator.Token,
		Open:      cfg.Role == config.RoleDev,
		ClientKey: clientAddr.ClientKey,
	})
	settings := views.LoadSenderSettings{
		Enabled:        cfg.HomePage.LoadSender,
		MaxConcurrency: cfg.HomePage.LoadMaxConcurrent,
		MaxDuration:    cfg.HomePage.LoadMaxDuration,
		MaxRate:        cfg.HomePage.LoadMaxRate,
		TokenRequired:  guard.Required(),
	}
	hp := homepage.New(prod, st, hub, homepage.Options{
		LoadSender:     settings,
		AllowedOrigins: cfg.HomePage.AllowedOrigins,
		Version:        Version,
		Tracing:        a.tracing,
		Limits: homepage.Limits{
			SendsPerSecond:    cfg.HomePage.SendsPerSecond,
			SendBurst:         cfg.HomePage.SendBurst,
			StreamsPerClient:  cfg.HomePage.StreamsPerClient,
			StreamOpensPerSec: cfg.HomePage.StreamOpensPerSec,
			StreamOpenBurst:   cfg.HomePage.StreamOpenBurst,
			MaxClients:        cfg.HomePage.MaxClients,
			Addr:              clientAddr,
		},
	}, a.log.With("part", "homepage"), homepage.Hooks{
		Accepted:      func(barrage.Barrage) { m.Accepted.Inc() },
		Rejected:      func(reason string) { m.Rejected.WithLabelValues(reason).Inc() },
		ProduceFailed: func(error) { m.ProduceErrors.Inc() },
	})
	if book != nil {
		mod, _ := st.(store.Moderator)
		var notify func(string)
		if ns, err := a.startNoticeSender(cfg, "homepage-moderation", "moderation notice producer"); err != nil {
			return nil, err
		} else if ns != nil {
			notify = ns.Moderated
		}
		hp.Moderate(homepage.Moderation{Store: mod, Book: book, Hasher: moderation.NewHasher(cfg.Operator.Token),
			Guard: guard.Wrap, Notify: notify})
	}
	sender := loadsender.New(hp.Send, loadsender.Limits{
		Enabled:        settings.Enabled,
		MaxConcurrency: settings.MaxConcurrency,
		MaxDuration:    settings.MaxDuration,
		MaxRate:        settings.MaxRate,
	})
	// Streams never end by themselves: they end as the listener closes, so the drain that
	// follows waits only for sends.
	a.onStop(phaseStopAccepting, "live streams", func(context.Context) error { hub.Close(); return nil })
	addr, err := a.serve("homepage", cfg.Host, cfg.Port, hp.Handler(static.Handler(), func(mux *http.ServeMux) { sender.Register(mux, guard.Wrap) }), st.Ping, phaseStopAccepting)
	a.HomePage = addr
	a.onStop(phaseStopLoad, "load runs", sender.Close)
	return hub, err
}

func clientID(cfg config.Config, part string) string {
	if cfg.PodName != "" {
		return "barrage-" + part + "-" + cfg.PodName
	}
	return "barrage-" + part
}
