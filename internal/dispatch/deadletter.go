package dispatch

import (
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
)

var errDeadLettersClosed = errors.New("dispatch: dead letter producer closed")

// deadLetters guards the dead letter producer: sarama's SendMessage on a closed producer
// panics, so a send holds the lock for reading and close waits for it.
type deadLetters struct {
	mu     sync.RWMutex
	p      sarama.SyncProducer
	closed bool
}

func (l *deadLetters) open(p sarama.SyncProducer) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errDeadLettersClosed
	}
	if l.p != nil {
		return errors.New("dispatch: already running")
	}
	l.p = p
	return nil
}

func (l *deadLetters) send(m *sarama.ProducerMessage) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed || l.p == nil {
		return errDeadLettersClosed
	}
	if _, _, err := l.p.SendMessage(m); err != nil {
		return fmt.Errorf("dispatch: dead letter: %w", err)
	}
	return nil
}

func (l *deadLetters) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.p == nil {
		return nil
	}
	if err := l.p.Close(); err != nil {
		return fmt.Errorf("dispatch: close dead letter producer: %w", err)
	}
	return nil
}
