package storetest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/sqlite"
	"github.com/barrage-live/barrage/internal/store/storetest"
)

func TestFlakyRefusesWhileFailing(t *testing.T) {
	ctx := t.Context()
	inner, err := sqlite.Open(ctx, t.TempDir(), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	f := storetest.NewFlaky(inner)
	b, err := barrage.Accept("flaky", barrage.Draft{Text: "hi"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}

	f.SetFailing(true)
	calls := []struct {
		name string
		call func() error
	}{
		{"Put", func() error { _, err := f.Put(ctx, []barrage.Barrage{b}); return err }},
		{"After", func() error { _, err := f.After(ctx, "flaky", "", 10); return err }},
		{"Latest", func() error { _, err := f.Latest(ctx, "flaky", 10); return err }},
		{"Ping", func() error { return f.Ping(ctx) }},
	}
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, store.ErrUnavailable) {
			t.Fatalf("%s while failing: %v; want ErrUnavailable", c.name, err)
		}
	}
	if got := f.Refused(); got != int64(len(calls)) {
		t.Fatalf("Refused = %d, want %d", got, len(calls))
	}
	if recs, _ := inner.After(ctx, "flaky", "", 10); len(recs) != 0 {
		t.Fatalf("a refused Put reached the store: %v", recs)
	}

	f.SetFailing(false)
	for _, c := range calls {
		if err := c.call(); err != nil {
			t.Fatalf("%s once healthy: %v", c.name, err)
		}
	}
	if recs, _ := f.After(ctx, "flaky", "", 10); len(recs) != 1 || recs[0].ID != b.ID {
		t.Fatalf("after recovery the room holds %v, want %s", recs, b.ID)
	}
}
