package telemetry

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the counters of every part, on one registry per process, served at /metrics.
// A role that does not run a part leaves its counters at zero.
type Metrics struct {
	reg *prometheus.Registry

	// HomePage
	Accepted      prometheus.Counter
	Rejected      *prometheus.CounterVec // by reason
	ProduceErrors prometheus.Counter

	// dispatcher
	Dispatched   *prometheus.CounterVec // by status code
	Retried      prometheus.Counter
	DeadLettered *prometheus.CounterVec // by: dispatcher or sink

	// dead-letter sink
	DeadLetterFailures prometheus.Counter
	DeadLetterRejected prometheus.Counter

	// processor
	Processed      prometheus.Counter
	Stored         prometheus.Counter
	Duplicates     prometheus.Counter
	EventsRejected prometheus.Counter
	StoreErrors    prometheus.Counter
	StoreBatch     prometheus.Histogram // barrages per store write: what group commit gathers

	// live streams
	Connections prometheus.Gauge
	Deliveries  prometheus.Counter // barrages written into viewers' streams
	Evictions   prometheus.Counter
	EndToEnd    prometheus.Histogram // accepted → published to viewers

	// notices: what the processor stored, told to every HomePage
	NoticesSent     prometheus.Counter
	NoticesFailed   prometheus.Counter
	NoticesReceived prometheus.Counter
	NoticesRefused  prometheus.Counter
	NoticesUp       prometheus.Gauge
	NoticesMissed   prometheus.Counter     // records a store read found that no notice had shown
	StoreReads      *prometheus.CounterVec // live feeds' store reads, by reason
}

// NewMetrics registers every metric, plus the Go runtime's and the process's.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := factory{reg}
	return &Metrics{
		reg:           reg,
		Accepted:      f.counter("barrage_accepted_total", "Barrages the HomePage accepted and Kafka acknowledged."),
		Rejected:      f.counterVec("barrage_rejected_total", "Sends refused before Kafka, by reason.", "reason"),
		ProduceErrors: f.counter("barrage_produce_errors_total", "Sends answered 503 because Kafka did not take them."),
		Dispatched:    f.counterVec("barrage_dispatched_total", "Events the dispatcher delivered, by the sink's status.", "status"),
		Retried:       f.counter("barrage_dispatch_retries_total", "Delivery attempts that were retries."),
		DeadLettered:  f.counterVec("barrage_dead_lettered_total", "Records written to the dead letter topic, by the part that wrote them: dispatcher or sink.", "by"),
		DeadLetterFailures: f.counter("barrage_dead_letter_sink_failures_total",
			"Dead letters the sink answered 5xx because Kafka did not acknowledge them; the source sends them again."),
		DeadLetterRejected: f.counter("barrage_dead_letter_sink_rejected_total", "Requests to the dead-letter sink refused as not a CloudEvent."),
		Processed:          f.counter("barrage_processed_total", "Barrages the processor validated and handed to the store."),
		Stored:             f.counter("barrage_stored_total", "Barrages written for the first time."),
		Duplicates:         f.counter("barrage_duplicates_total", "Redelivered barrages that were already stored."),
		EventsRejected:     f.counter("barrage_events_rejected_total", "Events the processor refused as never valid."),
		StoreErrors:        f.counter("barrage_store_errors_total", "Store writes that failed and will be retried."),
		StoreBatch: f.histogram("barrage_store_batch_size", "Barrages per store write: the events in flight that shared one commit.",
			[]float64{1, 2, 5, 10, 20, 50, 100, 200}),
		Connections: f.gauge("barrage_sse_connections", "Open live streams."),
		Deliveries:  f.counter("barrage_sse_deliveries_total", "Barrages written to viewers' live streams."),
		Evictions:   f.counter("barrage_sse_evictions_total", "Viewers cut off for not keeping up."),
		EndToEnd: f.histogram("barrage_end_to_end_latency_seconds", "From acceptance to publication on the room's live stream.",
			[]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}),
		NoticesSent:     f.counter("barrage_notices_produced_total", "Notices of stored barrages Kafka acknowledged."),
		NoticesFailed:   f.counter("barrage_notices_failed_total", "Notices dropped unsent; the write they follow stands, and feeds find its barrages by store read."),
		NoticesReceived: f.counter("barrage_notices_consumed_total", "Notices a HomePage read from the notice topic."),
		NoticesRefused:  f.counter("barrage_notices_refused_total", "Records on the notice topic that were not a notice the processor could have sent."),
		NoticesUp:       f.gauge("barrage_notices_following", "1 while the HomePage reads every partition of the notice topic, else 0."),
		NoticesMissed: f.counter("barrage_notices_lost_total",
			"Barrages a feed's store read found that no notice had shown: notices lost, late, over a room's early limit, or the topic down."),
		StoreReads: f.counterVec("barrage_live_store_reads_total", "Store reads of the live feeds, by reason: poll, notice, join or replay.", "reason"),
	}
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

type factory struct{ reg *prometheus.Registry }

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) counterVec(name, help, label string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, []string{label})
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	return h
}
