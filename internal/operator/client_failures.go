package operator

import (
	"net"
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// client identifies the sender of r: by the HomePage's notion of a client when given, so
// a forged header buys no fresh tries, else by the peer's host.
func (g *Guard) client(r *http.Request) string {
	if g.opts.ClientKey != nil {
		return g.opts.ClientKey(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// blocked reports whether client has no wrong tries left, and how long until it has one.
func (g *Guard) blocked(client string) (time.Duration, bool) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.failures[client]
	if f == nil {
		return 0, false
	}
	if f.limiter.TokensAt(now) >= 1 {
		return 0, false
	}
	r := f.limiter.ReserveN(now, 1)
	wait := r.DelayFrom(now)
	r.CancelAt(now)
	return max(wait, time.Second), true
}

// fail spends one of client's wrong tries.
func (g *Guard) fail(client string) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sweep(now)
	f := g.failures[client]
	if f == nil {
		if len(g.failures) >= maxTracked {
			g.forgetOldest()
		}
		f = &failures{limiter: rate.NewLimiter(rate.Every(failureEvery), failureBurst)}
		g.failures[client] = f
	}
	f.seen = now
	f.limiter.AllowN(now, 1)
}

// maxTracked bounds the clients with wrong tries on record, so addresses without end
// cannot grow the map; past it the longest quiet one is forgotten.
const maxTracked = 10000

func (g *Guard) forgetOldest() {
	var oldest string
	var at time.Time
	for k, f := range g.failures {
		if oldest == "" || f.seen.Before(at) {
			oldest, at = k, f.seen
		}
	}
	delete(g.failures, oldest)
}

// sweep forgets clients whose tries are all back, so the map does not keep every address
// that ever sent a wrong token.
func (g *Guard) sweep(now time.Time) {
	if now.Sub(g.swept) < time.Minute {
		return
	}
	g.swept = now
	refill := failureEvery * failureBurst
	for k, f := range g.failures {
		if now.Sub(f.seen) > refill {
			delete(g.failures, k)
		}
	}
}
