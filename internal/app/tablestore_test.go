package app

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/ots/otstest"
)

// TestDevModeOnTablestore runs the whole pipeline with OTS_ENDPOINT pointing at the
// wire-level Tablestore server: the real SDK writes and reads every barrage.
func TestDevModeOnTablestore(t *testing.T) {
	srv := otstest.Start(t, otstest.Options{})
	a := startDev(t, t.TempDir(), map[string]string{
		"OTS_ENDPOINT": srv.URL, "OTS_INSTANCENAME": srv.Instance(), "TABLE_NAME": "barrage",
		"OTS_KEYID": srv.KeyID(), "OTS_SECRET": srv.Secret(),
	})
	base := "http://" + a.HomePage
	feed := stream(t, base, "ots")
	status, out := send(t, base, "ots", `{"text":"stored in Tablestore, darn"}`)
	if status != http.StatusAccepted {
		t.Fatalf("send: %d", status)
	}
	got := receive(t, feed, func(r store.Record) bool { return r.ID == out["id"] })
	if got.Text != "stored in Tablestore, ****" {
		t.Fatalf("streamed %+v", got)
	}
}

// TestUnreachableTablestoreFailsAtOnce: a wrong OTS_ENDPOINT stops start-up quickly with
// one line that names it.
func TestUnreachableTablestoreFailsAtOnce(t *testing.T) {
	env := map[string]string{
		"PORT": "0", "BARRAGE_DATA_DIR": t.TempDir(),
		"OTS_ENDPOINT": "http://127.0.0.1:1", "OTS_INSTANCENAME": "barrage", "OTS_KEYID": "k", "OTS_SECRET": "s",
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	var out bytes.Buffer
	err := Run(ctx, []string{"processor"}, func(k string) string { return env[k] }, &syncWriter{w: &out})
	if err == nil || !strings.Contains(err.Error(), "OTS_ENDPOINT") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want one line naming OTS_ENDPOINT", err)
	}
	t.Logf("failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
}
