package homepage

import (
	"container/list"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/barrage-live/barrage/internal/problem"
)

// Limits bound what one client may do. Zero disables a limit.
type Limits struct {
	SendsPerSecond    float64 // sustained barrages per second per client
	SendBurst         int     // barrages a client may send at once
	StreamsPerClient  int     // live streams one client may hold open
	StreamOpensPerSec float64 // streams a client may open per second
	StreamOpenBurst   int     // streams a client may open at once
	MaxClients        int     // clients tracked at once (50000)
	Addr              ClientAddr
}

// clients holds every tracked client's budgets and open streams, bounded by MaxClients.
//
// Forgetting a client is only safe once forgetting gives it nothing: no stream open and
// every budget full again, so a fresh entry would start where the old one stood. Those
// idle clients are evicted, least recently seen first. When every tracked client is
// active, a new client is refused rather than an active one forgotten: a flood of fresh
// addresses can then keep new clients out for a while, but never resets anyone's budget.
type clients struct {
	limits Limits
	refill time.Duration // how long an untouched budget takes to fill from empty
	now    func() time.Time

	mu    sync.Mutex
	byKey map[netip.Prefix]*client
	idle  list.List // clients with no stream open, most recently seen at the front
}

type client struct {
	key     netip.Prefix
	send    *rate.Limiter // nil when sends are not limited
	opens   *rate.Limiter // nil when stream opens are not limited
	streams int
	seen    time.Time
	elem    *list.Element // in idle while streams == 0
}

func newClients(l Limits, now func() time.Time) *clients {
	if l.MaxClients <= 0 {
		l.MaxClients = 50000
	}
	c := &clients{limits: l, now: now, byKey: map[netip.Prefix]*client{}}
	if l.SendsPerSecond > 0 {
		c.refill = max(c.refill, time.Duration(float64(max(l.SendBurst, 1))/l.SendsPerSecond*float64(time.Second)))
	}
	if l.StreamOpensPerSec > 0 {
		c.refill = max(c.refill, time.Duration(float64(max(l.StreamOpenBurst, 1))/l.StreamOpensPerSec*float64(time.Second)))
	}
	return c
}

func (c *clients) key(r *http.Request) netip.Prefix { return c.limits.Addr.clientKey(r) }

// tracking is the number of clients held, for tests and metrics.
func (c *clients) tracking() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey)
}

// tooMany is a 429 of the catalogue's key.
func tooMany(key string, wait time.Duration) *problem.Details {
	d := problem.New(http.StatusTooManyRequests, key)
	d.RetryAfter = wait
	return &d
}

// busy is the answer when every tracked client is active and a new one arrives.
func (c *clients) busy() *problem.Details {
	return tooMany("tooManyClients", max(c.refill, time.Second))
}

// get finds or makes key's entry, touching it. c.mu is held. Each call also forgets up to
// two clients that have been idle long enough, so the table shrinks after a flood.
func (c *clients) get(key netip.Prefix, now time.Time) (*client, bool) {
	for range 2 {
		if !c.evictIdle(now) {
			break
		}
	}
	if cl := c.byKey[key]; cl != nil {
		cl.seen = now
		if cl.elem != nil {
			c.idle.MoveToFront(cl.elem)
		}
		return cl, true
	}
	if len(c.byKey) >= c.limits.MaxClients && !c.evictIdle(now) {
		return nil, false
	}
	cl := &client{key: key, seen: now}
	if l := c.limits; l.SendsPerSecond > 0 {
		cl.send = rate.NewLimiter(rate.Limit(l.SendsPerSecond), max(l.SendBurst, 1))
	}
	if l := c.limits; l.StreamOpensPerSec > 0 {
		cl.opens = rate.NewLimiter(rate.Limit(l.StreamOpensPerSec), max(l.StreamOpenBurst, 1))
	}
	cl.elem = c.idle.PushFront(cl)
	c.byKey[key] = cl
	return cl, true
}

// evictIdle forgets the least recently seen client when it is idle. A client untouched
// for the refill time has full budgets (tokens are never spent below zero), and the list
// is in order of touch, so when the last one is not idle none is.
func (c *clients) evictIdle(now time.Time) bool {
	e := c.idle.Back()
	if e == nil {
		return false
	}
	cl := e.Value.(*client)
	if now.Sub(cl.seen) < c.refill {
		return false
	}
	c.idle.Remove(e)
	delete(c.byKey, cl.key)
	return true
}

// allowSend spends one send from the client's budget, or says why not.
func (c *clients) allowSend(key netip.Prefix) *problem.Details {
	if c.limits.SendsPerSecond <= 0 {
		return nil
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.get(key, now)
	if !ok {
		return c.busy()
	}
	if wait := spend(cl.send, now); wait > 0 {
		return tooMany("tooManyBarrages", wait)
	}
	return nil
}

// openStream counts a stream against the client's open rate and cap; release gives it back.
func (c *clients) openStream(key netip.Prefix) (release func(), refused *problem.Details) {
	l := c.limits
	if l.StreamsPerClient <= 0 && l.StreamOpensPerSec <= 0 {
		return func() {}, nil
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	cl, ok := c.get(key, now)
	if !ok {
		return nil, c.busy()
	}
	if n := l.StreamsPerClient; n > 0 && cl.streams >= n {
		return nil, tooMany("tooManyStreams", 5*time.Second)
	}
	if wait := spend(cl.opens, now); wait > 0 {
		return nil, tooMany("tooManyStreamOpens", wait)
	}
	if cl.streams++; cl.elem != nil {
		c.idle.Remove(cl.elem) // a client with a stream open is never forgotten
		cl.elem = nil
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if cl.streams--; cl.streams == 0 {
				cl.seen = c.now()
				cl.elem = c.idle.PushFront(cl)
			}
		})
	}, nil
}

// spend takes one token from l, or says how long until one is there; nil is no limit.
func spend(l *rate.Limiter, now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	r := l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}
