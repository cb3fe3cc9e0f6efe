package homepage

import (
	"net/http"
	"net/netip"
	"time"

	"github.com/barrage-live/barrage/internal/problem"
)

// muted is the 403 of a client an operator muted in room: it says until when, and how
// many seconds are left.
func (s *Server) muted(room string, client netip.Prefix) *problem.Details {
	if s.mod == nil {
		return nil
	}
	now := s.now()
	m, ok := s.mod.Book.Muted(room, s.senderOf(client), now)
	if !ok {
		return nil
	}
	left := secondsLeft(m.Until, now)
	d := problem.New(http.StatusForbidden, "muted", m.Until.UTC().Format(time.RFC3339), left)
	d.Until, d.SecondsLeft = m.Until.UTC(), left
	return &d
}

// slowDown is the 429 of a send that comes sooner than the room's slow mode allows. When
// the send may go, undo gives its slot back should it fail after all.
func (s *Server) slowDown(room string, client netip.Prefix) (undo func(), refused *problem.Details) {
	nothing := func() {}
	if s.mod == nil || !client.IsValid() {
		return nothing, nil
	}
	interval := s.mod.Book.Rules(room).SlowMode
	if interval <= 0 {
		return nothing, nil
	}
	now := s.now()
	wait, undo := s.slow.take(room, client, interval, now)
	if wait > 0 {
		left := secondsLeft(now.Add(wait), now)
		d := problem.New(http.StatusTooManyRequests, "slowMode", int64(interval/time.Second), left)
		d.RetryAfter, d.SecondsLeft, d.Until = wait, left, now.Add(wait).UTC()
		return nil, &d
	}
	return undo, nil
}
