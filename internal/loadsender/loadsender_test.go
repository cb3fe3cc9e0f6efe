package loadsender

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/operator"
)

// fakePipeline records what it is sent; every fail-th send fails.
type fakePipeline struct {
	mu    sync.Mutex
	got   map[string]barrage.Draft
	calls atomic.Int64
	fail  int64
}

func (f *fakePipeline) send(ctx context.Context, room string, d barrage.Draft) (string, error) {
	n := f.calls.Add(1)
	time.Sleep(time.Millisecond) // a real send waits for Kafka; keep the counts modest
	if f.fail > 0 && n%f.fail == 0 {
		return "", errors.New("kafka: not taken")
	}
	id := barrage.NewID(time.Now())
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.got == nil {
		f.got = map[string]barrage.Draft{}
	}
	f.got[room+"/"+id] = d
	return id, nil
}

func (f *fakePipeline) stored() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

func waitDone(t *testing.T, s *Sender, room, id string) Progress {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p, ok := s.Progress(room, id)
		if !ok {
			t.Fatalf("run %s vanished", id)
		}
		if p.Done {
			return p
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("run %s not done in time", id)
	return Progress{}
}

func TestRunCountsMatchWhatWasSent(t *testing.T) {
	f := &fakePipeline{fail: 7}
	s := New(f.send, Limits{Enabled: true, MaxConcurrency: 8, MaxDuration: time.Second, MaxRate: 100_000})
	p, err := s.Start("room1", Request{Message: "hi", Concurrency: 4, Duration: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p = waitDone(t, s, "room1", p.ID)
	if p.Accepted == 0 || p.Failed == 0 {
		t.Fatalf("want accepted and failed sends, got %+v", p)
	}
	if p.Sent != p.Accepted+p.Failed {
		t.Errorf("sent %d != accepted %d + failed %d", p.Sent, p.Accepted, p.Failed)
	}
	if int64(f.stored()) != p.Accepted {
		t.Errorf("pipeline holds %d, run says %d accepted", f.stored(), p.Accepted)
	}
	if p.Sent != f.calls.Load() {
		t.Errorf("sent %d, pipeline saw %d calls", p.Sent, f.calls.Load())
	}
	if p.Remaining != 0 || p.Cancelled || p.LastFailure == "" {
		t.Errorf("final progress: %+v", p)
	}
}

func TestCancelStopsARun(t *testing.T) {
	f := &fakePipeline{}
	s := New(f.send, Limits{Enabled: true, MaxConcurrency: 2, MaxDuration: time.Minute, MaxRate: 100_000})
	p, err := s.Start("r", Request{Message: "hi", Concurrency: 2, Duration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Cancel("other-room", p.ID); ok {
		t.Fatal("a run was cancelled through another room")
	}
	if _, ok := s.Cancel("r", p.ID); !ok {
		t.Fatal("cancel: run not found")
	}
	p = waitDone(t, s, "r", p.ID)
	if !p.Cancelled || p.Elapsed > 30 {
		t.Fatalf("after cancel: %+v", p)
	}
	// Its concurrency is free again.
	if _, err := s.Start("r", Request{Message: "again", Concurrency: 2, Duration: 10 * time.Millisecond}); err != nil {
		t.Fatalf("start after cancel: %v", err)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestLimits(t *testing.T) {
	f := &fakePipeline{}
	s := New(f.send, Limits{Enabled: true, MaxConcurrency: 4, MaxDuration: 2 * time.Second, MaxRate: 100_000})
	tests := []struct {
		name      string
		req       Request
		wantField string
	}{
		{name: "empty message", req: Request{Message: " ", Concurrency: 1, Duration: time.Second}, wantField: "message"},
		{name: "long message", req: Request{Message: strings.Repeat("x", barrage.MaxTextRunes+1), Concurrency: 1, Duration: time.Second}, wantField: "message"},
		{name: "zero concurrency", req: Request{Message: "m", Concurrency: 0, Duration: time.Second}, wantField: "concurrency"},
		{name: "too much concurrency", req: Request{Message: "m", Concurrency: 5, Duration: time.Second}, wantField: "concurrency"},
		{name: "too long", req: Request{Message: "m", Concurrency: 1, Duration: 3 * time.Second}, wantField: "duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Start("r", tt.req)
			var fe *barrage.FieldError
			if !errors.As(err, &fe) || fe.Field != tt.wantField {
				t.Fatalf("err = %v, want a field error on %s", err, tt.wantField)
			}
		})
	}
	// Runs together stay within MaxConcurrency.
	p, err := s.Start("r", Request{Message: "m", Concurrency: 3, Duration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start("r2", Request{Message: "m", Concurrency: 2, Duration: time.Second}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second run over the limit: err = %v, want ErrBusy", err)
	}
	if _, err := s.Start("r2", Request{Message: "m", Concurrency: 1, Duration: 10 * time.Millisecond}); err != nil {
		t.Fatalf("second run within the limit: %v", err)
	}
	s.Cancel("r", p.ID)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start("r", Request{Message: "m", Concurrency: 1, Duration: time.Second}); !errors.Is(err, ErrClosed) {
		t.Fatalf("start after close: err = %v", err)
	}
}

func TestHTTP(t *testing.T) {
	f := &fakePipeline{}
	mux := http.NewServeMux()
	New(f.send, Limits{Enabled: true, MaxConcurrency: 4, MaxDuration: 5 * time.Second, MaxRate: 100_000}).Register(mux, operator.New(operator.Options{Open: true}).Wrap)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	post := func(body string) *http.Response {
		t.Helper()
		res, err := http.Post(srv.URL+"/api/rooms/r/load", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := post(`{"message":"hi","concurrency":9,"durationSeconds":1}`)
	var prob struct {
		Errors []struct{ Field, Reason string }
	}
	_ = json.NewDecoder(res.Body).Decode(&prob)
	res.Body.Close()
	if res.StatusCode != http.StatusUnprocessableEntity || res.Header.Get("Content-Type") != "application/problem+json" ||
		len(prob.Errors) != 1 || prob.Errors[0].Field != "concurrency" {
		t.Fatalf("over the limit: %d %s %+v", res.StatusCode, res.Header.Get("Content-Type"), prob)
	}

	res = post(`{"message":"hi","concurrency":2,"durationSeconds":0.2}`)
	var p Progress
	_ = json.NewDecoder(res.Body).Decode(&p)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted || p.ID == "" || res.Header.Get("Location") != "/api/rooms/r/load/"+p.ID {
		t.Fatalf("start: %d %+v", res.StatusCode, p)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !p.Done && time.Now().Before(deadline) {
		res, err := http.Get(srv.URL + "/api/rooms/r/load/" + p.ID)
		if err != nil {
			t.Fatal(err)
		}
		_ = json.NewDecoder(res.Body).Decode(&p)
		res.Body.Close()
	}
	if !p.Done || p.Accepted == 0 || int64(f.stored()) != p.Accepted {
		t.Fatalf("final: %+v, pipeline holds %d", p, f.stored())
	}
	res, err := http.Get(srv.URL + "/api/rooms/other/load/" + p.ID)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("run read through another room: %d", res.StatusCode)
	}
}

func TestDisabledAnswers404(t *testing.T) {
	mux := http.NewServeMux()
	New((&fakePipeline{}).send, Limits{Enabled: false, MaxConcurrency: 4, MaxDuration: time.Second}).Register(mux, operator.New(operator.Options{Token: testToken}).Wrap)
	for _, tc := range []struct{ method, path string }{
		{http.MethodGet, "/api/rooms/r/load"},
		{http.MethodPost, "/api/rooms/r/load"},
		{http.MethodGet, "/api/rooms/r/load/abc"},
		{http.MethodDelete, "/api/rooms/r/load/abc"},
	} {
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(`{"message":"m","concurrency":1,"durationSeconds":1}`))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
}
