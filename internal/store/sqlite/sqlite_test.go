package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
	"github.com/barrage-live/barrage/internal/store/storetest"
)

var (
	_ storetest.Expirer           = (*Store)(nil)
	_ storetest.RetentionReporter = (*Store)(nil)
)

func openTemp(t testing.TB, opts store.Options, options ...Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), t.TempDir(), opts, options...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts store.Options) store.Store { return openTemp(t, opts) })
}

func barrages(t testing.TB, room string, n int, at time.Time) []barrage.Barrage {
	t.Helper()
	bs := make([]barrage.Barrage, n)
	for i := range bs {
		b, err := barrage.Accept(room, barrage.Draft{Text: "hello"}, at.Add(time.Duration(i)))
		if err != nil {
			t.Fatal(err)
		}
		bs[i] = b
	}
	return bs
}

// The background cleanup deletes by the injected clock: moving the clock past the
// retention removes the old row and keeps the young one, with no waiting on real time.
func TestCleanupFollowsTheClock(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := make(chan time.Time, 1)
	clock <- t0
	var current time.Time = t0
	now := func() time.Time {
		select {
		case c := <-clock:
			current = c
		default:
		}
		return current
	}
	runs := make(chan int64, 100)
	s := openTemp(t, store.Options{Retention: time.Hour},
		WithClock(now), WithCleanupInterval(5*time.Millisecond),
		func(c *config) {
			c.cleaned = func(n int64, err error) {
				if err != nil {
					t.Errorf("cleanup: %v", err)
				}
				select {
				case runs <- n:
				default:
				}
			}
		})
	ctx := t.Context()
	old := barrages(t, "clock", 1, t0.Add(-30*time.Minute))[0]
	young := barrages(t, "clock", 1, t0.Add(20*time.Minute))[0]
	if n, err := s.Put(ctx, []barrage.Barrage{old, young}); err != nil || len(n) != 2 {
		t.Fatalf("Put = %d, %v", len(n), err)
	}
	waitRuns := func(k int) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for range k {
			select {
			case <-runs:
			case <-deadline:
				t.Fatalf("cleanup did not run %d times", k)
			}
		}
	}
	// Drain runs that may have started before the Put, then watch two full ones at t0.
	for len(runs) > 0 {
		<-runs
	}
	waitRuns(2)
	if recs, _ := s.After(ctx, "clock", "", 10); len(recs) != 2 {
		t.Fatalf("at t0 %d rows remain, want both", len(recs))
	}

	clock <- t0.Add(45 * time.Minute) // old is now 75 minutes old, young 25
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, err := s.After(ctx, "clock", "", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 1 && recs[0].ID == young.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the clock moved, rows are %v; want only %s", recs, young.ID)
		}
		waitRuns(1)
	}
}

// A writer that cannot get the lock within the busy timeout gets ErrUnavailable, so the
// processor answers 5xx and the event is retried.
func TestLockedFileIsUnavailable(t *testing.T) {
	dir := t.TempDir()
	quiet := slog.New(slog.DiscardHandler) // the cleanup also meets the lock
	s, err := Open(t.Context(), dir, store.Options{}, WithLogger(quiet), func(c *config) { c.busyTimeout = 50 * time.Millisecond })
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	other, err := sql.Open("sqlite", dir+"/"+FileName)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	_, err = s.Put(t.Context(), barrages(t, "locked", 1, time.Now()))
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("Put while another connection holds the write lock: %v; want ErrUnavailable", err)
	}

	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Put(t.Context(), barrages(t, "locked", 1, time.Now())); err != nil || len(n) != 1 {
		t.Fatalf("Put once the lock is free = %d, %v", len(n), err)
	}
}

func TestReopenKeepsRowsAndCursors(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, barrages(t, "keep", 3, time.Now())); err != nil {
		t.Fatal(err)
	}
	before, err := s.After(ctx, "keep", "", 10)
	if err != nil || len(before) != 3 {
		t.Fatalf("After = %d, %v", len(before), err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s, err = Open(ctx, dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	after, err := s.After(ctx, "keep", "", 10)
	if err != nil || len(after) != 3 {
		t.Fatalf("after reopen After = %d, %v", len(after), err)
	}
	for i := range after {
		if after[i].ID != before[i].ID || after[i].Cursor != before[i].Cursor {
			t.Fatalf("row %d changed across reopen: %s@%s, was %s@%s", i, after[i].ID, after[i].Cursor, before[i].ID, before[i].Cursor)
		}
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(t.Context(), dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.writer.ExecContext(t.Context(), "PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(t.Context(), dir, store.Options{}); err == nil {
		s.Close()
		t.Fatal("Open accepted a file with a newer schema")
	}
}

func TestModeration(t *testing.T) {
	dirs := map[store.Store]string{}
	storetest.RunModeration(t, func(t *testing.T, opts store.Options) store.Store {
		dir := t.TempDir()
		s, err := Open(t.Context(), dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		dirs[s] = dir
		t.Cleanup(func() { _ = s.Close() })
		return s
	}, func(t *testing.T, old store.Store) store.Store {
		if err := old.Close(); err != nil {
			t.Fatal(err)
		}
		s, err := Open(t.Context(), dirs[old], store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	})
}

// A file of the first schema gains the moderation columns and keeps its rows and cursors.
func TestUpgradesFirstSchema(t *testing.T) {
	dir := t.TempDir()
	db, err := openPool(dir+"/"+FileName, busyTimeout, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), schema+"PRAGMA user_version = 1;"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(t.Context(), `INSERT INTO barrages (id, room, text, color, mode, accepted_at) VALUES ('old', 'r', 'hi', '#ffffff', 'scroll', 1)`); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	s, err := Open(t.Context(), dir, store.Options{Retention: 1 << 62})
	if err != nil {
		t.Fatalf("open a version 1 file: %v", err)
	}
	defer s.Close()
	recs, err := s.After(t.Context(), "r", "", 10)
	if err != nil || len(recs) != 1 || recs[0].ID != "old" || recs[0].Cursor != cursorOf(1) {
		t.Fatalf("after the upgrade: %+v, %v; want the old row at its cursor", recs, err)
	}
}
