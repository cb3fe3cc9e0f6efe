package homepage

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeClock is a time source the test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func addrKey(i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}), 32)
}

// A flood of fresh addresses fills the table. It must not reset a real client's budget by
// evicting it while its budget is spent, nor drop a client holding a stream.
func TestClientTableNeverForgetsAnActiveClient(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	// Refill from empty: 4 sends at 1/s is 4 s.
	c := newClients(Limits{SendsPerSecond: 1, SendBurst: 4, StreamsPerClient: 1, MaxClients: 8}, clock.now)
	victim, watcher := addrKey(60000), addrKey(60001)
	for range 4 {
		if p := c.allowSend(victim); p != nil {
			t.Fatalf("victim's burst refused: %s", p.Detail)
		}
	}
	release, refused := c.openStream(watcher)
	if refused != nil {
		t.Fatal(refused.Detail)
	}
	// The flood: 6 more clients fill the table; everyone after is refused, not tracked.
	accepted, busy := 0, 0
	for i := range 1000 {
		switch p := c.allowSend(addrKey(i)); {
		case p == nil:
			accepted++
		case p.Title == "Too many clients":
			busy++
		default:
			t.Fatalf("flood send %d: %s", i, p.Title)
		}
	}
	t.Logf("flood while every client is active: %d accepted, %d refused as busy, %d tracked", accepted, busy, c.tracking())
	if accepted != 6 || busy != 994 || c.tracking() != 8 {
		t.Fatalf("accepted %d, busy %d, tracked %d; want 6, 994, 8", accepted, busy, c.tracking())
	}
	// The victim's budget is still spent: the flood did not reset it.
	if p := c.allowSend(victim); p == nil || p.Title != "Too many barrages" {
		t.Fatalf("victim after flood: %+v, want Too many barrages", p)
	}

	// Time passes: the flood's clients and the victim are idle (budgets full), so seven
	// new clients take their places; the watcher's stream keeps its entry.
	clock.add(5 * time.Second)
	accepted, busy = 0, 0
	for i := 1000; i < 1100; i++ {
		if p := c.allowSend(addrKey(i)); p == nil {
			accepted++
		} else if p.Title == "Too many clients" {
			busy++
		}
	}
	if accepted != 7 || busy != 93 || c.tracking() != 8 {
		t.Fatalf("after idling: accepted %d, busy %d, tracked %d; want 7, 93, 8", accepted, busy, c.tracking())
	}
	// The watcher holds a stream: never evicted, so its cap still holds.
	if _, refused := c.openStream(watcher); refused == nil || refused.Title != "Too many streams" {
		t.Fatalf("watcher's second stream: %+v, want Too many streams", refused)
	}
	release()
	release() // twice is once
	if _, refused := c.openStream(watcher); refused != nil {
		t.Fatalf("watcher after release: %s", refused.Title)
	}
}

func TestClientTableShrinksWithTime(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := newClients(Limits{SendsPerSecond: 10, SendBurst: 10, MaxClients: 1000}, clock.now)
	for i := range 1000 {
		c.allowSend(addrKey(i))
	}
	clock.add(2 * time.Second)
	// Each call forgets up to two idle clients besides its own.
	for range 600 {
		c.allowSend(addrKey(50000))
	}
	if n := c.tracking(); n != 1 {
		t.Fatalf("%d clients tracked after the others went idle, want 1", n)
	}
}

func TestStreamOpenRate(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := newClients(Limits{StreamOpensPerSec: 1, StreamOpenBurst: 3, MaxClients: 10}, clock.now)
	k := addrKey(1)
	for i := range 3 {
		release, refused := c.openStream(k)
		if refused != nil {
			t.Fatalf("open %d: %s", i, refused.Title)
		}
		release() // closing a stream gives back no open
	}
	_, refused := c.openStream(k)
	if refused == nil || refused.Title != "Too many stream opens" || refused.RetryAfter <= 0 {
		t.Fatalf("fourth open: %+v", refused)
	}
	clock.add(time.Second)
	if _, refused := c.openStream(k); refused != nil {
		t.Fatalf("open after a second: %s", refused.Title)
	}
}
