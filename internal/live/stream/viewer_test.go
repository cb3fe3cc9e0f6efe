package stream

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/store"
)

// stuckSocket is a socket whose buffer is full until a write deadline in the past cuts the
// blocked write short; that write then reports `written` bytes, and the socket has room.
type stuckSocket struct {
	written int
	mu      sync.Mutex
	blocked bool
	cut     chan struct{}
	out     bytes.Buffer
}

func (s *stuckSocket) Write(p []byte) (int, error) {
	s.mu.Lock()
	if !s.blocked {
		s.blocked = true
		s.mu.Unlock()
		<-s.cut
		return s.written, os.ErrDeadlineExceeded
	}
	defer s.mu.Unlock()
	return s.out.Write(p)
}

func (s *stuckSocket) SetWriteDeadline(t time.Time) error {
	if time.Until(t) < 0 {
		select {
		case <-s.cut:
		default:
			close(s.cut)
		}
	}
	return nil
}

func (s *stuckSocket) Close() error { return nil }

func (s *stuckSocket) isBlocked() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blocked
}

// TestFullQueueEvictsAndSaysGoodbye: a viewer whose writer is stuck is evicted by the
// publish that finds their queue full, without that publish waiting; when the stuck write
// had sent nothing, the stream is still on an event boundary and they get a last event
// naming the cursor they resume from; after a partial write they get nothing more.
func TestFullQueueEvictsAndSaysGoodbye(t *testing.T) {
	for _, tc := range []struct {
		name     string
		written  int
		farewell bool
	}{
		{name: "stuck before its first byte", written: 0, farewell: true},
		{name: "stuck mid-event", written: 5, farewell: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := &Options{QueueLen: 4}
			opts.Defaults()
			sock := &stuckSocket{written: tc.written, cut: make(chan struct{})}
			evicted := make(chan struct{})
			v := newViewer(opts, sock, func() { close(evicted) })
			v.pos = Position{Cursor: "0001"}
			g := NewGroup("0001")
			g.join(v)
			ended := make(chan struct{})
			go func() { defer close(ended); v.drain(); v.farewell() }()

			first, _ := Batch([]store.Record{{Cursor: "0002"}})
			g.Publish(first)
			deadline := time.Now().Add(10 * time.Second)
			for !sock.isBlocked() {
				if time.Now().After(deadline) {
					t.Fatal("the writer never wrote")
				}
				time.Sleep(time.Millisecond)
			}
			for i := range opts.QueueLen + 1 {
				f, _ := Batch([]store.Record{{Cursor: store.Cursor("001" + string(rune('0'+i)))}})
				g.Publish(f) // returns at once: the writer is stuck, not the publisher
			}
			select {
			case <-evicted:
			case <-time.After(10 * time.Second):
				t.Fatal("a full queue did not evict")
			}
			<-ended
			if n := g.Len(); n != 0 {
				t.Fatalf("%d viewers left in the group", n)
			}
			sock.mu.Lock()
			got := sock.out.String()
			sock.mu.Unlock()
			if has := strings.Contains(got, "event: evicted") && strings.Contains(got, `"lastEventId":"0001"`); has != tc.farewell {
				t.Fatalf("farewell %v, want %v; wrote %q", has, tc.farewell, got)
			}
		})
	}
}
