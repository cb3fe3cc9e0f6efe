package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/live/livetest"
	"github.com/barrage-live/barrage/internal/store"
)

// binary is the barrage command, built once for every test in the package.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "barrage-reliability-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "barrage")
	out, err := exec.Command("go", "build", "-o", binary, "github.com/barrage-live/barrage/cmd/barrage").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build barrage: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// role is one barrage process; it can be killed and started again on the same ports.
// Its ports are chosen by the process itself (port 0) the first time, read from its log,
// and kept for restarts, so tests running side by side never race for a port.
type role struct {
	t      *testing.T
	name   string
	env    map[string]string
	addr   string // its HTTP address, once known
	kafka  string // the broker's Kafka address, for the broker role
	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	logs   *os.File
}

func startRole(t *testing.T, name string, env map[string]string) *role {
	t.Helper()
	r := &role{t: t, name: name, env: map[string]string{"PORT": "0", "BARRAGE_LOG_LEVEL": "debug"}}
	for k, v := range env {
		r.env[k] = v
	}
	logs, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	r.logs = logs
	r.start()
	t.Cleanup(func() {
		r.stop(syscall.SIGTERM)
		if t.Failed() {
			b, _ := os.ReadFile(logs.Name())
			t.Logf("--- %s log (last 4 KB) ---\n%s", name, tail(b, 4096))
		}
	})
	return r
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

func (r *role) start() {
	r.t.Helper()
	r.mu.Lock()
	offset, _ := r.logs.Seek(0, io.SeekEnd)
	cmd := exec.Command(binary, r.name)
	cmd.Env = os.Environ()
	for k, v := range r.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = r.logs, r.logs
	if err := cmd.Start(); err != nil {
		r.mu.Unlock()
		r.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	r.cmd, r.exited = cmd, exited
	r.mu.Unlock()

	ready := func() bool {
		select {
		case <-exited:
			b, _ := os.ReadFile(r.logs.Name())
			r.t.Fatalf("%s exited while starting:\n%s", r.name, tail(b, 4096))
		default:
		}
		if r.addr == "" {
			r.readAddresses(offset)
			return false
		}
		resp, err := http.Get("http://" + r.addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	waitUntil(r.t, r.name+" ready", 60*time.Second, ready)
}

var (
	listeningAt = regexp.MustCompile(`msg=listening .*server=(\w+) addr=http://(\S+)`)
	kafkaAt     = regexp.MustCompile(`msg="embedded Kafka broker" .*addr=(\S+)`)
)

// readAddresses picks the ports the process bound out of its log, and pins them for restarts.
func (r *role) readAddresses(offset int64) {
	b, _ := os.ReadFile(r.logs.Name())
	if int64(len(b)) < offset {
		return
	}
	b = b[offset:]
	if (r.name == "broker" || r.name == "dev") && r.kafka == "" {
		if m := kafkaAt.FindSubmatch(b); m != nil {
			r.kafka = string(m[1])
			r.env["BARRAGE_BROKER_ADDR"] = r.kafka
		}
	}
	for _, m := range listeningAt.FindAllSubmatch(b, -1) {
		// Dev mode serves the HomePage on PORT, beside the processor on a port of its own.
		if string(m[1]) == r.name || (r.name == "dev" && string(m[1]) == "homepage") {
			r.addr = string(m[2])
			_, port, _ := net.SplitHostPort(r.addr)
			r.env["PORT"] = port
		}
	}
}

// stop signals the process and waits for it to exit.
func (r *role) stop(sig syscall.Signal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(sig)
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
	r.cmd = nil
}

func waitUntil(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pipeline is every role as its own process, sharing one data directory.
type pipeline struct {
	broker, processor, dispatcher, homepage *role
	base                                    string // the HomePage's URL
	brokerAddr                              string
	env                                     map[string]string // what every role got, KAFKA_SERVER included
}

func startPipeline(t *testing.T, extra map[string]string) *pipeline {
	t.Helper()
	return startPipelineWith(t, t.TempDir(), extra, "")
}

// startPipelineWith runs the roles on dir. With processorURL set, the processor is the
// caller's own, already listening there, and no processor process is started.
func startPipelineWith(t *testing.T, dir string, extra map[string]string, processorURL string) *pipeline {
	t.Helper()
	return startRoles(t, dir, extra, processorURL, true)
}

// startRoles is startPipelineWith, with the dispatcher left out unless withDispatcher: a
// test can then play the event driver itself, as a KafkaSource.
func startRoles(t *testing.T, dir string, extra map[string]string, processorURL string, withDispatcher bool) *pipeline {
	t.Helper()
	common := map[string]string{
		"BARRAGE_DATA_DIR": dir, "BARRAGE_BROKER_ADDR": "127.0.0.1:0",
		"BARRAGE_RATE_LIMIT": "0", "BARRAGE_POLL_INTERVAL": "50ms",
		// Every viewer here is one loopback client.
		"BARRAGE_STREAM_OPENS_PER_SECOND": "0", "BARRAGE_MAX_STREAMS_PER_CLIENT": "0",
		// Retry long enough that a processor restart never sends a barrage to the dead letter.
		"BARRAGE_RETRY_COUNT": "30", "BARRAGE_RETRY_INTERVAL": "200ms", "BARRAGE_BACKOFF_POLICY": "linear",
		"BARRAGE_REQUEST_TIMEOUT": "5s",
	}
	for k, v := range extra {
		common[k] = v
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range common {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	p := &pipeline{}
	p.broker = startRole(t, "broker", with())
	p.brokerAddr = p.broker.kafka
	common["KAFKA_SERVER"] = p.brokerAddr
	if processorURL == "" {
		p.processor = startRole(t, "processor", with())
		processorURL = "http://" + p.processor.addr + "/"
	}
	if withDispatcher {
		p.dispatcher = startRole(t, "dispatcher", with("K_SINK", processorURL))
	}
	p.homepage = startRole(t, "homepage", with())
	p.base = "http://" + p.homepage.addr
	p.env = with()
	return p
}

// history reads every stored barrage of room through the API, following cursors.
func history(t *testing.T, base, room string) []store.Record {
	t.Helper()
	var all []store.Record
	after := ""
	for {
		resp, err := http.Get(base + "/api/rooms/" + room + "/barrages?limit=1000&after=" + after)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Barrages []store.Record `json:"barrages"`
			Cursor   string         `json:"cursor"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Barrages...)
		if len(page.Barrages) < 1000 {
			return all
		}
		after = page.Cursor
	}
}

// viewer follows a room's stream and records each barrage id it gets, and the last event id.
type viewer struct {
	mu     sync.Mutex
	counts map[string]int
	total  int
	lastID string
	lags   []time.Duration
	events []time.Time // when each batch arrived
	cancel context.CancelFunc
	done   chan struct{}
}

// openStream opens room's stream, resuming after lastEventID when it is set; cancel ends it.
func openStream(t *testing.T, base, room, lastEventID string) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/rooms/"+room+"/stream", nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("stream: %s", resp.Status)
	}
	return resp, cancel
}

func watch(t *testing.T, base, room, lastEventID string) *viewer {
	t.Helper()
	resp, cancel := openStream(t, base, room, lastEventID)
	v := &viewer{counts: map[string]int{}, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(v.done)
		defer resp.Body.Close()
		_ = livetest.ReadBarrages(resp.Body, v.add)
	}()
	t.Cleanup(func() { v.close() })
	return v
}

func (v *viewer) add(id string, recs []store.Record) {
	now := time.Now()
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, r := range recs {
		v.counts[r.ID]++
		v.total++
		v.lags = append(v.lags, now.Sub(r.AcceptedAt))
	}
	v.events = append(v.events, now)
	v.lastID = id
}

func (v *viewer) close() {
	v.cancel()
	<-v.done
}

func (v *viewer) received() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.total
}

func (v *viewer) last() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.lastID
}
