package operator

import (
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// client identifies the sender of r: the address a trusted proxy reports, else the peer.
func (g *Guard) client(r *http.Request) string {
	if h := g.opts.ClientIPHeader; h != "" {
		if v := r.Header.Get(h); v != "" {
			first, _, _ := strings.Cut(v, ",")
			return strings.TrimSpace(first)
		}
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
		f = &failures{limiter: rate.NewLimiter(rate.Every(failureEvery), failureBurst)}
		g.failures[client] = f
	}
	f.seen = now
	f.limiter.AllowN(now, 1)
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
