package app

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/kafka"
	"github.com/barrage-live/barrage/internal/live"
	"github.com/barrage-live/barrage/internal/moderation"
	"github.com/barrage-live/barrage/internal/store"
)

// noticeSender is the processor's notifier. It drops notices, counting them, until Kafka
// takes a connection, so a processor starts and stores whether Kafka is up or not.
type noticeSender struct {
	p      atomic.Pointer[kafka.NoticeProducer]
	failed func()
}

func (n *noticeSender) Notice(room string, recs []store.Record) {
	if p := n.p.Load(); p != nil {
		p.Notice(room, recs)
		return
	}
	n.failed()
}

// Moderated tells every HomePage that an operator acted on room.
func (n *noticeSender) Moderated(room string) {
	if p := n.p.Load(); p != nil {
		p.Moderated(room)
		return
	}
	n.failed()
}

// startNotices connects the processor's notice producer in the background. Without
// KAFKA_SERVER it sends none, and the HomePages find every barrage by store read.
func (a *App) startNotices(cfg config.Config) (*noticeSender, error) {
	return a.startNoticeSender(cfg, "processor", "notice producer")
}

// startNoticeSender connects a notice producer for part in the background; step names it
// in the shutdown.
func (a *App) startNoticeSender(cfg config.Config, part, step string) (*noticeSender, error) {
	if len(cfg.Kafka.Brokers) == 0 {
		a.log.Warn("KAFKA_SERVER is not set: no notices are sent, and live display waits for the HomePages' store reads")
		return nil, nil
	}
	kcfg, err := kafka.NewConfig(cfg.Kafka, clientID(cfg, part))
	if err != nil {
		return nil, err
	}
	m := a.metrics
	n := &noticeSender{failed: m.NoticesFailed.Inc}
	hooks := kafka.NoticeHooks{Sent: m.NoticesSent.Inc, Failed: m.NoticesFailed.Inc}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for wait := 500 * time.Millisecond; ; wait = min(wait*2, 15*time.Second) {
			p, err := kafka.NewNoticeProducer(cfg.Kafka.Brokers, cfg.Kafka.NoticeTopic, kcfg, hooks)
			if err == nil {
				n.p.Store(p)
				return
			}
			a.log.Warn("notice producer not connected; notices are dropped meanwhile", "brokers", strings.Join(cfg.Kafka.Brokers, ","), "err", err, "retry", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}()
	a.onStop(phaseCloseProducers, step, func(context.Context) error {
		cancel()
		<-done
		if p := n.p.Load(); p != nil {
			return p.Close()
		}
		return nil
	})
	return n, nil
}

// followNotices hands every notice on the topic to the hub, from now on, until shutdown;
// an operator's notice wakes the moderation book instead.
func (a *App) followNotices(cfg config.Config, hub *live.Hub, book *moderation.Book) error {
	kcfg, err := kafka.NewConfig(cfg.Kafka, clientID(cfg, "homepage-notices"))
	if err != nil {
		return err
	}
	m := a.metrics
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		kafka.FollowNotices(ctx, cfg.Kafka.Brokers, cfg.Kafka.NoticeTopic, kcfg, a.log.With("part", "notices"),
			kafka.FollowHooks{Received: m.NoticesReceived.Inc, Bad: m.NoticesRefused.Inc, Up: func(up bool) {
				m.NoticesUp.Set(map[bool]float64{true: 1}[up])
				hub.Following(up)
			}},
			func(n kafka.Notice) {
				if n.Moderation {
					if book != nil {
						book.Wake()
					}
					return
				}
				hub.Notice(n.Room, n.Records)
			})
	}()
	a.onStop(phaseStopAccepting, "notice follower", func(context.Context) error {
		cancel()
		<-done
		return nil
	})
	return nil
}

// settleDelay is how long the store holds a row back from readers after its write.
func settleDelay(st store.Store) time.Duration {
	if s, ok := st.(interface{ Settle() time.Duration }); ok {
		return s.Settle()
	}
	return 0
}
