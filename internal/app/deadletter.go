package app

import (
	"context"

	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/deadletter"
	"github.com/barrage-live/barrage/internal/kafka"
	"github.com/barrage-live/barrage/internal/processor"
)

// startDeadLetter serves the KafkaSource's dead-letter sink on PORT: each event goes to the
// dead-letter topic, and /readyz follows Kafka, not the store, which it never opens.
func (a *App) startDeadLetter(cfg config.Config) error {
	kcfg, err := kafka.NewConfig(cfg.Kafka, clientID(cfg, "deadletter"))
	if err != nil {
		return err
	}
	m := a.metrics
	sink, err := deadletter.New(deadletter.Options{
		Brokers:      cfg.Kafka.Brokers,
		Topic:        cfg.Dispatch.DeadLetterTopic,
		MaxBodyBytes: processor.MaxEventBytes,
	}, kcfg, a.log.With("part", "deadletter"), deadletter.Hooks{
		Written:  func() { m.DeadLettered.WithLabelValues("sink").Inc() },
		Rejected: func(reason string) { m.DeadLetterRejected.Inc() },
		Failed:   func(error) { m.DeadLetterFailures.Inc() },
	})
	if err != nil {
		return err
	}
	// Events in flight are answered in the drain before the producer they wait on closes.
	a.onStop(phaseCloseProducers, "dead letter sink producer", func(context.Context) error { return sink.Close() })
	// The same token check as the processor's: the source's token, for the sink's audience.
	// /healthz, /readyz and /metrics stay outside it, for the kubelet and Prometheus.
	h, err := a.sinkAuth(cfg.Processor.OIDC, sink.Handler())
	if err != nil {
		return err
	}
	addr, err := a.serve("deadletter", cfg.Host, cfg.Port, h, sink.Ready, phaseStopAccepting)
	a.DeadLetter = addr
	return err
}
