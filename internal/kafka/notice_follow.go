package kafka

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// FollowHooks count what a follower sees; any may be nil.
type FollowHooks struct {
	Received func()        // a notice was handed on
	Bad      func()        // a record that is no notice was skipped
	Up       func(up bool) // the follower reads every partition (true) or is reconnecting (false)
}

// FollowNotices reads every partition of topic from its newest offset and hands each
// notice to fn, until ctx ends. It uses no consumer group: every HomePage instance needs
// every notice, at its own position, and commits nothing. When the topic cannot be read
// it retries with backoff, again from the newest offset; the feeds' safety poll covers
// what it misses meanwhile.
func FollowNotices(ctx context.Context, brokers []string, topic string, cfg *sarama.Config, log *slog.Logger, hooks FollowHooks, fn func(Notice)) {
	c := *cfg
	// A partition consumer retries a lost broker for ever by itself; its errors are how
	// the follower learns the topic is gone, and says so, while it retries.
	c.Consumer.Return.Errors = true
	c.Consumer.Offsets.Initial = sarama.OffsetNewest
	c.Consumer.MaxWaitTime = 100 * time.Millisecond // a notice is worth its speed, and the fetch is cheap
	const firstBackoff = 500 * time.Millisecond
	backoff := firstBackoff
	for ctx.Err() == nil {
		wasUp, err := follow(ctx, brokers, topic, &c, hooks, fn)
		if hooks.Up != nil {
			hooks.Up(false)
		}
		if ctx.Err() != nil {
			return
		}
		if wasUp {
			backoff = firstBackoff
		}
		log.Warn("notice topic unavailable; feeds rely on their safety poll until it is back", "topic", topic, "err", err, "retry", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 15*time.Second)
	}
}

// follow reads every partition until ctx ends or one of them stops or fails; it says
// whether it read them all for a while.
func follow(ctx context.Context, brokers []string, topic string, cfg *sarama.Config, hooks FollowHooks, fn func(Notice)) (bool, error) {
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		return false, err
	}
	defer func() { _ = client.Close() }()
	parts, err := client.Partitions(topic)
	if err != nil {
		return false, err
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return false, err
	}
	defer func() { _ = consumer.Close() }()
	var pcs []sarama.PartitionConsumer
	for _, p := range parts {
		pc, err := consumer.ConsumePartition(topic, p, sarama.OffsetNewest)
		if err != nil {
			for _, o := range pcs {
				o.AsyncClose()
			}
			return false, err
		}
		pcs = append(pcs, pc)
	}
	if hooks.Up != nil {
		hooks.Up(true)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopped := make(chan error, len(pcs))
	var wg sync.WaitGroup
	for _, pc := range pcs {
		wg.Go(func() {
			defer pc.AsyncClose()
			for {
				select {
				case <-ctx.Done():
					return
				case e, ok := <-pc.Errors():
					if ok {
						stopped <- e
						return
					}
				case m, ok := <-pc.Messages():
					if !ok {
						stopped <- fmt.Errorf("kafka: a partition of %s stopped", topic)
						return
					}
					var n Notice
					if err := json.Unmarshal(m.Value, &n); err != nil || n.Check() != nil {
						if hooks.Bad != nil {
							hooks.Bad()
						}
						continue
					}
					if hooks.Received != nil {
						hooks.Received()
					}
					fn(n)
				}
			}
		})
	}
	err = nil
	select {
	case <-ctx.Done():
	case err = <-stopped:
	}
	cancel()
	wg.Wait()
	return true, err
}
