package homepage

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/kafka"
	"github.com/barrage-live/barrage/internal/live"
	"github.com/barrage-live/barrage/internal/problem"
)

// Tests of a stranger attacking the HomePage over a real loopback listener. The test
// client plays the trusted proxy (127.0.0.1) and writes the header the way an ingress
// would: whatever the client sent, then the address it saw.

type countProducer struct {
	n    atomic.Int64
	fail atomic.Bool
	ids  chan string
}

func (p *countProducer) Produce(_ context.Context, b barrage.Barrage, _ ...kafka.Header) error {
	if p.fail.Load() {
		return errors.New("kafka: not reachable")
	}
	p.n.Add(1)
	if p.ids != nil {
		p.ids <- b.ID
	}
	return nil
}

type hostileTarget struct {
	url  string
	s    *Server
	hub  *live.Hub
	prod *countProducer
	c    *http.Client
}

func startTarget(t *testing.T, opts Options, liveOpts live.Options, hist History) *hostileTarget {
	t.Helper()
	if hist == nil {
		hist = emptyHistory{}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	prod := &countProducer{}
	hub := live.New(hist, liveOpts, log, live.Hooks{})
	s := New(prod, hist, hub, opts, log, Hooks{})
	srv := httptest.NewServer(s.Handler(http.NotFoundHandler()))
	tr := &http.Transport{MaxIdleConnsPerHost: 16}
	t.Cleanup(func() { tr.CloseIdleConnections(); hub.Close(); srv.Close() })
	return &hostileTarget{url: srv.URL, s: s, hub: hub, prod: prod, c: &http.Client{Transport: tr}}
}

// send posts a barrage with the given X-Forwarded-For (none when empty) and extra headers.
func (h *hostileTarget) send(t testing.TB, room, xff string, extra ...string) (int, http.Header, []byte) {
	req, _ := http.NewRequest(http.MethodPost, h.url+"/api/rooms/"+room+"/barrages", strings.NewReader(`{"text":"hi"}`))
	req.Header.Set("Content-Type", "application/json")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.Header.Set(extra[i], extra[i+1])
	}
	resp, err := h.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// open starts a stream and returns its status; a 200 stream stays open until cancel.
func (h *hostileTarget) open(t *testing.T, room, xff string) (int, http.Header, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.url+"/api/rooms/"+room+"/stream", nil)
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	} else {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp.StatusCode, resp.Header, func() { cancel(); resp.Body.Close() }
}

var behindProxy = ClientAddr{Header: "X-Forwarded-For", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}

// frozen stops the server's clock for the client table, so refill during a test never
// changes a count.
func frozen(s *Server) *fakeClock {
	clock := &fakeClock{t: time.Now()}
	s.clients.now = clock.now
	return clock
}

func wantProblem(t *testing.T, what string, status int, header http.Header, body []byte, wantStatus int, wantRetry bool) {
	t.Helper()
	if status != wantStatus || header.Get("Content-Type") != problem.ContentType {
		t.Fatalf("%s: %d %q, want %d problem+json", what, status, header.Get("Content-Type"), wantStatus)
	}
	if wantRetry && header.Get("Retry-After") == "" {
		t.Fatalf("%s: no Retry-After", what)
	}
	var p problem.Details
	if err := json.Unmarshal(body, &p); err != nil || p.Detail == "" {
		t.Fatalf("%s: problem document %q", what, body)
	}
}

func TestForgedLeftmostIsOneClient(t *testing.T) {
	h := startTarget(t, Options{Limits: Limits{SendsPerSecond: 1, SendBurst: 20, Addr: behindProxy}}, live.Options{}, nil)
	frozen(h.s)
	accepted, limited := 0, 0
	for i := range 1000 {
		forged := fmt.Sprintf("198.51.%d.%d", i/256, i%256)
		switch status, header, body := h.send(t, "r", forged+", 203.0.113.7"); status {
		case http.StatusAccepted:
			accepted++
		case http.StatusTooManyRequests:
			limited++
			if limited == 1 {
				wantProblem(t, "limited send", status, header, body, 429, true)
			}
		default:
			t.Fatalf("send %d: %d", i, status)
		}
	}
	t.Logf("1000 sends, each with a different forged leftmost X-Forwarded-For behind one proxy: %d accepted, %d answered 429", accepted, limited)
	if accepted != 20 || limited != 980 || h.prod.n.Load() != 20 {
		t.Fatalf("accepted %d, limited %d, produced %d; want the burst of 20 and 980 refused", accepted, limited, h.prod.n.Load())
	}
	if n := h.s.clients.tracking(); n != 1 {
		t.Fatalf("%d clients tracked, want 1", n)
	}
}

