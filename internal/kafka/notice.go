package kafka

import (
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// Notice is what the processor tells every HomePage after a durable write: the room and
// the records it stored there, already moderated, with their cursors.
//
// A notice with Moderation set carries no records: an operator acted on the room, and
// each HomePage reads what was done from the store, which alone is trusted for it.
type Notice struct {
	Room       string         `json:"room"`
	Records    []store.Record `json:"records,omitempty"`
	Moderation bool           `json:"moderation,omitempty"`
}

// maxCursorLen bounds a cursor in a notice: a store's is a 16-digit seq and an id.
const maxCursorLen = 16 + barrage.MaxIDLength

// Check refuses a notice the processor could not have sent. Its records are shown to
// viewers as they are, so one with a malformed field must not reach them.
func (n Notice) Check() error {
	if err := barrage.ValidRoom(n.Room); err != nil {
		return fmt.Errorf("kafka: notice: %w", err)
	}
	if n.Moderation {
		if len(n.Records) > 0 {
			return fmt.Errorf("kafka: moderation notice for %s holds records", n.Room)
		}
		return nil
	}
	if len(n.Records) == 0 || len(n.Records) > store.MaxBatch {
		return fmt.Errorf("kafka: notice for %s holds %d records, want 1 to %d", n.Room, len(n.Records), store.MaxBatch)
	}
	for _, r := range n.Records {
		if r.Room != n.Room {
			return fmt.Errorf("kafka: notice for %s holds a record of %s", n.Room, r.Room)
		}
		if err := r.Validate(); err != nil {
			return fmt.Errorf("kafka: notice for %s: %w", n.Room, err)
		}
		if len(r.Cursor) == 0 || len(r.Cursor) > maxCursorLen || !cursorChars(string(r.Cursor)) {
			return fmt.Errorf("kafka: notice for %s: cursor %q is not one a store gives", n.Room, r.Cursor)
		}
	}
	return nil
}

// cursorChars reports whether c holds only what store cursors are made of: hex digits
// and id characters (letters, digits, '-' and '_').
func cursorChars(c string) bool {
	for i := range len(c) {
		b := c[i]
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '-' || b == '_') {
			return false
		}
	}
	return true
}

// NoticeHooks count what becomes of notices; any may be nil.
type NoticeHooks struct {
	Sent   func() // Kafka acknowledged a notice
	Failed func() // a notice was dropped: Kafka refused it or the producer was full
}

// NoticeProducer sends notices without ever holding up the write they follow: a notice
// that cannot be sent is dropped and counted, and the feeds' safety poll finds its
// barrages in the store. So it is not Durable: a notice repeated or lost costs nothing
// but early display, and waiting on every in-sync replica would only delay it.
type NoticeProducer struct {
	async sarama.AsyncProducer
	topic string
	hooks NoticeHooks
	done  sync.WaitGroup
	// queue holds notices for the producer's input, which takes one only when its loop is
	// ready: a full queue drops the notice rather than wait.
	queue  chan *sarama.ProducerMessage
	handed chan struct{}

	mu     sync.RWMutex // held for reading while a notice goes in, for writing by Close
	closed bool
}

// noticeQueue is how many notices may wait for the producer.
const noticeQueue = 1024

// NewNoticeProducer connects to brokers. cfg comes from NewConfig.
func NewNoticeProducer(brokers []string, topic string, cfg *sarama.Config, hooks NoticeHooks) (*NoticeProducer, error) {
	c := *cfg
	c.Producer.RequiredAcks = sarama.WaitForLocal
	c.Producer.Retry.Max = 2
	c.Producer.Retry.Backoff = 50 * time.Millisecond
	c.Producer.Timeout = 2 * time.Second
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Flush.Frequency = 0
	async, err := sarama.NewAsyncProducer(brokers, &c)
	if err != nil {
		return nil, fmt.Errorf("kafka: notice producer: %w: %w", ErrUnavailable, err)
	}
	p := &NoticeProducer{async: async, topic: topic, hooks: hooks,
		queue: make(chan *sarama.ProducerMessage, noticeQueue), handed: make(chan struct{})}
	go func() {
		defer close(p.handed)
		for m := range p.queue {
			async.Input() <- m
		}
	}()
	p.done.Add(2)
	go func() {
		defer p.done.Done()
		for range async.Successes() {
			if hooks.Sent != nil {
				hooks.Sent()
			}
		}
	}()
	go func() {
		defer p.done.Done()
		for range async.Errors() {
			if hooks.Failed != nil {
				hooks.Failed()
			}
		}
	}()
	return p, nil
}

// Notice sends what a write stored in room, keyed by room. It never blocks.
func (p *NoticeProducer) Notice(room string, recs []store.Record) {
	p.send(Notice{Room: room, Records: recs})
}

// Moderated tells every HomePage that an operator acted on room. It never blocks.
func (p *NoticeProducer) Moderated(room string) { p.send(Notice{Room: room, Moderation: true}) }

func (p *NoticeProducer) send(n Notice) {
	room := n.Room
	value, err := json.Marshal(n)
	if err == nil {
		p.mu.RLock()
		defer p.mu.RUnlock()
		if !p.closed {
			select {
			case p.queue <- &sarama.ProducerMessage{Topic: p.topic, Key: sarama.StringEncoder(room), Value: sarama.ByteEncoder(value)}:
				return
			default: // Kafka is slower than the writes: the poll will do
			}
		}
	}
	if p.hooks.Failed != nil {
		p.hooks.Failed()
	}
}

// Close flushes what is in flight and disconnects; later notices are dropped.
func (p *NoticeProducer) Close() error {
	p.mu.Lock()
	already := p.closed
	p.closed = true
	p.mu.Unlock()
	if already {
		return nil
	}
	close(p.queue)
	<-p.handed
	p.async.AsyncClose()
	p.done.Wait()
	return nil
}
