package redrive

import (
	"fmt"

	"github.com/IBM/sarama"
)

// maxBatch is the most records one produce-and-commit round carries.
const maxBatch = 500

// Setup is called by sarama when a session starts.
func (r *run) Setup(sarama.ConsumerGroupSession) error { return nil }

// Cleanup is called by sarama when a session ends.
func (r *run) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim redrives one partition in batches: produce what the batch holds, wait for
// Kafka's acknowledgement, then mark and commit. A run stopped in between produces that
// batch again next time, which the store takes once.
func (r *run) ConsumeClaim(s sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	p := claim.Partition()
	end := r.end(p)
	if end >= 0 && r.first(p, claim.InitialOffset()) >= end {
		return r.idle(s, p)
	}
	batch := make([]*sarama.ConsumerMessage, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case m, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			batch = append(batch, m)
		case <-s.Context().Done():
			return nil
		}
	more:
		for len(batch) < maxBatch {
			select {
			case m, ok := <-claim.Messages():
				if !ok {
					break more
				}
				batch = append(batch, m)
			default:
				break more
			}
		}
		last, stop, err := r.redrive(batch, end)
		if err != nil {
			r.fail(err)
			return nil
		}
		if last != nil {
			s.MarkMessage(last, "")
			s.Commit()
		}
		if stop {
			r.cancel()
			return nil
		}
		if end >= 0 && batch[len(batch)-1].Offset+1 >= end {
			return r.idle(s, p)
		}
	}
}

// idle marks partition p done and waits for the session to end: sarama ends a session as
// soon as any one claim returns, which would cut the other partitions short.
func (r *run) idle(s sarama.ConsumerGroupSession, p int32) error {
	r.markDone(p)
	<-s.Context().Done()
	return nil
}

// redrive produces the batch's records that pass the filter, up to end and the budget,
// and returns the last record handled, to be committed, and whether the budget ran out.
func (r *run) redrive(batch []*sarama.ConsumerMessage, end int64) (*sarama.ConsumerMessage, bool, error) {
	var (
		last  *sarama.ConsumerMessage
		msgs  []*sarama.ProducerMessage
		stop  bool
		skips int64
	)
	for _, m := range batch {
		if end >= 0 && m.Offset >= end {
			break
		}
		if r.opts.Room != "" && RoomOf(m) != r.opts.Room {
			skips++
			last = m
			continue
		}
		if r.opts.Max > 0 && r.budget.Add(-1) < 0 {
			stop = true
			break
		}
		msgs = append(msgs, Redriven(m, r.opts.To))
		last = m
	}
	if len(msgs) > 0 {
		if err := r.producer.SendMessages(msgs); err != nil {
			return nil, false, fmt.Errorf("redrive: produce to %s: %w", r.opts.To, err)
		}
	}
	r.read.Add(int64(len(msgs)) + skips)
	r.redriven.Add(int64(len(msgs)))
	r.skipped.Add(skips)
	if r.opts.Max > 0 && r.budget.Load() <= 0 {
		stop = true
	}
	return last, stop, nil
}
