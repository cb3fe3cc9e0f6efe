// Package redrive moves dead letters back into the barrage topic, the recovery step after
// an outage: each record goes back without its dead-letter headers, so the dispatcher and a
// KafkaSource deliver it again as the event it was. It commits its position in a consumer
// group of its own, so it can be stopped and run again; a record redriven twice is stored
// once, because the store write is idempotent by barrage id.
package redrive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/barrage-live/barrage/internal/kafka"
)

// Options bound one run.
type Options struct {
	Brokers []string
	From    string // the dead-letter topic
	To      string // the barrage topic
	Group   string // empty is GroupFor(Room)
	Room    string // only this room's records; empty is every room
	Max     int64  // stop after redriving this many; 0 is no limit
	// Follow keeps reading past the end the topic had at the start, for new dead letters,
	// until For passes, Max is reached or ctx ends.
	Follow   bool
	For      time.Duration // longest the run may last; 0 is no limit
	Progress time.Duration // between progress lines; 0 is one a second
}

// Totals are what one run did.
type Totals struct {
	Read, Redriven, Skipped int64
	Elapsed                 time.Duration
}

// GroupFor is the default consumer group: one per room filter, so a filtered run marks
// the other rooms' records read in its own group only, and they stay redrivable by an
// unfiltered run or another room's.
func GroupFor(room string) string {
	if room == "" {
		return "barrage-redrive"
	}
	return "barrage-redrive-room-" + room
}

