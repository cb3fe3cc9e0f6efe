package app

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/kafka"
)

// TestSecretsNeverLogged starts roles whose credentials are refused or unreachable, so
// errors that carry them are likely, and checks neither the error nor any log line holds
// the secret.
func TestSecretsNeverLogged(t *testing.T) {
	broker, err := kafka.StartBroker(kafka.BrokerOptions{Addr: "127.0.0.1:0", Partitions: 1, Topics: []string{"barrage-info"}})
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	const kafkaSecret, otsSecret = "kafka-Pa55word-do-not-log", "ots-S3cret-do-not-log"
	cases := []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"kafka SASL refused", []string{"homepage"}, map[string]string{
			"PORT": "0", "KAFKA_SERVER": broker.Addr(), "KAFKA_USER": "u", "KAFKA_PWD": kafkaSecret,
			"BARRAGE_DATA_DIR": t.TempDir(),
		}},
		{"tablestore unreachable", []string{"processor"}, map[string]string{
			"PORT": "0", "OTS_ENDPOINT": "http://127.0.0.1:1", "OTS_INSTANCENAME": "barrage",
			"OTS_KEYID": "key", "OTS_SECRET": otsSecret, "BARRAGE_DATA_DIR": t.TempDir(),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			env := func(k string) string {
				if k == "BARRAGE_LOG_LEVEL" {
					return "debug"
				}
				return tc.env[k]
			}
			err := Run(ctx, tc.args, env, &syncWriter{w: &out})
			if err == nil {
				t.Fatal("start-up succeeded with refused credentials")
			}
			for _, secret := range []string{kafkaSecret, otsSecret} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error holds a secret: %v", err)
				}
				if strings.Contains(out.String(), secret) {
					t.Fatalf("log holds a secret:\n%s", out.String())
				}
			}
		})
	}
}
