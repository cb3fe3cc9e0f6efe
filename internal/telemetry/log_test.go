package telemetry

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestLoggerRedactsSecrets(t *testing.T) {
	for _, json := range []bool{false, true} {
		var out bytes.Buffer
		log := NewLogger(&out, "debug", json, []string{"hunter2", "s3cr3t"})
		cause := fmt.Errorf("dial: %w", errors.New("auth failed for password hunter2"))
		log.Info("connecting with s3cr3t", "err", cause, "dsn", "user:hunter2@host")
		log.With("key", "s3cr3t").WithGroup("g").Warn("again", "nested", "x-hunter2-y")
		got := out.String()
		if strings.Contains(got, "hunter2") || strings.Contains(got, "s3cr3t") {
			t.Fatalf("secret in log (json=%v):\n%s", json, got)
		}
		if strings.Count(got, "[redacted]") < 5 {
			t.Fatalf("expected every occurrence redacted (json=%v):\n%s", json, got)
		}
	}
}
