package homepage

import (
	"net/netip"
	"testing"
	"time"
)

// TestSlowModeTableIsNotFlushedByStrangers: a full table keeps every client whose wait is
// still running; a new client is refused until a wait ends, and then takes its place.
func TestSlowModeTableIsNotFlushedByStrangers(t *testing.T) {
	s := newSlowMode(2)
	now := time.Unix(1_000_000, 0)
	a, b, c := netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("192.0.2.2/32"), netip.MustParsePrefix("192.0.2.3/32")
	const interval = 10 * time.Second
	for _, p := range []netip.Prefix{a, b} {
		if wait, _ := s.take("room", p, interval, now); wait != 0 {
			t.Fatalf("%v waits %v on its first send", p, wait)
		}
	}
	if wait, _ := s.take("room", c, interval, now.Add(time.Second)); wait == 0 {
		t.Fatal("a third client was let in while the table of two was full of running waits")
	}
	if wait, _ := s.take("room", a, interval, now.Add(time.Second)); wait != 9*time.Second {
		t.Fatalf("a sends again after 1 s and waits %v, want 9s: its entry was dropped", wait)
	}
	at := now.Add(interval)
	if wait, _ := s.take("room", c, interval, at); wait != 0 {
		t.Fatalf("once the waits ended the third client still waits %v", wait)
	}
	if wait, _ := s.take("room", c, interval, at.Add(time.Second)); wait != 9*time.Second {
		t.Fatalf("the third client's own send was not counted: wait %v", wait)
	}
}
