package homepage

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/live"
	"github.com/barrage-live/barrage/internal/live/stream"
)

func newTestServer(t *testing.T, opts Options, liveOpts live.Options) (*httptest.Server, *captureProducer) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	prod := &captureProducer{}
	hub := live.New(emptyHistory{}, liveOpts, log, live.Hooks{})
	s := New(prod, emptyHistory{}, hub, opts, log, Hooks{})
	srv := httptest.NewServer(s.Handler(http.NotFoundHandler()))
	t.Cleanup(func() { hub.Close(); srv.Close() })
	return srv, prod
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func post(t *testing.T, url string, header map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"text":"hi"}`))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestSendRateLimitPerClient(t *testing.T) {
	srv, prod := newTestServer(t, Options{Limits: Limits{SendsPerSecond: 0.5, SendBurst: 2, Addr: ClientAddr{Header: "X-Forwarded-For", TrustedProxies: loopback}}}, live.Options{})
	url := srv.URL + "/api/rooms/r/barrages"
	for i, want := range []int{202, 202, 429} {
		resp := post(t, url, map[string]string{"X-Forwarded-For": "203.0.113.7, 10.0.0.1"})
		if resp.StatusCode != want {
			t.Fatalf("send %d: %d, want %d", i, resp.StatusCode, want)
		}
		if want == 429 && resp.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
	}
	// Another client has its own budget.
	if resp := post(t, url, map[string]string{"X-Forwarded-For": "198.51.100.9"}); resp.StatusCode != 202 {
		t.Fatalf("other client: %d", resp.StatusCode)
	}
	if len(prod.got) != 3 {
		t.Fatalf("%d produced, want 3", len(prod.got))
	}
}

func TestCrossOriginSendRefused(t *testing.T) {
	srv, prod := newTestServer(t, Options{Limits: Limits{}}, live.Options{})
	url := srv.URL + "/api/rooms/r/barrages"
	resp := post(t, url, map[string]string{"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("cross-origin: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if resp := post(t, url, map[string]string{"Origin": srv.URL, "Sec-Fetch-Site": "same-origin"}); resp.StatusCode != 202 {
		t.Fatalf("same origin: %d", resp.StatusCode)
	}
	if len(prod.got) != 1 {
		t.Fatalf("%d produced, want 1", len(prod.got))
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"} {
		if got := resp.Header.Values(k); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %q, want just %q", k, got, want)
		}
	}
}

func openStream(t *testing.T, url string) *http.Response {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestStreamCaps(t *testing.T) {
	srv, _ := newTestServer(t, Options{Limits: Limits{StreamsPerClient: 2}}, live.Options{MaxPerRoom: 1, Linger: time.Millisecond})
	if r := openStream(t, srv.URL+"/api/rooms/a/stream"); r.StatusCode != 200 {
		t.Fatalf("first stream: %d", r.StatusCode)
	}
	// The room holds one viewer.
	if r := openStream(t, srv.URL+"/api/rooms/a/stream"); r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("full room: %d", r.StatusCode)
	}
	if r := openStream(t, srv.URL+"/api/rooms/b/stream"); r.StatusCode != 200 {
		t.Fatalf("second stream: %d", r.StatusCode)
	}
	// The client holds two streams.
	if r := openStream(t, srv.URL+"/api/rooms/c/stream"); r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" {
		t.Fatalf("third stream: %d", r.StatusCode)
	}
}

// TestBadLastEventID: an id longer than a position of the longest cursors is refused; a
// position's own length is not.
func TestBadLastEventID(t *testing.T) {
	srv, _ := newTestServer(t, Options{}, live.Options{})
	if r := openStream(t, srv.URL+"/api/rooms/a/stream?lastEventId="+strings.Repeat("f", 4000)); r.StatusCode != http.StatusBadRequest {
		t.Fatalf("long cursor: %d", r.StatusCode)
	}
	pos := strings.Repeat("0", 16) + strings.Repeat("."+strings.Repeat("1", 42), stream.MaxAhead)
	if r := openStream(t, srv.URL+"/api/rooms/a/stream?lastEventId="+pos); r.StatusCode != http.StatusOK {
		t.Fatalf("a full position: %d", r.StatusCode)
	}
}
