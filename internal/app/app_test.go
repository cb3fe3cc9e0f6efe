package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/live/livetest"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/telemetry"
)

// startDev starts the whole program in this process on free ports, keeping data in dir.
func startDev(t *testing.T, dir string, extra map[string]string) *App {
	t.Helper()
	a, _ := startDevLogged(t, dir, extra)
	return a
}

// startDevLogged is startDev that also returns what the process logged.
func startDevLogged(t *testing.T, dir string, extra map[string]string) (*App, *syncWriter) {
	t.Helper()
	env := map[string]string{
		"PORT": "0", "BARRAGE_PROCESSOR_PORT": "0", "BARRAGE_BROKER_ADDR": "127.0.0.1:0",
		"BARRAGE_DATA_DIR": dir, "BARRAGE_SENSITIVE_WORDS": "darn,heck",
	}
	for k, v := range extra {
		env[k] = v
	}
	return startRole(t, config.RoleDev, env)
}

// startRole starts role in this process with env as its whole environment, and shuts it
// down when the test ends; it also returns what the process logged.
func startRole(t *testing.T, role config.Role, env map[string]string) (*App, *syncWriter) {
	t.Helper()
	cfg, err := config.Parse(role, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncWriter{w: &bytes.Buffer{}}
	a, err := Start(context.Background(), cfg, telemetry.NewLogger(logs, "debug", false, cfg.Secrets()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return a, logs
}

func send(t *testing.T, base, room, body string) (int, map[string]any) {
	t.Helper()
	status, out, err := post(base, room, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, out
}

// post is send for a goroutine other than the test's.
func post(base, room, body string) (int, map[string]any, error) {
	req, _ := http.NewRequest(http.MethodPost, base+"/api/rooms/"+room+"/barrages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out, nil
}

// stream subscribes to a room and delivers each barrage it receives.
func stream(t *testing.T, base, room string) <-chan store.Record {
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
	out := make(chan store.Record, 1024)
	go func() {
		defer resp.Body.Close()
		_ = livetest.ReadBarrages(resp.Body, func(_ string, recs []store.Record) {
			for _, r := range recs {
				out <- r
			}
		})
	}()
	return out
}

func receive(t *testing.T, ch <-chan store.Record, match func(store.Record) bool) store.Record {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case r := <-ch:
			if match(r) {
				return r
			}
		case <-deadline:
			t.Fatal("the barrage never arrived on the stream")
		}
	}
}

func TestSendThenStreamWithMasking(t *testing.T) {
	a := startDev(t, t.TempDir(), nil)
	base := "http://" + a.HomePage
	feed := stream(t, base, "e2e")
	status, out := send(t, base, "e2e", `{"text":"well DARN it","color":"#ff0000","mode":"top"}`)
	if status != http.StatusAccepted {
		t.Fatalf("send: %d %v", status, out)
	}
	id, _ := out["id"].(string)
	got := receive(t, feed, func(r store.Record) bool { return r.ID == id })
	if got.Text != "well **** it" || got.Color != "#ff0000" || got.Mode != "top" || got.Room != "e2e" {
		t.Fatalf("streamed %+v", got)
	}
}

func TestBadInputGetsProblemDetails(t *testing.T) {
	a := startDev(t, t.TempDir(), nil)
	base := "http://" + a.HomePage
	tests := []struct {
		name, contentType, body string
		status                  int
		mention                 string
	}{
		{"empty text", "application/json", `{"text":""}`, 422, "text"},
		{"too long", "application/json", `{"text":"` + strings.Repeat("長", 101) + `"}`, 422, "limit is 100"},
		{"invalid utf-8", "application/json", "{\"text\":\"a\xff\"}", 400, "UTF-8"},
		{"unknown mode", "application/json", `{"text":"a","mode":"diagonal"}`, 422, "mode"},
		{"bad color", "application/json", `{"text":"a","color":"blue"}`, 422, "color"},
		{"body too large", "application/json", `{"text":"` + strings.Repeat("a", 5000) + `"}`, 413, "larger than"},
		{"wrong content type", "text/plain", `{"text":"a"}`, 415, "Content-Type"},
		{"not json", "application/json", `{"text":`, 400, "JSON"},
		{"unknown field", "application/json", `{"text":"a","colour":"#ffffff"}`, 400, "colour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, base+"/api/rooms/r/barrages", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.contentType)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			if !strings.Contains(string(body), tt.mention) {
				t.Fatalf("problem does not mention %q: %s", tt.mention, body)
			}
		})
	}
	if status, _ := send(t, base, "bad%2Froom", `{"text":"a"}`); status != 400 {
		t.Fatalf("bad room: %d", status)
	}
}

// TestKcatTalksToTheEmbeddedBroker uses a Kafka client we did not write: it lists the topic,
// then produces a plain JSON barrage that must reach the room's stream.
func TestKcatTalksToTheEmbeddedBroker(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install -y kcat)")
	}
	a := startDev(t, t.TempDir(), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, kcat, "-b", a.Broker, "-L").CombinedOutput()
	if err != nil || !strings.Contains(string(out), `topic "barrage-info"`) {
		t.Fatalf("kcat -L: %v\n%s", err, out)
	}
	feed := stream(t, "http://"+a.HomePage, "kcat")
	cmd := exec.CommandContext(ctx, kcat, "-b", a.Broker, "-P", "-t", "barrage-info", "-K", ":")
	cmd.Stdin = strings.NewReader(`kcat:{"text":"typed by hand, heck"}` + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	got := receive(t, feed, func(r store.Record) bool { return strings.HasPrefix(r.Text, "typed by hand") })
	if got.Text != "typed by hand, ****" || got.Room != "kcat" {
		t.Fatalf("streamed %+v", got)
	}
}

func TestRestartKeepsHistory(t *testing.T) {
	dir := t.TempDir()
	a := startDev(t, dir, nil)
	base := "http://" + a.HomePage
	feed := stream(t, base, "kept")
	_, out := send(t, base, "kept", `{"text":"still here"}`)
	receive(t, feed, func(r store.Record) bool { return r.ID == out["id"] })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	b := startDev(t, dir, nil)
	resp, err := http.Get("http://" + b.HomePage + "/api/rooms/kept/barrages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct{ Barrages []store.Record }
	if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
		t.Fatal(err)
	}
	if len(page.Barrages) != 1 || page.Barrages[0].ID != out["id"] {
		t.Fatalf("history after restart: %+v", page.Barrages)
	}
}
