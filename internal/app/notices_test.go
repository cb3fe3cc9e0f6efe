package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/live/livetest"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/ots/otstest"
)

// roomViewer collects what one stream of a room gets, with when, and whether any id
// carried rows shown before the store settled them.
type roomViewer struct {
	mu    sync.Mutex
	got   map[string]int
	lag   []time.Duration
	early bool
	last  string // the last event's id
}

func watchRoom(t *testing.T, base, room string) *roomViewer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/rooms/"+room+"/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %s", resp.Status)
	}
	v := &roomViewer{got: map[string]int{}}
	go func() {
		defer resp.Body.Close()
		_ = livetest.ReadBarrages(resp.Body, func(id string, recs []store.Record) {
			now := time.Now()
			v.mu.Lock()
			defer v.mu.Unlock()
			v.early = v.early || strings.Contains(id, ".")
			v.last = id
			for _, r := range recs {
				v.got[r.ID]++
				v.lag = append(v.lag, now.Sub(r.AcceptedAt))
			}
		})
	}()
	return v
}

func (v *roomViewer) has(ids []string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, id := range ids {
		if v.got[id] == 0 {
			return false
		}
	}
	return true
}

// TestNoticesAcrossRoles runs the roles as the chart does, on the embedded broker and the
// Tablestore test server (5 ms a request): two dispatchers in one group, each with its
// processor, and three HomePages, one of which follows a notice topic that does not exist
// and polls as every feed did before notices (250 ms). Every viewer gets every barrage
// exactly once; the HomePages that get notices show barrages before the store settles
// them; the one without falls back on its poll. It logs accepted → shown on both.
func TestNoticesAcrossRoles(t *testing.T) {
	srv := otstest.Start(t, otstest.Options{})
	srv.SetLatency(5 * time.Millisecond)
	ots := map[string]string{"OTS_ENDPOINT": srv.URL, "OTS_INSTANCENAME": srv.Instance(), "TABLE_NAME": "barrage",
		"OTS_KEYID": srv.KeyID(), "OTS_SECRET": srv.Secret()}
	env := func(extra ...string) map[string]string {
		e := map[string]string{"PORT": "0", "BARRAGE_DATA_DIR": t.TempDir(), "BARRAGE_RATE_LIMIT": "0",
			"BARRAGE_POLL_INTERVAL": "2s", "BARRAGE_STREAM_OPEN_BURST": "100"}
		for k, v := range ots {
			e[k] = v
		}
		for i := 0; i+1 < len(extra); i += 2 {
			e[extra[i]] = extra[i+1]
		}
		return e
	}
	broker, _ := startRole(t, config.RoleBroker, env("BARRAGE_BROKER_ADDR", "127.0.0.1:0"))
	kafkaEnv := func(extra ...string) map[string]string {
		return env(append([]string{"KAFKA_SERVER", broker.Broker}, extra...)...)
	}
	var homes []*App
	for i := range 3 {
		topic, poll := "barrage-stored", "2s"
		if i == 2 {
			topic, poll = "no-such-topic", "250ms"
		}
		h, _ := startRole(t, config.RoleHomePage, kafkaEnv("BARRAGE_NOTICE_TOPIC", topic, "BARRAGE_POLL_INTERVAL", poll))
		homes = append(homes, h)
	}
	for range 2 {
		p, _ := startRole(t, config.RoleProcessor, kafkaEnv())
		startRole(t, config.RoleDispatcher, kafkaEnv("K_SINK", "http://"+p.Processor+"/"))
	}
	rooms := []string{"n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7"}
	viewers := map[string][]*roomViewer{}
	for _, room := range rooms {
		for _, h := range homes {
			viewers[room] = append(viewers[room], watchRoom(t, "http://"+h.HomePage, room))
		}
	}
	// A notice is read from the newest offset on: wait until every follower is reading.
	waitUntil(t, "the followers", func() bool {
		return followersUp(t, homes[:2])
	})
	want := map[string][]string{}
	const n = 200
	for i := range n {
		room := rooms[i%len(rooms)]
		status, out := send(t, "http://"+homes[i%len(homes)].HomePage, room, fmt.Sprintf(`{"text":"notice %d"}`, i))
		if status != http.StatusAccepted {
			t.Fatalf("send %d: %d", i, status)
		}
		want[room] = append(want[room], out["id"].(string))
	}
	for _, room := range rooms {
		for k, v := range viewers[room] {
			waitUntil(t, fmt.Sprintf("%s on HomePage %d", room, k), func() bool { return v.has(want[room]) })
		}
	}
	// A repeat would come with the read that settles a room's last row: wait until every
	// viewer's id says it has it settled.
	for _, room := range rooms {
		last := lastSettled(t, "http://"+homes[0].HomePage, room, len(want[room]))
		for k, v := range viewers[room] {
			waitUntil(t, fmt.Sprintf("HomePage %d to settle %s", k, room), func() bool {
				v.mu.Lock()
				defer v.mu.Unlock()
				return !strings.Contains(v.last, ".") && v.last >= string(last)
			})
		}
	}
	var lags, polled []time.Duration
	for _, room := range rooms {
		for k, v := range viewers[room] {
			v.mu.Lock()
			for _, id := range want[room] {
				if v.got[id] != 1 {
					t.Errorf("HomePage %d: %s in %s arrived %d times", k, id, room, v.got[id])
				}
			}
			if len(v.got) != len(want[room]) {
				t.Errorf("HomePage %d: %d barrages in %s, want %d", k, len(v.got), room, len(want[room]))
			}
			if k < 2 {
				if !v.early {
					t.Errorf("HomePage %d following notices showed nothing of %s before it settled", k, room)
				}
				lags = append(lags, v.lag...)
			} else {
				polled = append(polled, v.lag...)
			}
			v.mu.Unlock()
		}
	}
	m := scrape(t, "http://"+homes[2].HomePage)
	if got := m["barrage_notices_consumed_total"]; got != 0 {
		t.Errorf("the HomePage on a missing topic read %v notices", got)
	}
	if got := m["barrage_notices_lost_total"]; got < n {
		t.Errorf("the HomePage on a missing topic found %v barrages by store read, want every one of its rooms'", got)
	}
	for _, l := range []struct {
		name string
		lags []time.Duration
	}{{"notices, safety poll 2s", lags}, {"no notices, poll 250ms", polled}} {
		slices.Sort(l.lags)
		t.Logf("accepted → shown, %s: p50 %v, p99 %v over %d deliveries", l.name,
			l.lags[len(l.lags)/2].Round(time.Millisecond), l.lags[len(l.lags)*99/100].Round(time.Millisecond), len(l.lags))
	}
}

// lastSettled waits until the history of room holds n barrages and returns the last one's
// cursor.
func lastSettled(t *testing.T, base, room string, n int) store.Cursor {
	t.Helper()
	var page struct {
		Barrages []store.Record `json:"barrages"`
	}
	waitUntil(t, "the history of "+room, func() bool {
		resp, err := http.Get(base + "/api/rooms/" + room + "/barrages?limit=1000")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		page.Barrages = nil
		_ = json.NewDecoder(resp.Body).Decode(&page)
		return len(page.Barrages) >= n
	})
	return page.Barrages[len(page.Barrages)-1].Cursor
}

func followersUp(t *testing.T, homes []*App) bool {
	for _, h := range homes {
		if scrape(t, "http://"+h.HomePage)["barrage_notices_following"] != 1 {
			return false
		}
	}
	return true
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
