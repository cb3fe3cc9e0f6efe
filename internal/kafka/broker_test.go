package kafka

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/config"
)

func startTestBroker(t *testing.T, dir string) *Broker {
	t.Helper()
	b, err := StartBroker(BrokerOptions{Addr: "127.0.0.1:0", DataDir: dir, Partitions: 3, Topics: []string{"barrage-info"}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBrokerKeepsRecordsAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	b := startTestBroker(t, dir)
	cfg, err := NewConfig(config.Kafka{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProducer([]string{b.Addr()}, "barrage-info", cfg)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := barrage.Accept("r1", barrage.Draft{Text: "kept"}, time.Now())
	if err := p.Produce(context.Background(), want); err != nil {
		t.Fatal(err)
	}
	p.Close()
	b.Close()

	b = startTestBroker(t, dir)
	defer b.Close()
	c, err := sarama.NewConsumer([]string{b.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	found := false
	parts, err := c.Partitions("barrage-info")
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range parts {
		pc, err := c.ConsumePartition("barrage-info", part, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		hw := pc.HighWaterMarkOffset()
		for hw > 0 {
			m := <-pc.Messages()
			if string(m.Key) == "r1" && strings.Contains(string(m.Value), want.ID) {
				found = true
			}
			if m.Offset+1 >= hw {
				break
			}
		}
		pc.Close()
	}
	if !found {
		t.Fatalf("record %s not found after restart", want.ID)
	}
}

func TestKcatListsTopic(t *testing.T) {
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		t.Skip("kcat is not installed (apt-get install -y kcat)")
	}
	b := startTestBroker(t, "")
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, kcat, "-b", b.Addr(), "-L", "-t", "barrage-info").CombinedOutput()
	if err != nil {
		t.Fatalf("kcat -L: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `topic "barrage-info" with 3 partitions`) {
		t.Fatalf("kcat did not list barrage-info with 3 partitions:\n%s", out)
	}
}

// TestBrokerAdvertisesItsName: clients learn brokers from metadata, so a broker bound by
// name must advertise that name and not the address it resolved to.
func TestBrokerAdvertisesItsName(t *testing.T) {
	b, err := StartBroker(BrokerOptions{Addr: "localhost:0", Partitions: 1, Topics: []string{"barrage-info"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !strings.HasPrefix(b.Addr(), "localhost:") {
		t.Fatalf("broker address %q, want localhost:<port>", b.Addr())
	}
	cfg, err := NewConfig(config.Kafka{}, "test")
	if err != nil {
		t.Fatal(err)
	}
	client, err := sarama.NewClient([]string{b.Addr()}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := client.RefreshMetadata("barrage-info"); err != nil {
		t.Fatal(err)
	}
	brokers := client.Brokers()
	if len(brokers) != 1 || brokers[0].Addr() != b.Addr() {
		t.Fatalf("metadata names brokers %v, want %s", brokers, b.Addr())
	}
	p, err := NewProducer([]string{b.Addr()}, "barrage-info", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	want, _ := barrage.Accept("r1", barrage.Draft{Text: "by name"}, time.Now())
	if err := p.Produce(context.Background(), want); err != nil {
		t.Fatal(err)
	}
}

// TestBrokerAdvertisesAnAddressAsGiven: an IP stays an IP.
func TestBrokerAdvertisesAnAddressAsGiven(t *testing.T) {
	b := startTestBroker(t, t.TempDir())
	defer b.Close()
	if !strings.HasPrefix(b.Addr(), "127.0.0.1:") {
		t.Fatalf("broker address %q, want 127.0.0.1:<port>", b.Addr())
	}
}
