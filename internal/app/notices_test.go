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

// roomViewer collects what one viewer of a room gets, over one stream or, after resume,
// two, with when, and whether any id carried rows shown before the store settled them.
type roomViewer struct {
	mu    sync.Mutex
	got   map[string]int
	lag   []time.Duration
	early bool
	last  string // the last event's id

	room   string
	cancel context.CancelFunc
	done   chan struct{}
}

func watchRoom(t *testing.T, base, room string) *roomViewer {
	t.Helper()
	v := &roomViewer{got: map[string]int{}, room: room}
	v.open(t, base)
	return v
}

// open starts a stream from the viewer's last id, as a browser's EventSource reconnects.
func (v *roomViewer) open(t *testing.T, base string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/rooms/"+v.room+"/stream", nil)
	if v.last != "" {
		req.Header.Set("Last-Event-ID", v.last)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: %s", resp.Status)
	}
	v.cancel, v.done = cancel, make(chan struct{})
	go func() {
		defer close(v.done)
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
}

// leave closes the stream and waits until nothing more of it is read.
func (v *roomViewer) leave() {
	v.cancel()
	<-v.done
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

// exactlyOnce reports every barrage of want the viewer did not get exactly once, and any
// it got that was not sent.
func (v *roomViewer) exactlyOnce(t *testing.T, who string, want []string) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, id := range want {
		if v.got[id] != 1 {
			t.Errorf("%s: %s in %s arrived %d times", who, id, v.room, v.got[id])
		}
	}
	if len(v.got) != len(want) {
		t.Errorf("%s: %d barrages in %s, want %d", who, len(v.got), v.room, len(want))
	}
}

// cluster is the roles as the chart runs them, on the embedded broker and the Tablestore
// test server (5 ms a request): a dispatcher in one group with its processor for each
// entry of processorNotices (false: a processor that sends no notices), and a HomePage
// for each entry of homes.
type cluster struct {
	homes []*App
	procs []*App
}

type homeSpec struct{ topic, poll string }

func startCluster(t *testing.T, homes []homeSpec, processorNotices []bool) *cluster {
	t.Helper()
	srv := otstest.Start(t, otstest.Options{})
	srv.SetLatency(5 * time.Millisecond)
	env := func(extra ...string) map[string]string {
		e := map[string]string{"PORT": "0", "BARRAGE_DATA_DIR": t.TempDir(), "BARRAGE_RATE_LIMIT": "0",
			"BARRAGE_STREAM_OPEN_BURST": "1000", "OTS_ENDPOINT": srv.URL, "OTS_INSTANCENAME": srv.Instance(),
			"TABLE_NAME": "barrage", "OTS_KEYID": srv.KeyID(), "OTS_SECRET": srv.Secret()}
		for i := 0; i+1 < len(extra); i += 2 {
			e[extra[i]] = extra[i+1]
		}
		return e
	}
	broker, _ := startRole(t, config.RoleBroker, env("BARRAGE_BROKER_ADDR", "127.0.0.1:0"))
	kafkaEnv := func(extra ...string) map[string]string {
		return env(append([]string{"KAFKA_SERVER", broker.Broker}, extra...)...)
	}
	c := &cluster{}
	for _, h := range homes {
		a, _ := startRole(t, config.RoleHomePage, kafkaEnv("BARRAGE_NOTICE_TOPIC", h.topic, "BARRAGE_POLL_INTERVAL", h.poll))
		c.homes = append(c.homes, a)
	}
	for _, notices := range processorNotices {
		penv := kafkaEnv()
		if !notices {
			penv = env()
		}
		p, _ := startRole(t, config.RoleProcessor, penv)
		startRole(t, config.RoleDispatcher, kafkaEnv("K_SINK", "http://"+p.Processor+"/"))
		c.procs = append(c.procs, p)
	}
	return c
}

func (c *cluster) base(i int) string { return "http://" + c.homes[i].HomePage }

// watch opens a viewer of every room on every HomePage: viewers[room][home].
func (c *cluster) watch(t *testing.T, rooms []string) map[string][]*roomViewer {
	viewers := map[string][]*roomViewer{}
	for _, room := range rooms {
		for i := range c.homes {
			viewers[room] = append(viewers[room], watchRoom(t, c.base(i), room))
		}
	}
	return viewers
}

// waitFollowing waits until the HomePages homes follow the notice topic: a notice is
// read from the newest offset on.
func (c *cluster) waitFollowing(t *testing.T, homes ...int) {
	waitUntil(t, "the followers", func() bool {
		for _, i := range homes {
			if scrape(t, c.base(i))["barrage_notices_following"] != 1 {
				return false
			}
		}
		return true
	})
}

// sendPaced sends n barrages over rooms, through the HomePages in turn, at perSecond in
// all from a few senders at once, calling at(i) before the i-th. It returns each room's
// barrage ids.
func (c *cluster) sendPaced(t *testing.T, rooms []string, n, perSecond int, at func(i int)) map[string][]string {
	t.Helper()
	var mu sync.Mutex
	want := map[string][]string{}
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range jobs {
				room := rooms[i%len(rooms)]
				status, out, err := post(c.base(i%len(c.homes)), room, fmt.Sprintf(`{"text":"notice %d"}`, i))
				if err != nil || status != http.StatusAccepted {
					t.Errorf("send %d: %d %v", i, status, err)
					continue
				}
				mu.Lock()
				want[room] = append(want[room], out["id"].(string))
				mu.Unlock()
			}
		})
	}
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	for i := range n {
		at(i)
		<-tick.C
		jobs <- i
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	return want
}

