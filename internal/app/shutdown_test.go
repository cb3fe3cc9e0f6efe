package app

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestShutdownRunsPhasesInOrder registers steps in the reverse of the order they must run
// in, as a role that starts its store last would, and a step that fails: every step
// still runs, phase by phase, and the error names its phase.
func TestShutdownRunsPhasesInOrder(t *testing.T) {
	a := &App{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var ran []string
	for p := phaseCount - 1; p >= 0; p-- {
		a.onStop(p, "first", func(context.Context) error { ran = append(ran, p.String()+" 1"); return nil })
		a.onStop(p, "second", func(context.Context) error {
			ran = append(ran, p.String()+" 2")
			if p == phaseStopLoad {
				return errors.New("workers still sending")
			}
			return nil
		})
	}
	err := a.Shutdown(context.Background())
	if err == nil || !strings.Contains(err.Error(), "stop load runs: second: workers still sending") {
		t.Fatalf("err = %v, want the failing step named with its phase", err)
	}
	var want []string
	for p := range phaseCount {
		want = append(want, p.String()+" 1", p.String()+" 2")
	}
	if !slices.Equal(ran, want) {
		t.Fatalf("ran %q\nwant %q", ran, want)
	}
	if !a.isDraining() {
		t.Fatal("not draining after shutdown")
	}
}

// TestDevShutdownOrder stops dev mode with a load run sending: the steps run in the
// stated order (accepting stops, sends drain, load workers return, deliveries finish,
// producers close, then the store and the broker), and none fails.
func TestDevShutdownOrder(t *testing.T) {
	a := startDev(t, t.TempDir(), nil)
	base := "http://" + a.HomePage
	resp, err := http.Post(base+"/api/rooms/load/load", "application/json",
		strings.NewReader(`{"message":"load","concurrency":8,"durationSeconds":30}`))
	if err != nil {
		t.Fatal(err)
	}
	var run struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&run)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("start load run: %s", resp.Status)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/api/rooms/load/load/" + run.ID)
		if err != nil {
			t.Fatal(err)
		}
		var p struct{ Accepted int }
		_ = json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if p.Accepted > 50 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("load run accepted %d", p.Accepted)
		}
		time.Sleep(20 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := a.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"stop accepting: homepage moderation book",
		"stop accepting: notice follower",
		"stop accepting: live streams",
		"stop accepting: homepage listener",
		"stop accepting: processor moderation book",
		"drain requests: homepage requests",
		"stop load runs: load runs",
		"stop deliveries: dispatcher",
		"stop processing: processor listener",
		"stop processing: processor requests",
		"stop processing: processor writers",
		"close producers: homepage producer",
		"close producers: moderation notice producer",
		"close producers: notice producer",
		"close producers: dead letter producer",
		"close store: store",
		"close broker: broker",
		"flush traces: tracing",
	}
	if got := a.stoppedSteps(); !slices.Equal(got, want) {
		t.Fatalf("shutdown ran\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("the HomePage still accepts connections after shutdown")
	}
}
