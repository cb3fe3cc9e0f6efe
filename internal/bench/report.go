package bench

import (
	"fmt"
	"io"
	"os"
	"strings"
)

const (
	beginMark = "<!-- bench:begin -->"
	endMark   = "<!-- bench:end -->"
)

// writeReport puts the results between the markers of path, keeping the prose around them.
func writeReport(path, results string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(old)
	i, j := strings.Index(doc, beginMark), strings.Index(doc, endMark)
	block := beginMark + "\n" + results + endMark
	if i < 0 || j < i {
		doc = strings.TrimRight(doc, "\n") + "\n\n" + block + "\n"
	} else {
		doc = doc[:i] + block + doc[j+len(endMark):]
	}
	return os.WriteFile(path, []byte(doc), 0o644)
}

func writeIngest(w io.Writer, r IngestResult) {
	fmt.Fprintf(w, "### 1. Ingest (%d concurrent senders; the median of %d alternating rounds of %.1f s each)\n\n", r.Workers, ingestRounds, r.Send.Seconds)
	fmt.Fprintf(w, "| handler | accepted/s | p50 ms | p99 ms |\n| --- | ---: | ---: | ---: |\n")
	fmt.Fprintf(w, "| bare `net/http` answering 202 | %.0f | %.2f | %.2f |\n", r.Bare.PerSecond, r.Bare.P50, r.Bare.P99)
	fmt.Fprintf(w, "| POST → Kafka acknowledgement | %.0f | %.2f | %.2f |\n\n", r.Send.PerSecond, r.Send.P50, r.Send.P99)
	fmt.Fprintf(w, "Ratio: **%.2f×** the bare handler (target ≥ 0.5×); rounds ranged %.2f× to %.2f×.", r.Ratio, r.Lowest, r.Highest)
	if r.Send.FirstError != "" {
		fmt.Fprintf(w, " First error seen: `%s`.", r.Send.FirstError)
	}
	fmt.Fprint(w, "\n\n")
}

// writeEndToEnd reports the steps and the sustained runs; plot, when set, names the SVG of
// the steps beside the report.
func writeEndToEnd(w io.Writer, rs EndToEndReport, plot string) {
	fmt.Fprint(w, "### 2. End to end, dev mode (acceptance → receipt on an SSE client)\n\n")
	if plot != "" {
		fmt.Fprintf(w, "![p50 and p99 latency by offered rate, log scale](%s)\n\n", plot)
	}
	best := endToEndTable(w, rs.Steps)
	fmt.Fprintf(w, "\nHighest rate that held p99 ≤ 250 ms with nothing missing, for %s: **%.0f/s**.\n\n",
		runLength(rs.Steps), best)
	if len(rs.Sustained) > 0 {
		fmt.Fprintf(w, "Then the highest rates that held, for %s each, until one holds:\n\n", runLength(rs.Sustained))
		best = endToEndTable(w, rs.Sustained)
		fmt.Fprintf(w, "\nHeld for %s: **%.0f/s** (target 10,000/s for 60 s).\n\n", runLength(rs.Sustained), best)
	}
}

// endToEndTable writes rs and returns the highest achieved rate among those that held.
func endToEndTable(w io.Writer, rs []EndToEndResult) float64 {
	fmt.Fprint(w, "| target/s | achieved/s | accepted | received | p50 ms | p99 ms | held | barrages per commit | cores | CPU µs per barrage |\n"+
		"| ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |\n")
	best := 0.0
	for _, r := range rs {
		fmt.Fprintf(w, "| %d | %.0f | %d | %d | %.1f | %.1f | %v | %.1f | %.2f | %.0f |\n",
			r.TargetRate, r.AchievedRate, r.Accepted, r.Received, r.P50, r.P99, r.Held, r.PerCommit, r.Cores, r.CPUPerBarrage)
		if r.Held && r.AchievedRate > best {
			best = r.AchievedRate
		}
	}
	return best
}

// runLength is how long each run of rs was to send, such as "15 s".
func runLength(rs []EndToEndResult) string {
	if len(rs) == 0 {
		return "0 s"
	}
	return fmt.Sprintf("%g s", rs[0].For.Seconds())
}

