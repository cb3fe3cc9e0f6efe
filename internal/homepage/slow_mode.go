package homepage

import (
	"net/netip"
	"sync"
	"time"
)

// slowMode remembers, for each client who sent to a room with slow mode on, when it may
// send there again. It holds at most max entries: past that, the entries whose wait is
// over go, and if none is, a new client is refused until one is, so a stranger with many
// addresses cannot flush the table to let everyone send early.
type slowMode struct {
	mu    sync.Mutex
	until map[slowKey]time.Time
	max   int
}

type slowKey struct {
	room   string
	client netip.Prefix
}

func newSlowMode(max int) *slowMode {
	if max <= 0 {
		max = 50000
	}
	return &slowMode{until: map[slowKey]time.Time{}, max: max}
}

// take reports how long client must still wait to send to room under interval; when it
// need not, its send is counted from now, and undo gives the slot back.
func (s *slowMode) take(room string, client netip.Prefix, interval time.Duration, now time.Time) (wait time.Duration, undo func()) {
	k := slowKey{room, client}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, had := s.until[k]
	if had && now.Before(prev) {
		return prev.Sub(now), nil
	}
	if !had && len(s.until) >= s.max {
		for key, until := range s.until {
			if !now.Before(until) {
				delete(s.until, key)
			}
		}
		if len(s.until) >= s.max {
			return interval, nil
		}
	}
	s.until[k] = now.Add(interval)
	return 0, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if had {
			s.until[k] = prev
		} else {
			delete(s.until, k)
		}
	}
}
