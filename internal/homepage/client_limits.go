package homepage

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits bound what one client may do. Zero disables a limit.
type Limits struct {
	SendsPerSecond   float64 // sustained barrages per second per client
	SendBurst        int     // barrages a client may send at once
	StreamsPerClient int     // live streams one client may hold open
	ClientIPHeader   string  // header a trusted proxy puts the client address in, such as X-Forwarded-For
}

// clients tracks per-client send budgets and open streams.
type clients struct {
	limits Limits
	mu     sync.Mutex
	send   map[string]*clientBudget
	open   map[string]int
	swept  time.Time
}

type clientBudget struct {
	limiter *rate.Limiter
	seen    time.Time
}

func newClients(l Limits) *clients {
	return &clients{limits: l, send: map[string]*clientBudget{}, open: map[string]int{}}
}

// key identifies the client behind r: the address a trusted proxy reports, else the peer.
func (c *clients) key(r *http.Request) string {
	if h := c.limits.ClientIPHeader; h != "" {
		if v := r.Header.Get(h); v != "" {
			// X-Forwarded-For lists hops; the first is the client as the proxy saw it.
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

// allowSend spends one send from the client's budget; when it is empty it says how long
// until the next one is allowed.
func (c *clients) allowSend(key string) (bool, time.Duration) {
	if c.limits.SendsPerSecond <= 0 {
		return true, 0
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweep(now)
	b := c.send[key]
	if b == nil {
		b = &clientBudget{limiter: rate.NewLimiter(rate.Limit(c.limits.SendsPerSecond), max(c.limits.SendBurst, 1))}
		c.send[key] = b
	}
	b.seen = now
	r := b.limiter.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// sweep forgets clients idle for a minute, so the map does not grow with every address ever seen.
func (c *clients) sweep(now time.Time) {
	if now.Sub(c.swept) < time.Minute {
		return
	}
	c.swept = now
	for k, b := range c.send {
		if now.Sub(b.seen) > time.Minute {
			delete(c.send, k)
		}
	}
}

// openStream counts a stream against the client's cap; release gives it back.
func (c *clients) openStream(key string) (release func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n := c.limits.StreamsPerClient; n > 0 && c.open[key] >= n {
		return nil, false
	}
	c.open[key]++
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.open[key]--; c.open[key] <= 0 {
			delete(c.open, key)
		}
	}, true
}
