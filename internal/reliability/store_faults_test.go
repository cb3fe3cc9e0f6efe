package reliability

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/processor"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/ots"
	"github.com/barrage-live/barrage/internal/store/ots/otstest"
	"github.com/barrage-live/barrage/internal/store/sqlite"
	"github.com/barrage-live/barrage/internal/store/storetest"
)

// serveProcessor runs a processor in this process on st, so a test can fail its store.
func serveProcessor(t *testing.T, st store.Store) string {
	t.Helper()
	return serveProcessorHooks(t, st, processor.Hooks{})
}

// serveProcessorHooks is serveProcessor with hooks, to count what the processor did.
func serveProcessorHooks(t *testing.T, st store.Store, hooks processor.Hooks) string {
	t.Helper()
	p := processor.New(st, processor.Options{}, slog.New(slog.NewTextHandler(io.Discard, nil)), hooks)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: p.Handler()}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		p.Close()
	})
	return "http://" + ln.Addr().String() + "/"
}

// TestEmbeddedStoreFailsForAWhile takes the processor's store away mid-run: the processor
// answers 503, the dispatcher retries, and once the store is back everything is there once.
func TestEmbeddedStoreFailsForAWhile(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "store"), store.Options{Retention: store.DefaultRetention})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	flaky := storetest.NewFlaky(st)
	p := startPipelineWith(t, dir, nil, serveProcessor(t, flaky))
	const room = "store-faults"
	v := watch(t, p.base, room, "")
	s := send(t, p.base, room, barrages, 500, 8)
	waitUntil(t, "a quarter accepted", time.Minute, func() bool { return s.sent.Load() >= barrages/4 })
	flaky.SetFailing(true)
	waitUntil(t, "writes refused while half is accepted", time.Minute, func() bool {
		return flaky.Refused() >= 20 && s.sent.Load() >= barrages/2
	})
	flaky.SetFailing(false)
	s.wait()
	checkDeliveredOnce(t, p.base, room, s.ids(), v)
	t.Logf("%d store calls refused during the fault", flaky.Refused())
}

// TestTablestoreBusyForAWhile runs the pipeline on the wire-level Tablestore server and
// has it answer OTSServerBusy for a while mid-run: the SDK's own retries, then the
// dispatcher's, carry every barrage through, once.
func TestTablestoreBusyForAWhile(t *testing.T) {
	srv := otstest.Start(t, otstest.Options{})
	cfg := ots.Config{Endpoint: srv.URL, Instance: srv.Instance(), Table: "barrage", KeyID: srv.KeyID(), Secret: srv.Secret()}
	st, err := ots.Open(context.Background(), cfg, store.Options{Retention: store.DefaultRetention})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	env := map[string]string{
		"OTS_ENDPOINT": cfg.Endpoint, "OTS_INSTANCENAME": cfg.Instance, "TABLE_NAME": cfg.Table,
		"OTS_KEYID": cfg.KeyID, "OTS_SECRET": cfg.Secret,
	}
	p := startPipelineWith(t, t.TempDir(), env, serveProcessor(t, st))
	const room = "ots-busy"
	v := watch(t, p.base, room, "")
	s := send(t, p.base, room, barrages, 500, 8)
	waitUntil(t, "a quarter accepted", time.Minute, func() bool { return s.sent.Load() >= barrages/4 })
	busy := otstest.Busy
	srv.SetFault(&busy)
	waitUntil(t, "half accepted while Tablestore is busy", time.Minute, func() bool { return s.sent.Load() >= barrages/2 })
	srv.SetFault(nil)
	s.wait()
	checkDeliveredOnce(t, p.base, room, s.ids(), v)
}
