package operator

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const token = "0123456789abcdef0123456789abcdef"

// serve sends one request through g to a handler that counts what it lets in.
func serve(g *Guard, passed *atomic.Int64, remote, auth string, hdr map[string]string) *httptest.ResponseRecorder {
	h := g.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		passed.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	req := httptest.NewRequest(http.MethodPost, "/api/rooms/r/load", strings.NewReader("{}"))
	req.RemoteAddr = remote
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestWrap(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		auth      string
		want      int
		challenge string
	}{
		{name: "no token configured is off", opts: Options{}, auth: "Bearer " + token, want: http.StatusNotFound},
		{name: "no token configured but open", opts: Options{Open: true}, want: http.StatusNoContent},
		{name: "token set wins over open", opts: Options{Token: token, Open: true}, want: http.StatusUnauthorized, challenge: "Bearer"},
		{name: "missing", opts: Options{Token: token}, want: http.StatusUnauthorized, challenge: "Bearer"},
		{name: "wrong", opts: Options{Token: token}, auth: "Bearer " + strings.Repeat("x", len(token)), want: http.StatusUnauthorized, challenge: `error="invalid_token"`},
		{name: "prefix of the token", opts: Options{Token: token}, auth: "Bearer " + token[:31], want: http.StatusUnauthorized, challenge: "Bearer"},
		{name: "token plus more", opts: Options{Token: token}, auth: "Bearer " + token + "x", want: http.StatusUnauthorized, challenge: "Bearer"},
		{name: "other scheme", opts: Options{Token: token}, auth: "Basic " + token, want: http.StatusUnauthorized, challenge: "Bearer"},
		{name: "scheme only", opts: Options{Token: token}, auth: "Bearer", want: http.StatusUnauthorized, challenge: "Bearer"},
		{name: "right", opts: Options{Token: token}, auth: "Bearer " + token, want: http.StatusNoContent},
		{name: "right, scheme in lower case", opts: Options{Token: token}, auth: "bearer " + token, want: http.StatusNoContent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var passed atomic.Int64
			rec := serve(New(tt.opts), &passed, "192.0.2.1:1234", tt.auth, nil)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if got := passed.Load() == 1; got != (tt.want == http.StatusNoContent) {
				t.Fatalf("handler reached = %v with status %d", got, rec.Code)
			}
			if tt.want != http.StatusNoContent && rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Errorf("content type %q", rec.Header().Get("Content-Type"))
			}
			if ch := rec.Header().Get("WWW-Authenticate"); !strings.Contains(ch, tt.challenge) || (tt.challenge != "" && !strings.HasPrefix(ch, "Bearer")) {
				t.Errorf("WWW-Authenticate = %q, want it to hold %q", ch, tt.challenge)
			}
		})
	}
}

func TestWrongTokensAreLimitedPerClient(t *testing.T) {
	// Keyed as the HomePage keys a client behind one trusted proxy: the header's entry.
	g := New(Options{Token: token, ClientKey: func(r *http.Request) string {
		first, _, _ := strings.Cut(r.Header.Get("X-Forwarded-For"), ",")
		return first
	}})
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return clock }
	var passed atomic.Int64
	wrong := "Bearer " + strings.Repeat("w", len(token))
	right := "Bearer " + token
	from := func(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip + ", 10.0.0.1"} }

	for i := range failureBurst {
		if rec := serve(g, &passed, "10.0.0.1:1", wrong, from("198.51.100.7")); rec.Code != http.StatusUnauthorized {
			t.Fatalf("wrong try %d: %d", i+1, rec.Code)
		}
	}
	// Out of tries: refused before the token is checked, even the right one.
	for _, auth := range []string{wrong, right} {
		rec := serve(g, &passed, "10.0.0.1:1", auth, from("198.51.100.7"))
		if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" {
			t.Fatalf("after %d wrong tries: %d, Retry-After %q", failureBurst, rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	if passed.Load() != 0 {
		t.Fatalf("a blocked client got through %d times", passed.Load())
	}
	// Another client behind the same proxy is not held up.
	if rec := serve(g, &passed, "10.0.0.1:1", right, from("203.0.113.9")); rec.Code != http.StatusNoContent {
		t.Fatalf("other client: %d", rec.Code)
	}
	// Asking without a token is no guess and spends nothing.
	for range 3 * failureBurst {
		serve(g, &passed, "10.0.0.1:1", "", from("203.0.113.10"))
	}
	if rec := serve(g, &passed, "10.0.0.1:1", right, from("203.0.113.10")); rec.Code != http.StatusNoContent {
		t.Fatalf("after requests without a token: %d", rec.Code)
	}
	// One try comes back per interval, no more.
	clock = clock.Add(failureEvery)
	if rec := serve(g, &passed, "10.0.0.1:1", wrong, from("198.51.100.7")); rec.Code != http.StatusUnauthorized {
		t.Fatalf("after waiting: %d", rec.Code)
	}
	if rec := serve(g, &passed, "10.0.0.1:1", right, from("198.51.100.7")); rec.Code != http.StatusTooManyRequests {
		t.Fatalf("second try after one interval: %d", rec.Code)
	}
}

func TestIdleClientsAreForgotten(t *testing.T) {
	g := New(Options{Token: token})
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return clock }
	var passed atomic.Int64
	for i := range 100 {
		serve(g, &passed, "192.0.2."+string(rune('0'+i%10))+":1", "Bearer nope", nil)
	}
	clock = clock.Add(2 * failureEvery * failureBurst)
	serve(g, &passed, "192.0.2.200:1", "Bearer nope", nil)
	g.mu.Lock()
	n := len(g.failures)
	g.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d clients remembered after they went idle, want 1", n)
	}
}

func TestWrongTokenTableIsBounded(t *testing.T) {
	g := New(Options{Token: token})
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return clock }
	for i := range maxTracked + 500 {
		clock = clock.Add(time.Millisecond)
		g.fail("client-" + strconv.Itoa(i))
	}
	if n := len(g.failures); n != maxTracked {
		t.Fatalf("%d clients on record, want the bound %d", n, maxTracked)
	}
	if _, ok := g.failures["client-0"]; ok {
		t.Fatal("the longest quiet client was kept")
	}
}
