package redrive

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/barrage-live/barrage/internal/config"
	"github.com/barrage-live/barrage/internal/kafka"
)

const (
	deadLetters = "barrage-info-dead-letter"
	barrages    = "barrage-info"
)

func setup(t *testing.T, rooms ...string) (string, *sarama.Config) {
	t.Helper()
	b, err := kafka.StartBroker(kafka.BrokerOptions{Addr: "127.0.0.1:0", Partitions: 3, Topics: []string{barrages, deadLetters}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cfg, err := kafka.NewConfig(config.Kafka{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	pc := *cfg
	pc.Producer.Return.Successes = true
	p, err := sarama.NewSyncProducer([]string{b.Addr()}, &pc)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var msgs []*sarama.ProducerMessage
	for i, room := range rooms {
		msgs = append(msgs, &sarama.ProducerMessage{
			Topic: deadLetters, Key: sarama.StringEncoder(room),
			Value: sarama.StringEncoder(fmt.Sprintf(`{"id":"b%d","room":%q,"text":"t"}`, i, room)),
			Headers: []sarama.RecordHeader{
				{Key: []byte("ce_specversion"), Value: []byte("1.0")},
				{Key: []byte("ce_id"), Value: []byte(fmt.Sprintf("b%d", i))},
				{Key: []byte("traceparent"), Value: []byte("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")},
				{Key: []byte("ce_knativeerrorcode"), Value: []byte("503")},
				{Key: []byte("ce_knativeerrordest"), Value: []byte("http://processor")},
				{Key: []byte("x-barrage-dead-letter-reason"), Value: []byte("store down")},
			},
		})
	}
	if err := p.SendMessages(msgs); err != nil {
		t.Fatal(err)
	}
	return b.Addr(), cfg
}

// barrageTopic reads every record of the barrage topic.
func barrageTopic(t *testing.T, addr string) []*sarama.ConsumerMessage {
	t.Helper()
	c, err := sarama.NewConsumer([]string{addr}, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []*sarama.ConsumerMessage
	for p := int32(0); p < 3; p++ {
		pc, err := c.ConsumePartition(barrages, p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		for n := int64(0); n < pc.HighWaterMarkOffset(); n++ {
			select {
			case m := <-pc.Messages():
				out = append(out, m)
			case <-time.After(10 * time.Second):
				t.Fatalf("partition %d: read %d of %d", p, n, pc.HighWaterMarkOffset())
			}
		}
		pc.Close()
	}
	return out
}

func redrive(t *testing.T, addr string, cfg *sarama.Config, o Options) (Totals, string) {
	t.Helper()
	o.Brokers, o.From, o.To = []string{addr}, deadLetters, barrages
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	tot, err := Run(ctx, o, cfg, &out)
	if err != nil {
		t.Fatalf("redrive: %v\n%s", err, out.String())
	}
	return tot, out.String()
}

func TestRedriveStripsDeadLetterHeadersAndKeepsTheRest(t *testing.T) {
	addr, cfg := setup(t, "a", "b", "a")
	tot, out := redrive(t, addr, cfg, Options{})
	if tot.Read != 3 || tot.Redriven != 3 || tot.Skipped != 0 {
		t.Fatalf("totals %+v\n%s", tot, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "redrive: done: read 3, redriven 3, skipped 0") {
		t.Errorf("last line %q", last)
	}
	recs := barrageTopic(t, addr)
	if len(recs) != 3 {
		t.Fatalf("%d records in %s, want 3", len(recs), barrages)
	}
	for _, r := range recs {
		h := map[string]string{}
		for _, x := range r.Headers {
			h[string(x.Key)] = string(x.Value)
		}
		if len(h) != 3 || h["ce_specversion"] != "1.0" || h["ce_id"] == "" || h["traceparent"] == "" {
			t.Errorf("headers %v: want exactly ce_specversion, ce_id and traceparent", h)
		}
		if RoomOf(r) == "" || !strings.Contains(string(r.Value), `"room":"`+RoomOf(r)+`"`) {
			t.Errorf("key %q value %q", r.Key, r.Value)
		}
	}
}

func TestRedriveTwiceRedrivesOnce(t *testing.T) {
	addr, cfg := setup(t, "a", "b", "c", "d")
	if tot, out := redrive(t, addr, cfg, Options{}); tot.Redriven != 4 {
		t.Fatalf("first run %+v\n%s", tot, out)
	}
	if tot, out := redrive(t, addr, cfg, Options{}); tot.Read != 0 || tot.Redriven != 0 {
		t.Fatalf("second run %+v\n%s", tot, out)
	}
	if n := len(barrageTopic(t, addr)); n != 4 {
		t.Fatalf("%d records after two runs, want 4", n)
	}
}

func TestRedriveBounds(t *testing.T) {
	tests := []struct {
		name     string
		runs     []Options
		redriven []int64 // per run
	}{
		{"max, then the rest", []Options{{Max: 3}, {Max: 3}, {}}, []int64{3, 3, 2}},
		{"a room's filter leaves the others redrivable", []Options{{Room: "a"}, {Room: "a"}, {}}, []int64{4, 0, 8}},
		{"a room with nothing", []Options{{Room: "nobody"}, {}}, []int64{0, 8}},
		{"for a while, stopping at the end", []Options{{For: time.Minute}}, []int64{8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, cfg := setup(t, "a", "b", "a", "b", "a", "b", "a", "b")
			total := 0
			for i, o := range tt.runs {
				tot, out := redrive(t, addr, cfg, o)
				if tot.Redriven != tt.redriven[i] {
					t.Fatalf("run %d (%+v): redriven %d, want %d\n%s", i, o, tot.Redriven, tt.redriven[i], out)
				}
				if o.Room != "" && tot.Skipped+tot.Redriven != tot.Read {
					t.Errorf("run %d: read %d = redriven %d + skipped %d?", i, tot.Read, tot.Redriven, tot.Skipped)
				}
				total += int(tot.Redriven)
			}
			if n := len(barrageTopic(t, addr)); n != total {
				t.Fatalf("%d records in %s, want %d", n, barrages, total)
			}
		})
	}
}

func TestRedriveFollowEndsAtItsBound(t *testing.T) {
	addr, cfg := setup(t, "a", "b")
	start := time.Now()
	tot, out := redrive(t, addr, cfg, Options{Follow: true, For: 2 * time.Second, Progress: 500 * time.Millisecond})
	if tot.Redriven != 2 {
		t.Fatalf("totals %+v\n%s", tot, out)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatalf("a 2s run took %s", time.Since(start))
	}
	if !strings.Contains(out, "read/s") {
		t.Errorf("no progress line in\n%s", out)
	}
}

func TestRedriveRefusesTheSameTopic(t *testing.T) {
	_, err := Run(context.Background(), Options{Brokers: []string{"127.0.0.1:1"}, From: "x", To: "x"}, sarama.NewConfig(), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "both") {
		t.Fatalf("err %v", err)
	}
}
