package homepage

import (
	"net/netip"
	"sync"
	"time"

	"github.com/barrage-live/barrage/internal/moderation"
)

// slowMode remembers when each client last sent to each room with slow mode on. It holds
// at most max entries: past that, entries older than the longest slow mode go, and if
// none are, the map is cleared, which lets a few sends through early rather than refusing
// everyone.
type slowMode struct {
	mu   sync.Mutex
	last map[slowKey]time.Time
	max  int
}

type slowKey struct {
	room   string
	client netip.Prefix
}

func newSlowMode(max int) *slowMode {
	if max <= 0 {
		max = 50000
	}
	return &slowMode{last: map[slowKey]time.Time{}, max: max}
}

// take reports how long client must still wait to send to room under interval; when it
// need not, its send is counted from now, and undo gives the slot back.
func (s *slowMode) take(room string, client netip.Prefix, interval time.Duration, now time.Time) (wait time.Duration, undo func()) {
	k := slowKey{room, client}
	s.mu.Lock()
	defer s.mu.Unlock()
	prev, had := s.last[k]
	if had && now.Sub(prev) < interval {
		return interval - now.Sub(prev), nil
	}
	if !had && len(s.last) >= s.max {
		for key, at := range s.last {
			if now.Sub(at) > moderation.MaxSlowMode {
				delete(s.last, key)
			}
		}
		if len(s.last) >= s.max {
			clear(s.last)
		}
	}
	s.last[k] = now
	return 0, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if had {
			s.last[k] = prev
		} else {
			delete(s.last, k)
		}
	}
}
