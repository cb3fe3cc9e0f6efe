package kafka

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/store"
)

// TestNoticesReachEveryFollower: two followers on the embedded broker each get every
// notice sent after they started, with no consumer group; a record that is no notice the
// processor could send is refused, not handed on.
func TestNoticesReachEveryFollower(t *testing.T) {
	b, err := StartBroker(BrokerOptions{Addr: "127.0.0.1:0", Partitions: 3, Topics: []string{"barrage-stored"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfg, err := NewConfig(config.Kafka{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	type follower struct {
		mu   sync.Mutex
		got  map[string]int
		up   atomic.Bool
		bad  atomic.Int64
		done chan struct{}
	}
	var fs []*follower
	for range 2 {
		f := &follower{got: map[string]int{}, done: make(chan struct{})}
		fs = append(fs, f)
		go func() {
			defer close(f.done)
			FollowNotices(ctx, []string{b.Addr()}, "barrage-stored", cfg, slog.New(slog.DiscardHandler),
				FollowHooks{Up: f.up.Store, Bad: func() { f.bad.Add(1) }}, func(n Notice) {
					f.mu.Lock()
					defer f.mu.Unlock()
					for _, r := range n.Records {
						f.got[r.ID]++
					}
				})
		}()
	}
	defer func() {
		cancel()
		for _, f := range fs {
			<-f.done
		}
	}()
	waitTrue(t, "the followers", func() bool { return fs[0].up.Load() && fs[1].up.Load() })

	var failed atomic.Int64
	p, err := NewNoticeProducer([]string{b.Addr()}, "barrage-stored", cfg, NoticeHooks{Failed: func() { failed.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 50 {
		room := []string{"a", "b", "c"}[i%3]
		bg, _ := barrage.Accept(room, barrage.Draft{Text: "stored"}, time.Now())
		want = append(want, bg.ID)
		p.Notice(room, []store.Record{{Barrage: bg, Cursor: "00000000000000aa" + store.Cursor(bg.ID)}})
	}
	// Not notices: garbage, a record of another room, a cursor that would split an id.
	raw, err := sarama.NewSyncProducer([]string{b.Addr()}, func() *sarama.Config { c := *cfg; c.Producer.Return.Successes = true; return &c }())
	if err != nil {
		t.Fatal(err)
	}
	bad, _ := barrage.Accept("x", barrage.Draft{Text: "forged"}, time.Now())
	for _, v := range []string{
		"not json",
		`{"room":"a","records":[{"id":"` + bad.ID + `","room":"x","text":"t","color":"#ffffff","mode":"scroll","acceptedAt":"2026-01-01T00:00:00Z","cursor":"0001"}]}`,
		`{"room":"x","records":[{"id":"` + bad.ID + `","room":"x","text":"t","color":"#ffffff","mode":"scroll","acceptedAt":"2026-01-01T00:00:00Z","cursor":"0001.0002"}]}`,
	} {
		if _, _, err := raw.SendMessage(&sarama.ProducerMessage{Topic: "barrage-stored", Value: sarama.StringEncoder(v)}); err != nil {
			t.Fatal(err)
		}
	}
	_ = raw.Close()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for i, f := range fs {
		waitTrue(t, "every notice", func() bool {
			f.mu.Lock()
			defer f.mu.Unlock()
			return len(f.got) >= len(want)
		})
		waitTrue(t, "the refusals", func() bool { return f.bad.Load() == 3 })
		f.mu.Lock()
		for _, id := range want {
			if f.got[id] != 1 {
				t.Errorf("follower %d got %s %d times", i, id, f.got[id])
			}
		}
		if f.got[bad.ID] != 0 {
			t.Errorf("follower %d was handed a forged notice", i)
		}
		f.mu.Unlock()
	}
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d notices failed on a healthy broker", n)
	}
}

func waitTrue(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFollowerSaysWhenTheTopicIsLost: a follower that was reading says it no longer is
// once its broker goes away, so the feeds poll at their interval meanwhile.
func TestFollowerSaysWhenTheTopicIsLost(t *testing.T) {
	b, err := StartBroker(BrokerOptions{Addr: "127.0.0.1:0", Partitions: 2, Topics: []string{"barrage-stored"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := NewConfig(config.Kafka{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var up, down atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		FollowNotices(ctx, []string{b.Addr()}, "barrage-stored", cfg, slog.New(slog.DiscardHandler),
			FollowHooks{Up: func(ok bool) {
				if ok {
					up.Add(1)
				} else {
					down.Add(1)
				}
			}}, func(Notice) {})
	}()
	defer func() { cancel(); <-done }()
	waitTrue(t, "the follower to read the topic", func() bool { return up.Load() == 1 })
	b.Close()
	waitTrue(t, "the follower to say the topic is lost", func() bool { return down.Load() >= 1 })
}
