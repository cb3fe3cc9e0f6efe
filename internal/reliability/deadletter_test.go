package reliability

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/barrage-live/barrage/internal/processor"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/sqlite"
	"github.com/barrage-live/barrage/internal/store/storetest"
)

// shortRetries is a retry budget the test outlasts quickly: one retry after 10 ms.
var shortRetries = map[string]string{
	"BARRAGE_RETRY_COUNT": "1", "BARRAGE_RETRY_INTERVAL": "10ms", "BARRAGE_BACKOFF_POLICY": "exponential",
}

// failingStore is the embedded store in dir behind a switch, with a processor in this
// process on it that counts what it stores and what it finds stored already.
type failingStore struct {
	flaky              *storetest.Flaky
	url                string
	stored, duplicates atomic.Int64
}

func startFailingStore(t *testing.T, dir string) *failingStore {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "store"), store.Options{Retention: store.DefaultRetention})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &failingStore{flaky: storetest.NewFlaky(st)}
	f.url = serveProcessorHooks(t, f.flaky, processor.Hooks{
		New:        func(n int) { f.stored.Add(int64(n)) },
		Duplicates: func(n int) { f.duplicates.Add(int64(n)) },
	})
	return f
}

var redriveTotals = regexp.MustCompile(`redrive: done: read (\d+), redriven (\d+), skipped (\d+).*`)

// redriveRun runs `barrage redrive args...` against the pipeline's Kafka and returns how
// many records it redrove, from its last line.
func redriveRun(t *testing.T, p *pipeline, args ...string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"redrive"}, args...)...)
	cmd.Env = os.Environ()
	for k, v := range p.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redrive %v: %v\n%s", args, err, out)
	}
	m := redriveTotals.FindSubmatch(out)
	if m == nil {
		t.Fatalf("redrive %v printed no totals:\n%s", args, out)
	}
	read, _ := strconv.Atoi(string(m[1]))
	redriven, _ := strconv.Atoi(string(m[2]))
	t.Logf("redrive %v: %s", args, m[0])
	if read < redriven {
		t.Errorf("redrive read %d but redrove %d", read, redriven)
	}
	return redriven
}

// checkRedrive brings the store back, redrives, and checks every accepted barrage is stored
// once and shown once to v; then that a second run redrives nothing, and that a run in a
// group of its own (a room filter) redrives everything again and still changes nothing.
func checkRedrive(t *testing.T, p *pipeline, f *failingStore, room string, accepted map[string]bool, v *viewer) {
	t.Helper()
	if n := v.received(); n != 0 {
		t.Fatalf("the viewer got %d barrages while the store was down", n)
	}
	f.flaky.SetFailing(false)
	if n := redriveRun(t, p); n != len(accepted) {
		t.Fatalf("first redrive moved %d records, want %d", n, len(accepted))
	}
	checkDeliveredOnce(t, p.base, room, accepted, v)
	if n := redriveRun(t, p); n != 0 {
		t.Errorf("second redrive moved %d records, want 0: its group kept its position", n)
	}
	if n := redriveRun(t, p, "-room", room); n != len(accepted) {
		t.Fatalf("redrive -room %s moved %d records, want %d: a new group starts at the beginning", room, n, len(accepted))
	}
	waitUntil(t, "the processor to see every redriven barrage again", 90*time.Second, func() bool {
		return f.duplicates.Load() >= int64(len(accepted))
	})
	if got := f.stored.Load(); got != int64(len(accepted)) {
		t.Errorf("stored %d new barrages, want %d", got, len(accepted))
	}
	checkStoredOnce(t, p.base, room, accepted)
	checkSeenOnce(t, "viewer after the third redrive", v, accepted)
	if n := v.received(); n != len(accepted) {
		t.Errorf("the viewer got %d barrages in all, want %d", n, len(accepted))
	}
	t.Logf("%d accepted, %d stored once, %d later redeliveries found stored already, %d store calls refused",
		len(accepted), f.stored.Load(), f.duplicates.Load(), f.flaky.Refused())
}

