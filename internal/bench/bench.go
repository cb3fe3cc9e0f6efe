// Package bench is the benchmark harness behind `barrage-bench`: scenarios that start the
// real parts on loopback, bound themselves in count and time, and write what they
// measured to docs/benchmarks.md.
package bench

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/barrage-live/barrage/internal/live"
)

// Main runs `barrage-bench` (and the hidden viewer process it starts).
func Main(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "bench-viewers" {
		return runViewers(ctx, args[1:], stdout)
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stdout)
	only := fs.String("scenario", "all", "ingest, e2e, fanout, memory, processor, hotroom or all")
	out := fs.String("out", "", "write the results as Markdown to this file, such as docs/benchmarks.md")
	short := fs.Bool("short", false, "short runs, to check the harness rather than to measure")
	batch := fs.Duration("batch", 0, "fan-out: shortest gap between two events of a room (0 is the server's default)")
	perViewer := fs.Duration("tick-per-viewer", 0, "fan-out: how much a room's gap grows with each viewer (0 is the server's default)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file")
	rate := fs.Int("rate", 0, "end to end and fan-out: one rate to hold instead of the steps")
	sustain := fs.Duration("sustain", time.Minute, "end to end: how long the best rates are then held (0 skips)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	dir, err := os.MkdirTemp("", "barrage-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	scale := func(d time.Duration) time.Duration {
		if *short {
			return d / 10
		}
		return d
	}
	var report strings.Builder
	fmt.Fprintf(&report, "Machine: %d cores (%s/%s), %s. Command: `go run ./cmd/barrage-bench%s`.\n\n",
		runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(), flagsOf(args))
	run := func(name string) bool { return *only == "all" || *only == name }
	sub := func(name string) string { d, _ := os.MkdirTemp(dir, name); return d }

	if run("ingest") {
		r, err := Ingest(ctx, sub("ingest"), 64, scale(10*time.Second))
		if err != nil {
			return fmt.Errorf("bench: ingest: %w", err)
		}
		writeIngest(&report, r)
	}
	if run("e2e") {
		rates := []int{2000, 3000, 4000, 5000, 6000, 10000}
		if *rate > 0 {
			rates = []int{*rate}
		}
		hold := scale(*sustain)
		if *rate > 0 {
			hold = 0 // one rate asked for: just that
		}
		rs, err := EndToEnd(ctx, sub("e2e"), rates, scale(15*time.Second), hold)
		if err != nil {
			return fmt.Errorf("bench: e2e: %w", err)
		}
		plot := ""
		if *out != "" && len(rs.Steps) > 1 {
			plot = "benchmarks-e2e.svg"
			var svg strings.Builder
			plotEndToEnd(&svg, rs.Steps)
			if err := os.WriteFile(filepath.Join(filepath.Dir(*out), plot), []byte(svg.String()), 0o644); err != nil {
				return err
			}
		}
		writeEndToEnd(&report, rs, plot)
	}
	fanRates := []int{100, 200, 300}
	if *rate > 0 {
		fanRates = []int{*rate}
	}
	if run("fanout") {
		n := 10000
		if *short {
			n = 1000
		}
		// The rate, then twice and three times it: how far batching carries, and
		// where it bends. The first rate runs three times, and the run with the median
		// p99 lag is reported with the range of all three: one run on a shared machine can
		// catch a stall.
		var rs []FanoutResult
		for i, rate := range fanRates {
			runs := 1
			if i == 0 && !*short {
				runs = 3
			}
			var tries []FanoutResult
			for range runs {
				r, err := Fanout(ctx, sub("fanout"), n, rate, scale(20*time.Second), live.Options{BatchInterval: *batch, TickPerViewer: *perViewer})
				if err != nil {
					return fmt.Errorf("bench: fanout: %w", err)
				}
				tries = append(tries, r)
			}
			rs = append(rs, medianByLag(tries))
		}
		writeFanout(&report, rs)
	}
	if run("memory") {
		n := 10000
		if *short {
			n = 1000
		}
		r, err := IdleMemory(ctx, sub("memory"), n)
		if err != nil {
			return fmt.Errorf("bench: memory: %w", err)
		}
		writeMemory(&report, r)
	}
	if run("processor") {
		rs, err := Processor(ctx, sub("processor"), scale(5*time.Second))
		if err != nil {
			return fmt.Errorf("bench: processor: %w", err)
		}
		writeProcessor(&report, rs)
	}
	if run("hotroom") {
		r, err := HotRoom(ctx, scale(10*time.Second))
		if err != nil {
			return fmt.Errorf("bench: hot room: %w", err)
		}
		writeHotRoom(&report, r)
	}
	fmt.Fprint(stdout, report.String())
	if *out != "" {
		return writeReport(*out, report.String())
	}
	return nil
}

func flagsOf(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return " " + strings.Join(args, " ")
}
