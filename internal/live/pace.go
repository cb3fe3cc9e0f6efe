package live

import (
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// quietPollGrowth bounds how far a quiet room's safety poll backs off: up to this many
// poll intervals between reads while the notices are known to arrive.
const quietPollGrowth = 4

// pace is what a hub's feeds share about their safety polls. While the notice topic is
// followed and no feed has found a row that no notice showed, a room whose polls find
// nothing new polls less and less often, so idle rooms cost little. The topic going
// down, or a lost notice found in any room, brings every room back to the poll interval:
// a processor that lost its notices lost them for every room it stored.
type pace struct {
	base  time.Duration
	up    atomic.Bool
	hurry atomic.Pointer[chan struct{}] // closed, and replaced, to bring every feed back to base
	woke  atomic.Int64                  // unix nanoseconds of the last hurry
}

func newPace(base time.Duration) *pace {
	p := &pace{base: base}
	ch := make(chan struct{})
	p.hurry.Store(&ch)
	return p
}

// hurried is closed the next time every feed should return to the poll interval.
func (p *pace) hurried() <-chan struct{} { return *p.hurry.Load() }

// wake brings every feed back to the poll interval, at most once an interval: when misses
// keep coming the feeds are at base already.
func (p *pace) wake() {
	now := time.Now().UnixNano()
	last := p.woke.Load()
	if now-last < int64(p.base) || !p.woke.CompareAndSwap(last, now) {
		return
	}
	ch := make(chan struct{})
	close(*p.hurry.Swap(&ch))
}

// following records whether the notice topic is read; losing it hurries every feed.
func (p *pace) following(up bool) {
	if p.up.Swap(up) && !up {
		p.woke.Store(0)
		p.wake()
	}
}

// next is the wait after a safety poll that followed a wait of last: longer while the
// notices arrive, the poll interval while they do not.
func (p *pace) next(last time.Duration) time.Duration {
	if !p.up.Load() {
		return p.base
	}
	return min(last*2, p.base*quietPollGrowth)
}

// jitter spreads the feeds' polls over ±10% of d, so rooms joined together do not read
// the store together for ever.
func jitter(d time.Duration) time.Duration {
	return d - d/10 + rand.N(d/5+1)
}
