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
	e2e, err := EndToEnd(ctx, t.TempDir(), []int{50, 60}, time.Second, time.Second)
	if err != nil || len(e2e.Steps) != 2 || len(e2e.Sustained) > sustainTries {
		t.Fatalf("end to end: %+v %v", e2e, err)
	}
	anyHeld := false
	for _, r := range append(e2e.Steps, e2e.Sustained...) {
		if r.Received < r.Accepted || r.Accepted == 0 {
			t.Fatalf("end to end run lost barrages: %+v", r)
		}
		anyHeld = anyHeld || r.Held
	}
	if anyHeld != (len(e2e.Sustained) > 0) {
		t.Fatalf("sustained runs %+v after steps %+v", e2e.Sustained, e2e.Steps)
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
	plotEndToEnd(&svg, append(e2e.Steps, EndToEndResult{TargetRate: 100, P50: 20, P99: 300}))
	if s := svg.String(); !strings.HasPrefix(s, "<svg") || strings.Count(s, "<circle") != 6 || !strings.HasSuffix(s, "</svg>\n") {
		t.Fatalf("plot of three steps:\n%s", s)
	}
	if err := writeReport(out, b.String()); err != nil {
		t.Fatal(err)
	}
	doc, _ := os.ReadFile(out)
	if s := string(doc); !strings.Contains(s, "prose stays") || !strings.Contains(s, "tail stays") || strings.Contains(s, "\nold\n") || !strings.Contains(s, "deliveries/s") {
		t.Fatalf("report not replaced between the markers:\n%s", s)
	}
}

func TestEndToEndReportNamesTheSustainedRate(t *testing.T) {
	var b strings.Builder
	writeEndToEnd(&b, EndToEndReport{
		Steps: []EndToEndResult{
			{TargetRate: 4000, AchievedRate: 3999, For: 15 * time.Second, Held: true},
			{TargetRate: 5000, AchievedRate: 4998, For: 15 * time.Second, Held: true},
		},
		Sustained: []EndToEndResult{
			{TargetRate: 5000, AchievedRate: 4990, For: time.Minute, P99: 400},
			{TargetRate: 4000, AchievedRate: 3995, For: time.Minute, P99: 120, Held: true},
		},
	}, "")
	s := b.String()
	for _, want := range []string{"for 15 s: **4998/s**", "for 60 s each", "Held for 60 s: **3995/s**"} {
		if !strings.Contains(s, want) {
			t.Errorf("report lacks %q:\n%s", want, s)
		}
	}
}

func TestMedianRunByLag(t *testing.T) {
	m := medianByLag([]FanoutResult{{LagP99: 300, Rate: 1}, {LagP99: 200, Rate: 2}, {LagP99: 250, Rate: 3}})
	if m.Rate != 3 || m.Runs != 3 || m.LagP99Low != 200 || m.LagP99High != 300 {
		t.Fatalf("median run: %+v", m)
	}
}

// TestHotRoomRunsSmall runs scenario 6 tiny: both orderings store barrages of the room,
// and the report names the ratio. The figures are not measurements.
func TestHotRoomRunsSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the broker, four processors and the Tablestore test server")
	}
	r, err := HotRoom(context.Background(), hotRoomTestRun)
	if err != nil {
		t.Fatal(err)
	}
	if r.Ordered.Stored == 0 || r.Unordered.Stored == 0 || r.Ratio <= 0 || r.Unordered.InFlight < 2 {
		t.Fatalf("hot room: %+v", r)
	}
	var b strings.Builder
	writeHotRoom(&b, r)
	if s := b.String(); !strings.Contains(s, "| ordered |") || !strings.Contains(s, "| unordered |") || !strings.Contains(s, "×**") {
		t.Fatalf("hot room report:\n%s", s)
	}
	t.Logf("%s", b.String())
}

// hotRoomTestRun is how long each ordering runs in the test: enough to store a few.
var hotRoomTestRun = 500 * time.Millisecond
