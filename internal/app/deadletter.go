package app

import (
	"context"
	"net/http"

	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/deadletter"
	"github.com/barrage-live/barrage/internal/kafka"
	"github.com/barrage-live/barrage/internal/processor"
)

// SinkAuth wraps the dead-letter sink's handler, such as with the verification of the
// source's token; nil serves it as it is.
var SinkAuth func(http.Handler) http.Handler

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
	a.onStop(func(context.Context) error { return sink.Close() })
	var h http.Handler = sink.Handler()
	if SinkAuth != nil {
		h = SinkAuth(h)
	}
	addr, err := a.serve("deadletter", cfg.Host, cfg.Port, h, sink.Ready)
	a.DeadLetter = addr
	return err
}
