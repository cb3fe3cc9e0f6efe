package reliability

import (
	"context"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// barrages each fault test sends while the fault happens.
const barrages = 2000

// killMidRun sends barrages into a fresh pipeline, stops the role that pick returns a
// quarter of the way in, starts it again half way, and checks every accepted barrage is
// stored once and streamed once.
func killMidRun(t *testing.T, room string, sig syscall.Signal, pick func(*pipeline) *role) {
	p := startPipeline(t, nil)
	v := watch(t, p.base, room, "")
	s := send(t, p.base, room, barrages, 500, 8)
	waitUntil(t, "a quarter accepted", time.Minute, func() bool { return s.sent.Load() >= barrages/4 })
	r := pick(p)
	r.stop(sig)
	waitUntil(t, "half accepted while it is down", time.Minute, func() bool { return s.sent.Load() >= barrages/2 })
	r.start()
	s.wait()
	accepted := s.ids()
	if len(accepted) != barrages {
		t.Fatalf("%d barrages accepted, want %d", len(accepted), barrages)
	}
	checkDeliveredOnce(t, p.base, room, accepted, v)
}

func TestProcessorKilledAndRestarted(t *testing.T) {
	killMidRun(t, "kill-processor", syscall.SIGKILL, func(p *pipeline) *role { return p.processor })
}

func TestDispatcherKilledAndRestarted(t *testing.T) {
	killMidRun(t, "kill-dispatcher", syscall.SIGKILL, func(p *pipeline) *role { return p.dispatcher })
}

// TestBrokerRestarted: while the broker is down the HomePage answers 503 with Retry-After,
// and what it accepted before and after is all there.
func TestBrokerRestarted(t *testing.T) {
	p := startPipeline(t, nil)
	const room = "broker-restart"
	v := watch(t, p.base, room, "")
	s := send(t, p.base, room, barrages, 500, 8)
	waitUntil(t, "a quarter accepted", time.Minute, func() bool { return s.sent.Load() >= barrages/4 })
	p.broker.stop(syscall.SIGTERM)
	waitUntil(t, "503 answers while the broker is down", time.Minute, func() bool { return s.unavailable.Load() >= 10 })
	p.broker.start()
	s.wait()
	if s.retryAfter.Load() != s.unavailable.Load() {
		t.Errorf("%d of %d 503 answers had Retry-After", s.retryAfter.Load(), s.unavailable.Load())
	}
	checkDeliveredOnce(t, p.base, room, s.ids(), v)
}

// TestHomePageRollingRestart: SIGTERM drains the HomePage; senders retry, the viewer
// reconnects with Last-Event-ID, and nothing accepted is lost or shown twice.
func TestHomePageRollingRestart(t *testing.T) {
	p := startPipeline(t, nil)
	const room = "rolling"
	first := watch(t, p.base, room, "")
	s := send(t, p.base, room, barrages, 500, 8)
	waitUntil(t, "a third accepted", time.Minute, func() bool { return s.sent.Load() >= barrages/3 })
	p.homepage.stop(syscall.SIGTERM)
	<-first.done // the drain ends the stream cleanly
	p.homepage.start()
	second := watch(t, p.base, room, first.last())
	s.wait()
	accepted := s.ids()
	waitUntil(t, "both viewers together to have everything", 90*time.Second, func() bool {
		return first.received()+second.received() >= len(accepted)
	})
	merged := mergeViewers(first, second)
	checkStoredOnce(t, p.base, room, accepted)
	checkSeenOnce(t, "viewer across the restart", merged, accepted)
}

// TestViewerResumesWithLastEventID: a viewer leaves mid-run and comes back with the last
// event id it saw; between the two connections it gets each barrage exactly once.
func TestViewerResumesWithLastEventID(t *testing.T) {
	p := startPipeline(t, nil)
	const room = "resume"
	steady := watch(t, p.base, room, "")
	first := watch(t, p.base, room, "")
	s := send(t, p.base, room, barrages, 500, 8)
	waitUntil(t, "the viewer to see a third", time.Minute, func() bool { return first.received() >= barrages/3 })
	first.close()
	waitUntil(t, "more barrages while it is away", time.Minute, func() bool { return steady.received() >= barrages*2/3 })
	second := watch(t, p.base, room, first.last())
	s.wait()
	accepted := s.ids()
	waitUntil(t, "the resumed viewer to catch up", 90*time.Second, func() bool {
		return first.received()+second.received() >= len(accepted)
	})
	merged := mergeViewers(first, second)
	checkSeenOnce(t, "resumed viewer", merged, accepted)
	waitReceived(t, steady, len(accepted))
	checkSeenOnce(t, "steady viewer", steady, accepted)
}

// TestPoisonRecordsGoToTheDeadLetter types records no processor can take straight into the
// topic with kcat; they land in the dead letter topic and barrages keep flowing.
func TestPoisonRecordsGoToTheDeadLetter(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install -y kcat)")
	}
	p := startPipeline(t, map[string]string{"BARRAGE_RETRY_COUNT": "2", "BARRAGE_RETRY_INTERVAL": "50ms"})
	const room = "poison"
	v := watch(t, p.base, room, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	produce := exec.CommandContext(ctx, kcat, "-b", p.brokerAddr, "-P", "-t", "barrage-info", "-K", "|")
	produce.Stdin = strings.NewReader("poison|not json at all\npoison|{\"text\":\"\"}\npoison|{\"text\":\"<script>\",\"color\":\"red\"}\n")
	if out, err := produce.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v\n%s", err, out)
	}
	s := send(t, p.base, room, barrages, 500, 8)
	s.wait()
	checkDeliveredOnce(t, p.base, room, s.ids(), v)

	consume := exec.CommandContext(ctx, kcat, "-b", p.brokerAddr, "-C", "-t", "barrage-info-dead-letter", "-o", "beginning", "-c", "3", "-e", "-f", "%h|%s\n")
	out, err := consume.CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -C: %v\n%s", err, out)
	}
	for _, want := range []string{"not json at all", `{"text":""}`, `"color":"red"`, "x-barrage-dead-letter-status=400"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("dead letter topic lacks %q:\n%s", want, out)
		}
	}
}

// mergeViewers adds up what several connections of one viewer received.
func mergeViewers(vs ...*viewer) *viewer {
	merged := &viewer{counts: map[string]int{}}
	for _, v := range vs {
		v.mu.Lock()
		for id, n := range v.counts {
			merged.counts[id] += n
		}
		v.mu.Unlock()
	}
	return merged
}
