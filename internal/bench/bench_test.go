package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/live"
)

// TestMain lets this test binary be the viewer process the scenarios start.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "bench-viewers" {
		if err := runViewers(context.Background(), os.Args[2:], os.Stdout); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestScenariosRunSmall runs each scenario tiny, to keep the harness working; the figures
// it prints are not measurements.
func TestScenariosRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole pipeline")
	}
	ctx := context.Background()
	fan, err := Fanout(ctx, t.TempDir(), 20, 50, time.Second, live.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fan.Viewers != 20 || fan.DeliveriesPerS <= 0 || fan.Delivered != int64(fan.Published)*20 {
		t.Fatalf("fan-out: %+v", fan)
	}
	mem, err := IdleMemory(ctx, t.TempDir(), 20)
	if err != nil || mem.Viewers != 20 {
		t.Fatalf("memory: %+v %v", mem, err)
	}
	in, err := Ingest(ctx, t.TempDir(), 4, 500*time.Millisecond)
	if err != nil || in.Send.OK == 0 || in.Bare.OK == 0 {
		t.Fatalf("ingest: %+v %v", in, err)
	}
	e2e, err := EndToEnd(ctx, t.TempDir(), []int{50}, time.Second)
	if err != nil || len(e2e) != 1 || e2e[0].Received < e2e[0].Accepted || e2e[0].Accepted == 0 {
		t.Fatalf("end to end: %+v %v", e2e, err)
	}
	proc, err := Processor(ctx, t.TempDir(), 200*time.Millisecond)
	if err != nil || len(proc) == 0 || proc[0].PerSecond <= 0 {
		t.Fatalf("processor: %+v %v", proc, err)
	}

	out := filepath.Join(t.TempDir(), "bench.md")
	if err := os.WriteFile(out, []byte("# Benchmarks\n\nprose stays\n\n"+beginMark+"\nold\n"+endMark+"\n\ntail stays\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	writeFanout(&b, []FanoutResult{fan})
	var svg strings.Builder
	plotEndToEnd(&svg, append(e2e, EndToEndResult{TargetRate: 100, P50: 20, P99: 300}))
	if s := svg.String(); !strings.HasPrefix(s, "<svg") || strings.Count(s, "<circle") != 4 || !strings.HasSuffix(s, "</svg>\n") {
		t.Fatalf("plot of two steps:\n%s", s)
	}
	if err := writeReport(out, b.String()); err != nil {
		t.Fatal(err)
	}
	doc, _ := os.ReadFile(out)
	if s := string(doc); !strings.Contains(s, "prose stays") || !strings.Contains(s, "tail stays") || strings.Contains(s, "\nold\n") || !strings.Contains(s, "deliveries/s") {
		t.Fatalf("report not replaced between the markers:\n%s", s)
	}
}

func TestMedianRunByLag(t *testing.T) {
	m := medianByLag([]FanoutResult{{LagP99: 300, Rate: 1}, {LagP99: 200, Rate: 2}, {LagP99: 250, Rate: 3}})
	if m.Rate != 3 || m.Runs != 3 || m.LagP99Low != 200 || m.LagP99High != 300 {
		t.Fatalf("median run: %+v", m)
	}
}
