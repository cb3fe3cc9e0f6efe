// Package sqlite is the embedded store: one SQLite file in WAL mode, through the pure-Go
// modernc.org/sqlite driver, that several local processes can share. docs/store.md has
// the schema and why it keeps the store guarantees.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/barrage-live/barrage/internal/store"
)

// FileName is the database file Open creates in its directory.
const FileName = "barrages.db"

// busyTimeout is how long, by default, a writer waits for another connection or process to commit
// before the store reports store.ErrUnavailable.
const busyTimeout = 10 * time.Second

// Store is the embedded store.
type Store struct {
	writer    *sql.DB // one connection: writers in this process queue here, not in SQLite's busy loop
	reader    *sql.DB // read-only connections; WAL readers never wait for the writer
	retention time.Duration
	cfg       config
	stop      context.CancelFunc
	cleaning  sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*Store)(nil)

// Option adjusts what Open does beyond store.Options.
type Option func(*config)

type config struct {
	now          func() time.Time
	cleanupEvery time.Duration
	log          *slog.Logger
	busyTimeout  time.Duration
	cleaned      func(deleted int64, err error) // tests observe cleanup runs
}

// WithClock sets the clock expiry reads, so tests can move time instead of waiting.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithCleanupInterval sets how often expired rows are deleted (default 5 minutes).
func WithCleanupInterval(d time.Duration) Option { return func(c *config) { c.cleanupEvery = d } }

// WithLogger sets where cleanup failures are logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Open opens, or creates, the store in dir and starts deleting rows older than
// opts.Retention (store.DefaultRetention when zero). Other processes may open the same dir.
func Open(ctx context.Context, dir string, opts store.Options, options ...Option) (*Store, error) {
	cfg := config{now: time.Now, cleanupEvery: 5 * time.Minute, log: slog.Default(), busyTimeout: busyTimeout}
	for _, o := range options {
		o(&cfg)
	}
	if opts.Retention < 0 {
		return nil, fmt.Errorf("sqlite: retention %v is negative", opts.Retention)
	}
	if opts.Retention == 0 {
		opts.Retention = store.DefaultRetention
	}
	if cfg.cleanupEvery <= 0 {
		return nil, fmt.Errorf("sqlite: cleanup interval %v must be positive", cfg.cleanupEvery)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sqlite: create %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlite: path %q may not contain '?'", path)
	}

	s := &Store{retention: opts.Retention, cfg: cfg}
	var err error
	if s.writer, err = openPool(path, cfg.busyTimeout, false, 1); err != nil {
		return nil, err
	}
	if err := migrateWhenFree(ctx, s.writer, cfg.busyTimeout); err != nil {
		_ = s.writer.Close()
		return nil, err
	}
	if s.reader, err = openPool(path, cfg.busyTimeout, true, 4); err != nil {
		_ = s.writer.Close()
		return nil, err
	}
	if err := s.Ping(ctx); err != nil {
		_ = s.writer.Close()
		_ = s.reader.Close()
		return nil, err
	}

	cleanCtx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.cleaning.Add(1)
	go s.cleanEvery(cleanCtx)
	return s, nil
}

// openPool opens connections with the settings every one needs: WAL so readers and the
// writer do not block each other, a busy timeout so processes wait their turn, FULL sync
// so a commit is durable when Put returns, and BEGIN IMMEDIATE so a write transaction
// takes the write lock up front instead of failing to upgrade half-way.
func openPool(path string, busy time.Duration, readOnly bool, conns int) (*sql.DB, error) {
	q := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busy.Milliseconds()),
		"_pragma=synchronous(FULL)",
		"_txlock=immediate",
	}
	if readOnly {
		q = append(q, "_pragma=query_only(1)") // WAL is already set in the file by then
	} else {
		q = append(q, "_pragma=journal_mode(WAL)")
	}
	db, err := sql.Open("sqlite", path+"?"+strings.Join(q, "&"))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	return db, nil
}

// migrateWhenFree retries migrate while another process holds the file. Two processes
// switching a new file to WAL at once can deadlock on the lock upgrade, and SQLite then
// answers busy at once instead of waiting, so the busy timeout alone does not cover it.
func migrateWhenFree(ctx context.Context, db *sql.DB, patience time.Duration) error {
	deadline := time.Now().Add(patience)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := migrate(ctx, db)
		if !errors.Is(err, store.ErrUnavailable) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sqlite: open: %w", ctx.Err())
		case <-time.After(wait):
		}
	}
}

// Ping checks that the file answers a read of the schema.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	err := s.reader.QueryRowContext(ctx, "SELECT 1 FROM sqlite_master WHERE name = 'barrages'").Scan(&one)
	if err != nil {
		return wrap("ping", err)
	}
	return nil
}

// Close stops the cleanup and closes the file. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		s.cleaning.Wait()
		s.closeErr = errors.Join(s.reader.Close(), s.writer.Close())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", s.closeErr)
		}
	})
	return s.closeErr
}
