package reliability

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMUnderLoadLosesNothing stops dev mode with SIGTERM in the middle of load, 20
// times over one data directory: barrages sent over HTTP by several clients, and a load
// run of the load sender. Each time the process must exit 0 with no panic in its output,
// and once it is started again every barrage it answered 202 is stored, as is at least
// every barrage the load run had counted as accepted. Each restart is the next round's
// process.
func TestSIGTERMUnderLoadLosesNothing(t *testing.T) {
	const rounds = 20
	dev := startRole(t, "dev", map[string]string{
		"BARRAGE_DATA_DIR": t.TempDir(), "BARRAGE_BROKER_ADDR": "127.0.0.1:0", "BARRAGE_PROCESSOR_PORT": "0",
		"BARRAGE_RATE_LIMIT": "0", "BARRAGE_LOG_LEVEL": "info",
	})
	client := &http.Client{Timeout: 10 * time.Second}
	for round := range rounds {
		base := "http://" + dev.addr
		room, loadRoom := fmt.Sprintf("sigterm-%d", round), fmt.Sprintf("sigterm-load-%d", round)
		load := startLoadRun(t, client, base, loadRoom)
		senders := sendUntilRefused(client, base, room, 8)
		// Mid-load: both the clients and the load run have had barrages accepted.
		waitUntil(t, "barrages accepted in round "+fmt.Sprint(round), 30*time.Second, func() bool {
			return senders.count() >= 20 && load.poll() >= 20
		})
		offset := logSize(t, dev)
		state := dev.terminate(t, 30*time.Second)
		senders.wait()
		out := logSince(t, dev, offset)
		if state == nil || !state.Success() {
			t.Fatalf("round %d: exit %v after SIGTERM\n%s", round, state, tail(out, 4096))
		}
		if bytes.Contains(out, []byte("panic")) || bytes.Contains(out, []byte("goroutine ")) {
			t.Fatalf("round %d: panic in the output\n%s", round, tail(out, 8192))
		}

		dev.start()
		base = "http://" + dev.addr
		accepted := senders.ids()
		waitUntil(t, fmt.Sprintf("round %d: %d accepted barrages stored", round, len(accepted)), 60*time.Second, func() bool {
			return storedOf(t, base, room, accepted) == len(accepted)
		})
		// Each accepted barrage once. A send cut off without an answer may be stored too;
		// that is not a loss, so it is not counted against the round.
		counts := map[string]int{}
		for _, r := range history(t, base, room) {
			counts[r.ID]++
		}
		for id := range accepted {
			if counts[id] != 1 {
				t.Errorf("round %d: accepted barrage %s stored %d times", round, id, counts[id])
			}
		}
		waitUntil(t, fmt.Sprintf("round %d: load run's %d accepted barrages stored", round, load.accepted), 60*time.Second, func() bool {
			return len(history(t, base, loadRoom)) >= load.accepted
		})
		t.Logf("round %d: %d sent by clients and %d by the load run accepted, all stored", round, len(accepted), load.accepted)
	}
}

// terminate sends SIGTERM and returns how the process exited.
func (r *role) terminate(t *testing.T, limit time.Duration) *os.ProcessState {
	t.Helper()
	r.mu.Lock()
	cmd, exited := r.cmd, r.exited
	r.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(limit):
		_ = cmd.Process.Kill()
		<-exited
		t.Errorf("%s did not exit within %s of SIGTERM", r.name, limit)
	}
	r.mu.Lock()
	r.cmd = nil
	r.mu.Unlock()
	return cmd.ProcessState
}

func logSize(t *testing.T, r *role) int64 {
	t.Helper()
	fi, err := os.Stat(r.logs.Name())
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func logSince(t *testing.T, r *role, offset int64) []byte {
	t.Helper()
	b, err := os.ReadFile(r.logs.Name())
	if err != nil {
		t.Fatal(err)
	}
	return b[min(offset, int64(len(b))):]
}

// storedOf counts how many of ids room's history holds.
func storedOf(t *testing.T, base, room string, ids map[string]bool) int {
	n := 0
	for _, r := range history(t, base, room) {
		if ids[r.ID] {
			n++
		}
	}
	return n
}

// loadRun is a run of the load sender, and the most it was seen to have accepted.
type loadRun struct {
	client   *http.Client
	url      string
	accepted int
}

func startLoadRun(t *testing.T, client *http.Client, base, room string) *loadRun {
	t.Helper()
	resp, err := client.Post(base+"/api/rooms/"+room+"/load", "application/json",
		strings.NewReader(`{"message":"load before SIGTERM","concurrency":8,"durationSeconds":60}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var p struct{ ID string }
	if resp.StatusCode/100 != 2 || json.Unmarshal(raw, &p) != nil || p.ID == "" {
		t.Fatalf("start load run: %s: %s", resp.Status, raw)
	}
	return &loadRun{client: client, url: base + "/api/rooms/" + room + "/load/" + p.ID}
}

// poll reads the run's progress and returns its accepted count.
func (l *loadRun) poll() int {
	resp, err := l.client.Get(l.url)
	if err != nil {
		return l.accepted
	}
	defer resp.Body.Close()
	var p struct{ Accepted int }
	if json.NewDecoder(resp.Body).Decode(&p) == nil && p.Accepted > l.accepted {
		l.accepted = p.Accepted
	}
	return l.accepted
}

// refusedSenders send barrages to room from several clients until the HomePage stops
// answering, keeping the ids of those answered 202.
type refusedSenders struct {
	mu       sync.Mutex
	accepted map[string]bool
	wg       sync.WaitGroup
}

func sendUntilRefused(client *http.Client, base, room string, workers int) *refusedSenders {
	s := &refusedSenders{accepted: map[string]bool{}}
	for w := range workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for i := 0; ; i++ {
				body := fmt.Sprintf(`{"text":"client %d barrage %d"}`, w, i)
				resp, err := client.Post(base+"/api/rooms/"+room+"/barrages", "application/json", strings.NewReader(body))
				if err != nil {
					return // the listener closed: the process is shutting down
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					continue // 503 while draining; the barrage was not accepted
				}
				var out struct{ ID string }
				if json.Unmarshal(raw, &out) == nil {
					s.mu.Lock()
					s.accepted[out.ID] = true
					s.mu.Unlock()
				}
			}
		}()
	}
	return s
}

func (s *refusedSenders) wait() { s.wg.Wait() }

func (s *refusedSenders) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.accepted)
}

func (s *refusedSenders) ids() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]bool, len(s.accepted))
	for k := range s.accepted {
		out[k] = true
	}
	return out
}