// TestStoreDownPastRetriesThenRedrive: with the store down longer than the dispatcher's
// retry budget, every barrage is dead-lettered to the topic; once the store is back,
// `barrage redrive` brings each one back, stored once and shown once.
func TestStoreDownPastRetriesThenRedrive(t *testing.T) {
	dir := t.TempDir()
	f := startFailingStore(t, dir)
	f.flaky.SetFailing(true)
	env := map[string]string{"BARRAGE_DELIVERY_ORDERING": "unordered", "BARRAGE_DELIVERY_CONCURRENCY": "32"}
	for k, v := range shortRetries {
		env[k] = v
	}
	p := startPipelineWith(t, dir, env, f.url)
	const room = "dead-letter-dispatcher"
	v := watch(t, p.base, room, "")
	s := send(t, p.base, room, barrages, 500, 8)
	s.wait()
	accepted := s.ids()
	if len(accepted) != barrages {
		t.Fatalf("%d accepted, want %d", len(accepted), barrages)
	}
	waitUntil(t, "every barrage dead-lettered by the dispatcher", 2*time.Minute, func() bool {
		return metric(t, "http://"+p.dispatcher.addr, `barrage_dead_lettered_total{by="dispatcher"}`) >= barrages
	})
	checkRedrive(t, p, f, room, accepted, v)
}

// plainRecords are produced straight to the topic, as `kcat` would, so a KafkaSource wraps
// them as dev.knative.kafka.event; it returns the barrage id the processor derives for each.
func plainRecords(t *testing.T, brokers, topic, source, room string, n int) map[string]bool {
	t.Helper()
	cfg := sarama.NewConfig()
	cfg.Producer.Return.Successes = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	prod, err := sarama.NewSyncProducer([]string{brokers}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ids := map[string]bool{}
	for i := range n {
		part, off, err := prod.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(room),
			Value: sarama.StringEncoder(fmt.Sprintf(`{"text":"plain %d"}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(source + "\x00" + fmt.Sprintf("partition:%d/offset:%d", part, off)))
		ids["k"+hex.EncodeToString(sum[:15])] = true
	}
	return ids
}

// TestKafkaSourceDeadLettersToTheSinkThenRedrive is the same through the KafkaSource path:
// a KafkaSource stand-in delivers to the processor with Knative's retry rule and sends what
// runs out of retries to the `barrage deadletter` role, a process of its own, as the chart
// points it there. A hundred plain records, wrapped as dev.knative.kafka.event, go along.
func TestKafkaSourceDeadLettersToTheSinkThenRedrive(t *testing.T) {
	dir := t.TempDir()
	f := startFailingStore(t, dir)
	f.flaky.SetFailing(true)
	p := startRoles(t, dir, shortRetries, f.url, false)
	sink := startRole(t, "deadletter", p.env)
	k := startKafkaSourceStandIn(t, p.brokerAddr, "barrage-info", f.url, "http://"+sink.addr+"/", 1, 10*time.Millisecond)
	const room = "dead-letter-kafkasource"
	v := watch(t, p.base, room, "")
	s := send(t, p.base, room, barrages, 500, 8)
	plain := plainRecords(t, p.brokerAddr, "barrage-info", k.source, room, 100)
	s.wait()
	accepted := s.ids()
	if len(accepted) != barrages {
		t.Fatalf("%d accepted, want %d", len(accepted), barrages)
	}
	for id := range plain {
		accepted[id] = true
	}
	waitUntil(t, "every event dead-lettered to the sink", 2*time.Minute, func() bool {
		return k.deadLettered.Load()+k.deadLetterLost.Load() >= int64(len(accepted))
	})
	if lost := k.deadLetterLost.Load(); lost != 0 {
		t.Fatalf("%d dead letters refused by the sink, and their offsets committed", lost)
	}
	if got := metric(t, "http://"+sink.addr, `barrage_dead_lettered_total{by="sink"}`); got != float64(len(accepted)) {
		t.Errorf("the sink counted %v dead letters, want %d", got, len(accepted))
	}
	checkRedrive(t, p, f, room, accepted, v)
}