// Run redrives until the run's bound is reached, printing progress to out.
func Run(ctx context.Context, opts Options, cfg *sarama.Config, out io.Writer) (Totals, error) {
	if len(opts.Brokers) == 0 || opts.From == "" || opts.To == "" {
		return Totals{}, errors.New("redrive: brokers and both topics are required")
	}
	if opts.From == opts.To {
		return Totals{}, fmt.Errorf("redrive: the dead-letter topic and the barrage topic are both %q", opts.From)
	}
	if opts.Group == "" {
		opts.Group = GroupFor(opts.Room)
	}
	if opts.Progress <= 0 {
		opts.Progress = time.Second
	}
	c := *kafka.Durable(cfg)
	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Offsets.AutoCommit.Enable = false // committed after each batch is acknowledged
	c.Consumer.Return.Errors = true

	r := &run{opts: opts, start: time.Now(), done: map[int32]bool{}}
	if opts.Max > 0 {
		r.budget.Store(opts.Max)
	}
	client, err := sarama.NewClient(opts.Brokers, &c)
	if err != nil {
		return Totals{}, fmt.Errorf("redrive: connect to Kafka: %w", err)
	}
	defer client.Close()
	if err := r.readEnds(client); err != nil {
		return Totals{}, err
	}
	producer, err := sarama.NewSyncProducer(opts.Brokers, &c)
	if err != nil {
		return Totals{}, fmt.Errorf("redrive: producer: %w", err)
	}
	defer producer.Close()
	r.producer = producer
	group, err := sarama.NewConsumerGroup(opts.Brokers, opts.Group, &c)
	if err != nil {
		return Totals{}, fmt.Errorf("redrive: consumer group %s: %w", opts.Group, err)
	}
	defer group.Close()
	go func() {
		for err := range group.Errors() {
			fmt.Fprintf(out, "redrive: consumer group: %v\n", err)
		}
	}()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if opts.For > 0 {
		runCtx, cancel = context.WithTimeout(runCtx, opts.For)
		defer cancel()
	}
	r.cancel = cancel
	stopProgress := r.report(out)
	fmt.Fprintf(out, "redrive: %s -> %s, group %s%s\n", opts.From, opts.To, opts.Group, r.describe())
	for runCtx.Err() == nil && !r.finished() {
		err := group.Consume(runCtx, []string{opts.From}, r)
		if r.failed() != nil {
			break
		}
		if err != nil {
			if errors.Is(err, sarama.ErrClosedConsumerGroup) {
				break
			}
			fmt.Fprintf(out, "redrive: consume: %v\n", err)
			select {
			case <-runCtx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	stopProgress()
	t := r.totals()
	fmt.Fprintf(out, "redrive: done: read %d, redriven %d, skipped %d in %s (%.0f read/s)\n",
		t.Read, t.Redriven, t.Skipped, t.Elapsed.Round(time.Millisecond), perSecond(t.Read, t.Elapsed))
	return t, r.failed()
}

// run is one redrive's state, shared by the partitions it consumes.
type run struct {
	opts     Options
	producer sarama.SyncProducer
	start    time.Time
	cancel   context.CancelFunc

	read, redriven, skipped atomic.Int64
	budget                  atomic.Int64 // redrives left when Max is set

	mu     sync.Mutex
	ends   map[int32]int64 // each partition's end at the start; nil when following
	oldest map[int32]int64 // each partition's first offset at the start
	done   map[int32]bool
	err    error
}

func (r *run) describe() string {
	var b strings.Builder
	if r.opts.Room != "" {
		fmt.Fprintf(&b, ", room %q", r.opts.Room)
	}
	if r.opts.Max > 0 {
		fmt.Fprintf(&b, ", at most %d", r.opts.Max)
	}
	if r.opts.For > 0 {
		fmt.Fprintf(&b, ", for at most %s", r.opts.For)
	}
	if r.opts.Follow {
		b.WriteString(", following new dead letters")
	} else {
		b.WriteString(", up to the end as of the start")
	}
	return b.String()
}

func (r *run) readEnds(client sarama.Client) error {
	if r.opts.Follow {
		return nil
	}
	parts, err := client.Partitions(r.opts.From)
	if err != nil {
		return fmt.Errorf("redrive: partitions of %s: %w", r.opts.From, err)
	}
	r.ends, r.oldest = map[int32]int64{}, map[int32]int64{}
	for _, p := range parts {
		end, err := client.GetOffset(r.opts.From, p, sarama.OffsetNewest)
		if err != nil {
			return fmt.Errorf("redrive: end of %s/%d: %w", r.opts.From, p, err)
		}
		oldest, err := client.GetOffset(r.opts.From, p, sarama.OffsetOldest)
		if err != nil {
			return fmt.Errorf("redrive: start of %s/%d: %w", r.opts.From, p, err)
		}
		r.ends[p], r.oldest[p] = end, oldest
	}
	return nil
}

// end is where partition p's run stops, or -1 when following.
func (r *run) end(p int32) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ends == nil {
		return -1
	}
	if e, ok := r.ends[p]; ok {
		return e
	}
	return 0 // a partition added since the start has nothing from before it
}

// first is where partition p is read from: the group's position, or for a group with none
// yet (sarama reports OffsetOldest) the partition's first offset.
func (r *run) first(p int32, initial int64) int64 {
	if initial >= 0 {
		return initial
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.oldest[p]
}

func (r *run) markDone(p int32) {
	r.mu.Lock()
	r.done[p] = true
	all := r.ends != nil && len(r.done) >= len(r.ends)
	r.mu.Unlock()
	if all {
		r.cancel()
	}
}

func (r *run) finished() bool {
	if r.opts.Max > 0 && r.budget.Load() <= 0 {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ends != nil && len(r.done) >= len(r.ends)
}

func (r *run) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
	r.cancel()
}

func (r *run) failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *run) totals() Totals {
	return Totals{Read: r.read.Load(), Redriven: r.redriven.Load(), Skipped: r.skipped.Load(), Elapsed: time.Since(r.start)}
}

// report prints a progress line each interval until the returned func is called.
func (r *run) report(out io.Writer) func() {
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(r.opts.Progress)
		defer tick.Stop()
		last, lastAt := int64(0), time.Now()
		for {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				t := r.totals()
				fmt.Fprintf(out, "redrive: read %d, redriven %d, skipped %d, %.0f read/s\n",
					t.Read, t.Redriven, t.Skipped, perSecond(t.Read-last, now.Sub(lastAt)))
				last, lastAt = t.Read, now
			}
		}
	}()
	return func() { close(stop); <-stopped }
}

func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