// An attacker who writes the victim's address leftmost spends their own budget, not the
// victim's; and a header from a peer that is not a trusted proxy is not read at all.
func TestClaimingAVictimsAddressLocksOutNobody(t *testing.T) {
	h := startTarget(t, Options{Limits: Limits{SendsPerSecond: 1, SendBurst: 5, Addr: behindProxy}}, live.Options{}, nil)
	frozen(h.s)
	for range 50 {
		h.send(t, "r", "192.0.2.10, 203.0.113.66")
	}
	for i := range 5 {
		if status, _, _ := h.send(t, "r", "192.0.2.10"); status != http.StatusAccepted {
			t.Fatalf("victim's send %d: %d", i, status)
		}
	}

	untrusted := startTarget(t, Options{Limits: Limits{SendsPerSecond: 1, SendBurst: 5,
		Addr: ClientAddr{Header: "X-Forwarded-For", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}}, live.Options{}, nil)
	frozen(untrusted.s)
	accepted := 0
	for i := range 100 {
		if status, _, _ := untrusted.send(t, "r", fmt.Sprintf("203.0.113.%d", i)); status == http.StatusAccepted {
			accepted++
		}
	}
	if accepted != 5 {
		t.Fatalf("untrusted peer with 100 header values: %d accepted, want 5", accepted)
	}
}

func TestOneIPv6PrefixIsOneClient(t *testing.T) {
	h := startTarget(t, Options{Limits: Limits{SendsPerSecond: 1, SendBurst: 20, Addr: behindProxy}}, live.Options{}, nil)
	frozen(h.s)
	accepted, limited := 0, 0
	for i := range 256 {
		addr := fmt.Sprintf("2001:db8:42:7:%x:%x::%x", i*97, i*31, i)
		switch status, _, _ := h.send(t, "r", addr); status {
		case http.StatusAccepted:
			accepted++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("send from %s: %d", addr, status)
		}
	}
	t.Logf("256 IPv6 addresses of one /64: %d accepted, %d answered 429", accepted, limited)
	if accepted != 20 || limited != 236 {
		t.Fatalf("accepted %d, limited %d; want 20 and 236", accepted, limited)
	}
	// The next /64 is someone else, and IPv4-mapped IPv6 is the IPv4 client.
	if status, _, _ := h.send(t, "r", "2001:db8:42:8::1"); status != http.StatusAccepted {
		t.Fatalf("neighbouring /64: %d", status)
	}
	for range 20 {
		h.send(t, "r", "192.0.2.44")
	}
	if status, _, _ := h.send(t, "r", "::ffff:192.0.2.44"); status != http.StatusTooManyRequests {
		t.Fatalf("IPv4-mapped form of a spent IPv4 client: %d, want 429", status)
	}
}

// 100,000 clients, each with an address of its own, against a table of 10,000: the table
// never grows past its bound, and the heap in use shows what it costs. The clock stands
// still, so no entry goes idle and the counts do not depend on the machine's speed: the
// first 10,000 clients are tracked and every later one is refused.
func TestHundredThousandClientsStayBounded(t *testing.T) {
	const total, bound, workers = 100_000, 10_000, 8
	h := startTarget(t, Options{Limits: Limits{SendsPerSecond: 10, SendBurst: 20, StreamsPerClient: 32,
		MaxClients: bound, Addr: behindProxy}}, live.Options{}, nil)
	clock := frozen(h.s)
	before := heapInUse(true)
	var accepted, busy, peakTracked, peakHeap atomic.Int64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			peakTracked.Store(max(peakTracked.Load(), int64(h.s.clients.tracking())))
			peakHeap.Store(max(peakHeap.Load(), int64(heapInUse(false))))
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	// Each worker pipelines its sends on one connection, so the test spends its time in
	// the server rather than in a client.
	host := strings.TrimPrefix(h.url, "http://")
	errs := make(chan error, workers)
	for w := range workers {
		go func() { errs <- pipelineSends(host, w, workers, total, &accepted, &busy) }()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	<-sampled
	tracked := h.s.clients.tracking()
	after := heapInUse(true)
	t.Logf("%d distinct clients, table bound %d: %d accepted, %d answered 429 Too many clients; peak %d tracked, %d at the end",
		total, bound, accepted.Load(), busy.Load(), peakTracked.Load(), tracked)
	t.Logf("heap in use: %.1f MiB before, %.1f MiB peak, %.1f MiB after (after GC)",
		mib(before), mib(uint64(peakHeap.Load())), mib(after))
	if peakTracked.Load() > bound || tracked > bound {
		t.Fatalf("table grew to %d (end %d), bound %d", peakTracked.Load(), tracked, bound)
	}
	if accepted.Load() != bound || busy.Load() != total-bound || tracked != bound {
		t.Fatalf("accepted %d, refused %d, tracked %d; want %d, %d, %d", accepted.Load(), busy.Load(), tracked, bound, total-bound, bound)
	}
	// Once the budgets have had time to fill, the tracked clients are idle and 10,000 new
	// ones take their places.
	clock.add(3 * time.Second)
	accepted.Store(0)
	busy.Store(0)
	for w := range workers {
		go func() { errs <- pipelineSends(host, total+w, workers, total+bound, &accepted, &busy) }()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("after the budgets refilled: %d new clients accepted, %d refused; %d tracked", accepted.Load(), busy.Load(), h.s.clients.tracking())
	if accepted.Load() != bound || h.s.clients.tracking() != bound {
		t.Fatalf("after idling: accepted %d, tracked %d; want %d, %d", accepted.Load(), h.s.clients.tracking(), bound, bound)
	}
	// The table is the only thing that grows with clients; 10,000 entries are a few MiB.
	if grown := int64(after) - int64(before); grown > 32<<20 {
		t.Fatalf("heap grew by %.1f MiB and stayed", mib(uint64(grown)))
	}
}

func TestStreamOpenStormIsRefused(t *testing.T) {
	h := startTarget(t, Options{Limits: Limits{StreamsPerClient: 32, StreamOpensPerSec: 1, StreamOpenBurst: 5, Addr: behindProxy}},
		live.Options{Linger: time.Millisecond}, nil)
	frozen(h.s)
	opened, refused := 0, 0
	for i := range 50 {
		status, header, cancel := h.open(t, "storm", "203.0.113.9")
		switch status {
		case http.StatusOK:
			opened++
			cancel() // opens are limited, not just streams held
		case http.StatusTooManyRequests:
			refused++
			if header.Get("Retry-After") == "" || header.Get("Content-Type") != problem.ContentType {
				t.Fatalf("refused open %d: Retry-After %q, type %q", i, header.Get("Retry-After"), header.Get("Content-Type"))
			}
		default:
			t.Fatalf("open %d: %d", i, status)
		}
	}
	t.Logf("50 stream opens from one client, burst 5: %d opened, %d answered 429", opened, refused)
	if opened != 5 || refused != 45 {
		t.Fatalf("opened %d, refused %d; want 5 and 45", opened, refused)
	}
}

func TestRoomNameStormIsBounded(t *testing.T) {
	const maxRooms = 8
	h := startTarget(t, Options{Limits: Limits{StreamsPerClient: 32, Addr: behindProxy}},
		live.Options{MaxRooms: maxRooms, Linger: time.Minute}, nil)
	opened, refused := 0, 0
	for i := range 200 {
		// Each from an address of its own, so only the room cap stands in the way.
		status, header, cancel := h.open(t, fmt.Sprintf("random-%d", i), fmt.Sprintf("198.18.%d.%d", i/256, i%256))
		switch status {
		case http.StatusOK:
			opened++
			cancel() // the feed lingers after its viewer leaves
		case http.StatusServiceUnavailable:
			refused++
			if header.Get("Retry-After") == "" {
				t.Fatalf("room %d refused without Retry-After", i)
			}
		default:
			t.Fatalf("room %d: %d", i, status)
		}
		if n := h.hub.Rooms(); n > maxRooms {
			t.Fatalf("%d room feeds, cap %d", n, maxRooms)
		}
	}
	t.Logf("200 random room names, cap %d: %d opened, %d answered 503; %d feeds live", maxRooms, opened, refused, h.hub.Rooms())
	if opened != maxRooms || refused != 200-maxRooms {
		t.Fatalf("opened %d, refused %d; want %d and %d", opened, refused, maxRooms, 200-maxRooms)
	}
	// A room already watched still takes viewers.
	if status, _, _ := h.open(t, "random-0", "192.0.2.1"); status != http.StatusOK {
		t.Fatalf("a lingering room's new viewer: %d", status)
	}
}

func TestIdempotencyKeyIsPerClient(t *testing.T) {
	h := startTarget(t, Options{Limits: Limits{Addr: behindProxy}}, live.Options{}, nil)
	h.prod.ids = make(chan string, 8)
	id := func(xff, key string) string {
		t.Helper()
		if status, _, body := h.send(t, "r", xff, "Idempotency-Key", key); status != http.StatusAccepted {
			t.Fatalf("send %s %s: %d %s", xff, key, status, body)
		}
		return <-h.prod.ids
	}
	a1, a2, b := id("192.0.2.1", "k-1"), id("192.0.2.1", "k-1"), id("192.0.2.2", "k-1")
	if a1 != a2 {
		t.Fatalf("one client's retry got a new id: %s, %s", a1, a2)
	}
	if a1 == b {
		t.Fatalf("two clients with one key share id %s: one's barrage would drop the other's", a1)
	}
	for _, tt := range []struct{ name, key string }{
		{"too long", strings.Repeat("k", maxIdempotencyKey+1)},
		{"space", "a b"},
		{"not ASCII", "clé"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			status, header, body := h.send(t, "r", "192.0.2.1", "Idempotency-Key", tt.key)
			wantProblem(t, tt.name, status, header, body, http.StatusBadRequest, false)
		})
	}
	if len(h.prod.ids) != 0 {
		t.Fatal("a refused key was produced")
	}
}

func TestUnavailableSaysRetryIsSafe(t *testing.T) {
	h := startTarget(t, Options{}, live.Options{}, nil)
	h.prod.fail.Store(true)
	status, header, body := h.send(t, "r", "", "Idempotency-Key", "k")
	wantProblem(t, "kafka down", status, header, body, http.StatusServiceUnavailable, true)
	var p problem.Details
	_ = json.Unmarshal(body, &p)
	if strings.Contains(p.Detail, "nothing was sent") || !strings.Contains(p.Detail, "Idempotency-Key") {
		t.Fatalf("503 detail %q: must not claim nothing was sent, and must say how to retry", p.Detail)
	}
}

// pipelineSends sends barrages number from, from+step, ... below total on one connection,
// each from its own client address behind the trusted proxy, writing ahead of the answers.
func pipelineSends(host string, from, step, total int, accepted, busy *atomic.Int64) error {
	conn, err := net.Dial("tcp", host)
	if err != nil {
		return err
	}
	defer conn.Close()
	const body = `{"text":"hi"}`
	wrote := make(chan error, 1)
	go func() {
		bw := bufio.NewWriter(conn)
		for i := from; i < total; i += step {
			fmt.Fprintf(bw, "POST /api/rooms/r/barrages HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
				"X-Forwarded-For: %d.%d.%d.%d, 11.%d.%d.%d\r\nContent-Length: %d\r\n\r\n%s",
				host, i%223+1, i%7, i%11, i%13, i>>16, (i>>8)&255, i&255, len(body), body)
		}
		wrote <- bw.Flush()
	}()
	br := bufio.NewReader(conn)
	for i := from; i < total; i += step {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return fmt.Errorf("answer to send %d: %w", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusAccepted:
			accepted.Add(1)
		case http.StatusTooManyRequests:
			busy.Add(1)
		default:
			return fmt.Errorf("send %d: %d", i, resp.StatusCode)
		}
	}
	return <-wrote
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
