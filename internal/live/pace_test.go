package live

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/live/stream"
	"github.com/barrage-live/barrage/internal/store"
)

func TestPaceBacksOffOnlyWhileFollowing(t *testing.T) {
	p := newPace(time.Second)
	if got := p.next(time.Second); got != time.Second {
		t.Fatalf("not following: next wait %v, want the interval", got)
	}
	p.following(true)
	var waits []time.Duration
	for w := time.Second; len(waits) < 4; {
		w = p.next(w)
		waits = append(waits, w)
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 4 * time.Second, 4 * time.Second}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	hurried := p.hurried()
	p.following(false)
	select {
	case <-hurried:
	default:
		t.Fatal("losing the notice topic did not hurry the feeds")
	}
	if got := p.next(4 * time.Second); got != time.Second {
		t.Fatalf("after the topic went down: next wait %v, want the interval", got)
	}
}

func TestPaceWakesAtMostOnceAnInterval(t *testing.T) {
	p := newPace(time.Hour)
	first := p.hurried()
	p.wake()
	second := p.hurried()
	p.wake()
	select {
	case <-first:
	default:
		t.Fatal("the first miss did not hurry the feeds")
	}
	select {
	case <-second:
		t.Fatal("a second miss within the interval hurried the feeds again")
	default:
	}
}

// timedSource records when each room was read.
type timedSource struct {
	*memSource
	mu    sync.Mutex
	reads map[string][]time.Time
}

func (s *timedSource) After(ctx context.Context, room string, after store.Cursor, limit int) ([]store.Record, error) {
	s.mu.Lock()
	s.reads[room] = append(s.reads[room], time.Now())
	s.mu.Unlock()
	return s.memSource.After(ctx, room, after, limit)
}

func (s *timedSource) readsOf(room string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.reads[room]...)
}

// lastGap is the time between the room's last two reads, once it has n reads.
func (s *timedSource) lastGap(room string, n int) (time.Duration, bool) {
	r := s.readsOf(room)
	if len(r) < n || len(r) < 2 {
		return 0, false
	}
	return r[len(r)-1].Sub(r[len(r)-2]), true
}

// TestQuietRoomsPollLessUntilANoticeIsLost: while the notice topic is followed, a quiet
// room's safety poll backs off to four intervals. A row that a notice never showed, found
// in another room, brings it back to the interval at once, and so does losing the topic.
func TestQuietRoomsPollLessUntilANoticeIsLost(t *testing.T) {
	const base = 500 * time.Millisecond
	src := &timedSource{memSource: &memSource{}, reads: map[string][]time.Time{}}
	hub, srv := newTestHub(t, src, Options{PollInterval: base}, Hooks{})
	hub.Following(true)
	va := watch(t, srv.URL+"/a", "")
	watch(t, srv.URL+"/b", "")

	// Reads of b at about 1, 3, 7 and 11 intervals: the last gap is the cap.
	backedOff := func(after int) {
		t.Helper()
		waitFor(t, "b's polls to back off", func() bool {
			gap, ok := src.lastGap("b", after)
			return ok && gap > 3*base
		})
	}
	backedOff(4)

	// Right after a read of b: a row of a with no notice, then one with a notice. a's
	// settling read finds the first unnoticed, and b is polled within an interval, not four.
	since := time.Now()
	readsOfB := len(src.readsOf("b"))
	lost := src.add("a", 1)
	noticed := src.add("a", 1)
	src.mu.Lock()
	hub.Notice("a", src.rows[len(src.rows)-1:])
	src.mu.Unlock()
	waitFor(t, "a's viewer to get both rows", func() bool { ids, _ := va.snapshot(); return len(ids) == 2 })
	ids, _ := va.snapshot()
	exactlyOnce(t, ids, append(lost, noticed...))
	waitFor(t, "b's next poll", func() bool { return len(src.readsOf("b")) > readsOfB })
	if took := src.readsOf("b")[readsOfB].Sub(since); took > 3*base {
		t.Fatalf("b was read %v after a lost notice was found, as if still backed off (interval %v)", took, base)
	}

	// Backed off again, then the topic is lost: every poll of b is an interval apart.
	backedOff(readsOfB + 4)
	since = time.Now()
	readsOfB = len(src.readsOf("b"))
	hub.Following(false)
	waitFor(t, "three more polls of b", func() bool { return len(src.readsOf("b")) >= readsOfB+3 })
	reads := src.readsOf("b")
	prev := since
	for i, at := range reads[readsOfB : readsOfB+3] {
		if gap := at.Sub(prev); gap > 3*base {
			t.Fatalf("poll %d of b came %v after the one before with the topic down (interval %v)", i+1, gap, base)
		}
		prev = at
	}
}

// TestJitterStaysWithinATenth: polls are spread over ±10% of their wait, never outside it,
// and not all at one point.
func TestJitterStaysWithinATenth(t *testing.T) {
	const d = 5 * time.Second
	seen := map[time.Duration]bool{}
	for range 1000 {
		j := jitter(d)
		if j < d-d/10 || j > d+d/10 {
			t.Fatalf("jitter(%v) = %v, outside ±10%%", d, j)
		}
		seen[j] = true
	}
	if len(seen) < 100 {
		t.Fatalf("1,000 waits took only %d values", len(seen))
	}
}

// TestHeldRowsAreNotLost: a notice with more rows than a position holds shows what it can
// early; the rest are shown when the store settles them, and are not counted as lost,
// which would keep every room of the instance from backing off.
func TestHeldRowsAreNotLost(t *testing.T) {
	src := &memSource{}
	var lost atomic.Int64
	hub, srv := newTestHub(t, src, Options{PollInterval: time.Hour, SettleDelay: 100 * time.Millisecond},
		Hooks{Unnoticed: func(_ string, n int) { lost.Add(int64(n)) }})
	v := watch(t, srv.URL+"/r", "")
	waitFor(t, "the feed", func() bool { return hub.Rooms() == 1 })
	const n = stream.MaxAhead + 8
	ids := src.add("r", n)
	src.mu.Lock()
	hub.Notice("r", slices.Clone(src.rows[len(src.rows)-n:]))
	src.mu.Unlock()
	waitFor(t, "every row", func() bool { got, _ := v.snapshot(); return len(got) >= n })
	got, _ := v.snapshot()
	exactlyOnce(t, got, ids)
	if l := lost.Load(); l != 0 {
		t.Fatalf("%d rows a notice announced were counted as lost", l)
	}
}