func writeFanout(w io.Writer, rs []FanoutResult) {
	if len(rs) == 0 {
		return
	}
	fmt.Fprintf(w, "### 3. Fan-out (%d viewers in one room, %.0f s per rate)\n\n", rs[0].Viewers, rs[0].Seconds)
	fmt.Fprint(w, "| barrages/s | runs | delivered | deliveries/s, steady | deliveries/s, whole run | "+
		"lag from publication, p50 / p99 ms | lag from acceptance, p50 / p99 ms | from acceptance, p99 of every run | "+
		"server CPU (cores) | viewer process CPU (cores) | failed streams |\n"+
		"| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |\n")
	for _, r := range rs {
		spread := "—"
		if r.Runs > 1 {
			spread = fmt.Sprintf("%.0f–%.0f", r.LagP99Low, r.LagP99High)
		}
		fmt.Fprintf(w, "| %d | %d | %d of %d | %.0f | %.0f | %.0f / %.0f | %.0f / %.0f | %s | %.2f | %.2f | %d |\n",
			r.Rate, max(r.Runs, 1), r.Delivered, int64(r.Published)*int64(r.Viewers), r.SteadyPerS, r.DeliveriesPerS,
			r.PublishedP50, r.PublishedP99, r.LagP50, r.LagP99, spread, r.ServerCores, r.ViewerCores, r.Failed)
	}
	fmt.Fprint(w, "\nPublication is when the store has the barrage and the room's feed can read it; acceptance is before the "+
		"store's write, so that lag also carries the write (a durable commit on this machine's disk takes about 1 ms, "+
		"and now and then 50–150 ms). A rate run more than once shows its median run by the p99 from acceptance. "+
		"Steady is the middle half of the publishing; the whole run is from the first publication to the last receipt, "+
		"so it also carries the last batch's lag. Target: ≥ 1,000,000 deliveries/s with p99 delivery lag ≤ 250 ms "+
		"at 100 barrages/s.\n\n")
}

func writeMemory(w io.Writer, r MemoryResult) {
	fmt.Fprintf(w, "### 4. Memory per idle SSE connection (%d connections)\n\n", r.Viewers)
	fmt.Fprintf(w, "Server RSS %.1f MiB → %.1f MiB: **%.1f KB per connection** (target ≤ 20 KB). "+
		"Of that, by the Go runtime's count: heap %.1f KB, goroutine stacks %.1f KB (%.1f goroutines).\n\n",
		float64(r.RSSBefore)/(1<<20), float64(r.RSSAfter)/(1<<20), r.PerConnection/1000,
		r.HeapPerConnection/1000, r.StackPerConnection/1000, r.GoroutinesPerConnection)
}

func writeProcessor(w io.Writer, rs []ProcessorResult) {
	fmt.Fprint(w, "### 5. Processor (CloudEvents over HTTP)\n\n")
	fmt.Fprint(w, "| store | concurrency | writers | group commit | events/s | p99 ms |\n| --- | ---: | ---: | --- | ---: | ---: |\n")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %d | %d | %v | %.0f | %.2f |\n", r.Store, r.Concurrency, r.Writers, r.Batching, r.PerSecond, r.P99)
	}
	fmt.Fprint(w, "\n")
}

func writeHotRoom(w io.Writer, r HotRoomReport) {
	fmt.Fprintf(w, "### 6. One hot room through the separate roles (%d processors, %d requests at once each, Tablestore test server +2 ms)\n\n",
		r.Unordered.Processors, hotRoomPerPod)
	fmt.Fprint(w, "| delivery | stored | seconds | barrages/s into one room |\n| --- | ---: | ---: | ---: |\n")
	for _, x := range []HotRoomResult{r.Ordered, r.Unordered} {
		fmt.Fprintf(w, "| %s | %d | %.1f | %.0f |\n", x.Ordering, x.Stored, x.Seconds, x.PerSecond)
	}
	fmt.Fprintf(w, "\nUnordered (%d deliveries in flight per partition) over ordered: **%.1f×** (target ≥ 1,000 barrages/s into one room).\n\n",
		r.Unordered.InFlight, r.Ratio)
}
