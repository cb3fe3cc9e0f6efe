package live

import (
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// stall opens a stream over a socket with a small receive buffer and never reads it.
func stall(t *testing.T, url string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
		if err != nil {
			return err
		}
		return serr
	}}
	addr, path, _ := strings.Cut(strings.TrimPrefix(url, "http://"), "/")
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET /%s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	return conn
}

func (h *Hub) viewersOf(room string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.feeds[room]
	if f == nil {
		return 0
	}
	n := 0
	for _, s := range f.shards {
		n += s.group.Len()
	}
	return n
}

// TestStalledViewersAreEvicted: viewers who never read, on the shards of healthy ones,
// are evicted once their queues fill, and the healthy viewers get every barrage once
// meanwhile. The write timeout is an hour, so a fan-out that waited on a viewer's socket
// would hold up the healthy viewers for longer than the test's deadline.
func TestStalledViewersAreEvicted(t *testing.T) {
	for _, tc := range []struct {
		name             string
		healthy, stalled int
	}{
		{name: "one stalled", healthy: 4, stalled: 1},
		{name: "as many stalled as healthy, on three shards", healthy: 10, stalled: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &memSource{}
			var evictions atomic.Int64
			hub, srv := newTestHub(t, src, Options{PollInterval: 5 * time.Millisecond, WriteTimeout: time.Hour, QueueLen: 16, ShardSize: 8},
				Hooks{Evicted: func(string) { evictions.Add(1) }})
			var healthy []*viewer
			for range tc.healthy {
				healthy = append(healthy, watch(t, srv.URL+"/room", ""))
			}
			waitFor(t, "healthy viewers", func() bool { return hub.viewersOf("room") == tc.healthy })
			runtime.GC()
			goroutines := runtime.NumGoroutine()
			for range tc.stalled {
				stall(t, srv.URL+"/room")
			}
			waitFor(t, "stalled viewers", func() bool { return hub.viewersOf("room") == tc.healthy+tc.stalled })

			var want []string
			text := strings.Repeat("弾", 90) // big events fill the stalled sockets sooner
			deadline := time.Now().Add(60 * time.Second)
			for evictions.Load() < int64(tc.stalled) {
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d stalled viewers evicted", evictions.Load(), tc.stalled)
				}
				want = append(want, src.addText("room", 20, text)...)
				hub.Notify("room")
				time.Sleep(2 * time.Millisecond)
			}
			for i, v := range healthy {
				waitFor(t, fmt.Sprintf("healthy viewer %d to get all %d", i, len(want)), func() bool { ids, _ := v.snapshot(); return len(ids) >= len(want) })
				ids, _ := v.snapshot()
				exactlyOnce(t, ids, want)
			}
			// The evicted are out of their shards and their writers have ended.
			if n := hub.viewersOf("room"); n != tc.healthy {
				t.Fatalf("%d viewers in the shards after eviction, want %d", n, tc.healthy)
			}
			waitFor(t, "the evicted viewers' goroutines to end", func() bool { return runtime.NumGoroutine() <= goroutines })
		})
	}
}
