package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// sender sends n barrages to room at about rate per second from workers goroutines. A
// send refused with 503 or 429 is sent again, with the same Idempotency-Key, until it is
// accepted; only a 202 counts as accepted.
type sender struct {
	mu          sync.Mutex
	accepted    map[string]bool
	unavailable atomic.Int64 // 503 answers seen
	retryAfter  atomic.Int64 // of those, how many carried Retry-After
	sent        atomic.Int64 // barrages accepted so far
	wait        func()       // returns once every barrage is accepted
}

func send(t *testing.T, base, room string, n, rate, workers int) *sender {
	t.Helper()
	return sendText(t, base, room, n, rate, workers, "barrage")
}

// sendText is send with a text of one's own before each barrage's number.
func sendText(t *testing.T, base, room string, n, rate, workers int, text string) *sender {
	t.Helper()
	return sendFrom(t, base, room, 0, n, rate, workers, text)
}

// sendFrom is sendText numbering its barrages from first, so that a later round of sends
// to the same room has idempotency keys of its own.
func sendFrom(t *testing.T, base, room string, first, n, rate, workers int, text string) *sender {
	t.Helper()
	s := &sender{accepted: map[string]bool{}}
	jobs := make(chan int)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 30 * time.Second}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				s.sendOne(t, client, base, room, text, i)
			}
		}()
	}
	go func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := range n {
			<-tick.C
			jobs <- first + i
		}
		close(jobs)
	}()
	t.Cleanup(wg.Wait)
	s.wait = wg.Wait
	return s
}

func (s *sender) sendOne(t *testing.T, client *http.Client, base, room, text string, i int) {
	body, _ := json.Marshal(map[string]string{"text": fmt.Sprintf("%s %d", text, i)})
	key := fmt.Sprintf("%s-%d", room, i)
	for attempt := 0; ; attempt++ {
		if attempt > 600 {
			t.Errorf("barrage %d never accepted", i)
			return
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/api/rooms/"+room+"/barrages", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := client.Do(req)
		if err != nil {
			time.Sleep(100 * time.Millisecond) // the HomePage itself may be restarting
			continue
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusAccepted:
			var out struct{ ID string }
			_ = json.Unmarshal(raw, &out)
			s.mu.Lock()
			s.accepted[out.ID] = true
			s.mu.Unlock()
			s.sent.Add(1)
			return
		case http.StatusServiceUnavailable, http.StatusTooManyRequests:
			s.unavailable.Add(1)
			if resp.Header.Get("Retry-After") != "" {
				s.retryAfter.Add(1)
			}
			time.Sleep(100 * time.Millisecond)
		default:
			t.Errorf("barrage %d: %s: %s", i, resp.Status, raw)
			return
		}
	}
}

func (s *sender) ids() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bool, len(s.accepted))
	for k := range s.accepted {
		out[k] = true
	}
	return out
}

// checkStoredOnce asserts the room's history holds each accepted barrage exactly once and
// nothing else.
func checkStoredOnce(t *testing.T, base, room string, accepted map[string]bool) {
	t.Helper()
	counts := map[string]int{}
	for _, r := range history(t, base, room) {
		counts[r.ID]++
	}
	for id := range accepted {
		if counts[id] != 1 {
			t.Errorf("accepted barrage %s stored %d times", id, counts[id])
		}
	}
	for id, n := range counts {
		if !accepted[id] {
			t.Errorf("stored barrage %s (%d times) was never accepted", id, n)
		}
	}
}

// checkSeenOnce asserts v received each accepted barrage exactly once.
func checkSeenOnce(t *testing.T, name string, v *viewer, accepted map[string]bool) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	missing, dup := 0, 0
	for id := range accepted {
		switch n := v.counts[id]; {
		case n == 0:
			missing++
		case n > 1:
			dup++
		}
	}
	if missing > 0 || dup > 0 {
		t.Errorf("%s: %d of %d accepted barrages missing, %d shown more than once", name, missing, len(accepted), dup)
	}
}

func waitReceived(t *testing.T, v *viewer, n int) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("viewer to receive %d barrages", n), 90*time.Second, func() bool { return v.received() >= n })
}

// checkDeliveredOnce waits for v to catch up, then asserts the room holds each accepted
// barrage once and v received each once.
func checkDeliveredOnce(t *testing.T, base, room string, accepted map[string]bool, v *viewer) {
	t.Helper()
	waitReceived(t, v, len(accepted))
	checkStoredOnce(t, base, room, accepted)
	checkSeenOnce(t, "viewer", v, accepted)
}
