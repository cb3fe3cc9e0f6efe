package loadsender

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/operator"
)

const testToken = "0123456789abcdef0123456789abcdef"

func TestRunsTogetherStayWithinMaxRate(t *testing.T) {
	f := &fakePipeline{}
	const maxRate = 50
	s := New(f.send, Limits{Enabled: true, MaxConcurrency: 16, MaxDuration: 5 * time.Second, MaxRate: maxRate})
	a, err := s.Start("room-a", Request{Message: "a", Concurrency: 8, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Start("room-b", Request{Message: "b", Concurrency: 8, Duration: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	a, b = waitDone(t, s, "room-a", a.ID), waitDone(t, s, "room-b", b.ID)
	// From the first start to the last end, by the runs' own clocks; the shared bucket
	// lets through at most one more than the rate over that span.
	end := a.StartedAt.Add(time.Duration(a.Elapsed * float64(time.Second)))
	if e := b.StartedAt.Add(time.Duration(b.Elapsed * float64(time.Second))); e.After(end) {
		end = e
	}
	span := end.Sub(a.StartedAt).Seconds()
	bound := int64(maxRate*span) + 1
	total := a.Sent + b.Sent
	t.Logf("two runs sent %d and %d barrages in %.2f s at a cap of %d/s (bound %d)", a.Sent, b.Sent, span, maxRate, bound)
	if total > bound {
		t.Fatalf("runs sent %d barrages in %.2f s, more than %d/s allows (%d)", total, span, maxRate, bound)
	}
	if a.Sent == 0 || b.Sent == 0 {
		t.Fatalf("a run sent nothing: %d and %d", a.Sent, b.Sent)
	}
	if f.calls.Load() != total {
		t.Fatalf("pipeline saw %d sends, runs counted %d", f.calls.Load(), total)
	}
}

func TestOneRunPerRoom(t *testing.T) {
	f := &fakePipeline{}
	s := New(f.send, Limits{Enabled: true, MaxConcurrency: 8, MaxDuration: time.Minute, MaxRate: 10})
	first, err := s.Start("r", Request{Message: "m", Concurrency: 1, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Start("r", Request{Message: "m", Concurrency: 1, Duration: time.Second})
	var rb *RoomBusyError
	if !errors.As(err, &rb) || rb.Run != first.ID || rb.Room != "r" {
		t.Fatalf("second run in the room: err = %v, want one naming run %s", err, first.ID)
	}
	other, err := s.Start("elsewhere", Request{Message: "m", Concurrency: 1, Duration: time.Minute})
	if err != nil {
		t.Fatalf("a run in another room: %v", err)
	}
	// A slow pace does not hold up a cancel: the wait for the next turn ends with the run.
	s.Cancel("r", first.ID)
	waitDone(t, s, "r", first.ID)
	if _, err := s.Start("r", Request{Message: "m", Concurrency: 1, Duration: 10 * time.Millisecond}); err != nil {
		t.Fatalf("start after the room's run ended: %v", err)
	}
	s.Cancel("elsewhere", other.ID)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEveryRouteNeedsTheToken(t *testing.T) {
	f := &fakePipeline{}
	s := New(f.send, Limits{Enabled: true, MaxConcurrency: 4, MaxDuration: time.Second, MaxRate: 100})
	mux := http.NewServeMux()
	s.Register(mux, operator.New(operator.Options{Token: testToken}).Wrap)
	routes := []struct{ method, path string }{
		{http.MethodGet, "/api/rooms/r/load"},
		{http.MethodPost, "/api/rooms/r/load"},
		{http.MethodGet, "/api/rooms/r/load/abc"},
		{http.MethodDelete, "/api/rooms/r/load/abc"},
	}
	for _, auth := range []string{"", "Bearer wrong-" + testToken} {
		for _, rt := range routes {
			t.Run(rt.method+" "+rt.path+" "+auth, func(t *testing.T) {
				req := httptest.NewRequest(rt.method, rt.path, strings.NewReader(`{"message":"m","concurrency":1,"durationSeconds":1}`))
				req.Header.Set("Content-Type", "application/json")
				// Each request from its own client, so the wrong-token limit does not interfere.
				req.RemoteAddr = "192.0.2." + string(rune('1'+len(auth)%8)) + ":1"
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") ||
					rec.Header().Get("Content-Type") != "application/problem+json" {
					t.Fatalf("%d, WWW-Authenticate %q, %s", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Header().Get("Content-Type"))
				}
			})
		}
	}
	s.mu.Lock()
	n := len(s.runs)
	s.mu.Unlock()
	if n != 0 || f.calls.Load() != 0 {
		t.Fatalf("refused requests started %d runs and %d sends", n, f.calls.Load())
	}
}