// waitDelivered waits until every viewer has every barrage of its room, and then until
// each one's id says the room's last row is settled: a repeat would come with the read
// that settles it.
func (c *cluster) waitDelivered(t *testing.T, viewers map[string][]*roomViewer, want map[string][]string) {
	t.Helper()
	for room, vs := range viewers {
		for k, v := range vs {
			waitUntil(t, fmt.Sprintf("%s on viewer %d", room, k), func() bool { return v.has(want[room]) })
		}
	}
	for room, vs := range viewers {
		last := lastSettled(t, c.base(0), room, len(want[room]))
		for k, v := range vs {
			waitUntil(t, fmt.Sprintf("viewer %d to settle %s", k, room), func() bool {
				v.mu.Lock()
				defer v.mu.Unlock()
				return !strings.Contains(v.last, ".") && v.last >= string(last)
			})
		}
	}
}

func roomNames(prefix string, n int) []string {
	var rooms []string
	for i := range n {
		rooms = append(rooms, fmt.Sprintf("%s%d", prefix, i))
	}
	return rooms
}

// TestNoticesAcrossRoles runs the roles as the chart does: two dispatchers in one group,
// each with its processor, and three HomePages, one of which follows a notice topic that
// does not exist and polls as every feed did before notices (250 ms). 2,000 barrages go
// to 20 rooms, watched on every HomePage, at 200 a second (10 a room, within what a room
// shows early). Every viewer gets every barrage exactly once, including viewers that
// leave during the run and come back with their Last-Event-ID to the same HomePage or
// another; the HomePages that get notices show barrages before the store settles them;
// the one without finds them all by store read. It logs accepted → shown on both paths.
func TestNoticesAcrossRoles(t *testing.T) {
	start := time.Now()
	c := startCluster(t, []homeSpec{{"barrage-stored", "2s"}, {"barrage-stored", "2s"}, {"no-such-topic", "250ms"}},
		[]bool{true, true})
	rooms := roomNames("n", 20)
	viewers := c.watch(t, rooms)
	// Viewers that leave and come back, from HomePage from to HomePage to.
	moves := []struct{ from, to int }{{0, 0}, {0, 1}, {1, 2}, {2, 0}, {1, 1}, {2, 1}}
	var movers []*roomViewer
	for i, m := range moves {
		movers = append(movers, watchRoom(t, c.base(m.from), rooms[i]))
	}
	c.waitFollowing(t, 0, 1)
	const n = 2000
	want := c.sendPaced(t, rooms, n, 200, func(i int) {
		switch i {
		case n / 3:
			for _, v := range movers {
				v.leave()
			}
		case n / 2:
			for i, v := range movers {
				v.open(t, c.base(moves[i].to))
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	all := map[string][]*roomViewer{}
	for room, vs := range viewers {
		all[room] = slices.Clone(vs)
	}
	for i, v := range movers {
		all[rooms[i]] = append(all[rooms[i]], v)
	}
	c.waitDelivered(t, all, want)

	var lags, polled []time.Duration
	for _, room := range rooms {
		for k, v := range viewers[room] {
			v.exactlyOnce(t, fmt.Sprintf("HomePage %d", k), want[room])
			v.mu.Lock()
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
	for i, v := range movers {
		v.exactlyOnce(t, fmt.Sprintf("viewer moved from HomePage %d to %d", moves[i].from, moves[i].to), want[v.room])
	}
	m := scrape(t, c.base(2))
	if got := m["barrage_notices_consumed_total"]; got != 0 {
		t.Errorf("the HomePage on a missing topic read %v notices", got)
	}
	if got := m["barrage_notices_lost_total"]; got < n {
		t.Errorf("the HomePage on a missing topic found %v barrages by store read, want every one of its rooms'", got)
	}
	after, before := logLags(t, "notices, safety poll 2s", lags), logLags(t, "no notices, poll 250ms", polled)
	t.Logf("p99 before / after: %.1f×; whole test %v", float64(before)/float64(after), time.Since(start).Round(time.Second))
}

// logLags logs the p50 and p99 of lags and returns the p99.
func logLags(t *testing.T, name string, lags []time.Duration) time.Duration {
	slices.Sort(lags)
	p50, p99 := lags[len(lags)/2], lags[len(lags)*99/100]
	t.Logf("accepted → shown, %s: p50 %v, p99 %v over %d deliveries", name,
		p50.Round(time.Millisecond), p99.Round(time.Millisecond), len(lags))
	return p99
}

// TestLostNoticesFilledBySafetyPoll: one of the two processors sends no notices. A room's
// barrages all go through one partition (key = room), so the rooms of that processor get
// no notice at all and reach the HomePages by the safety poll alone. Every viewer still
// gets every barrage exactly once, and each HomePage counts at least that processor's
// barrages as found by store read.
func TestLostNoticesFilledBySafetyPoll(t *testing.T) {
	c := startCluster(t, []homeSpec{{"barrage-stored", "2s"}, {"barrage-stored", "2s"}}, []bool{true, false})
	rooms := roomNames("lost", 8)
	viewers := c.watch(t, rooms)
	c.waitFollowing(t, 0, 1)
	// Until both processors have stored a barrage the group may not have given the second
	// a partition yet, and nothing would be lost.
	want := map[string][]string{}
	stored := func(p int) bool { return scrape(t, "http://"+c.procs[p].Processor)["barrage_stored_total"] > 0 }
	i := 0
	waitUntil(t, "both processors to store", func() bool {
		room := rooms[i%len(rooms)]
		i++
		if _, out := send(t, c.base(0), room, `{"text":"first"}`); out["id"] != nil {
			want[room] = append(want[room], out["id"].(string))
		}
		return stored(0) && stored(1)
	})
	for room, ids := range c.sendPaced(t, rooms, 400, 100, func(int) {}) {
		want[room] = append(want[room], ids...)
	}
	if t.Failed() {
		t.FailNow()
	}
	c.waitDelivered(t, viewers, want)
	for _, room := range rooms {
		for k, v := range viewers[room] {
			v.exactlyOnce(t, fmt.Sprintf("HomePage %d", k), want[room])
		}
	}
	unnoticed := scrape(t, "http://"+c.procs[1].Processor)["barrage_stored_total"]
	for i := range c.homes {
		m := scrape(t, c.base(i))
		if got := m["barrage_notices_lost_total"]; got < unnoticed {
			t.Errorf("HomePage %d found %v barrages by store read, want at least the %v stored without notices", i, got, unnoticed)
		}
		if m["barrage_notices_consumed_total"] == 0 {
			t.Errorf("HomePage %d read no notices from the processor that sends them", i)
		}
		t.Logf("HomePage %d: %v notices read, %v barrages found by store read; %v stored without a notice",
			i, m["barrage_notices_consumed_total"], m["barrage_notices_lost_total"], unnoticed)
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
