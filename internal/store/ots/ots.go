// Package ots stores barrages in Alibaba Tablestore (OTS) through the official SDK. It
// creates its table when missing, with the retention as the table's TTL, refuses a table
// whose primary key differs, and keeps every guarantee of package store. The schema and
// why it keeps them are in docs/tablestore.md.
package ots

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/barrage-live/barrage/internal/store"
)

// Config is where the table lives and the key to reach it. The names in the comments are
// the environment variables internal/config reads them from.
type Config struct {
	Endpoint string // OTS_ENDPOINT, e.g. https://<instance>.<region>.ots.aliyuncs.com
	Instance string // OTS_INSTANCENAME
	Table    string // TABLE_NAME
	KeyID    string // OTS_KEYID
	Secret   string // OTS_SECRET; never logged or put in an error
}

// String leaves the secret out, so a Config printed by mistake leaks nothing.
func (c Config) String() string {
	return fmt.Sprintf("ots.Config{Endpoint:%q Instance:%q Table:%q KeyID:%q Secret:[redacted]}", c.Endpoint, c.Instance, c.Table, c.KeyID)
}

// LogValue leaves the secret out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("endpoint", c.Endpoint), slog.String("instance", c.Instance),
		slog.String("table", c.Table), slog.String("keyID", c.KeyID))
}

// Timing of the visibility rule (docs/tablestore.md): a row with sequence S is written by
// S+writeWindow or not at all, and readers show rows only once they are settle old.
const (
	DefaultWriteWindow = 1500 * time.Millisecond
	clockAllowance     = 500 * time.Millisecond // clock skew between processors and readers
	openTimeout        = 10 * time.Second
	dialTimeout        = 3 * time.Second // an endpoint that drops packets fails Open quickly
)

// Option changes a Store's defaults.
type Option func(*Store)

// WithWriteWindow sets how long a write may take before it is redone at a new position;
// readers hold rows back for that long plus a clock allowance.
func WithWriteWindow(d time.Duration) Option { return func(s *Store) { s.writeWindow = d } }

// WithLogger sets where the store logs table changes.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// Store is a store.Store on one Tablestore table.
type Store struct {
	cfg         Config
	retention   time.Duration
	writeWindow time.Duration
	log         *slog.Logger
	transport   *http.Transport

	seqMu   sync.Mutex
	lastSeq int64
}

var _ store.Store = (*Store)(nil)

// Open checks cfg, reaches the instance at once (failing fast, with the variable to fix
// named), and creates or checks the table.
func Open(ctx context.Context, cfg Config, opts store.Options, options ...Option) (*Store, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	retention := opts.Retention
	if retention == 0 {
		retention = store.DefaultRetention
	}
	if retention < 24*time.Hour || retention > 1<<31*time.Second {
		return nil, fmt.Errorf("ots: retention %v (BARRAGE_RETENTION) must be between 24h and 68 years: a Tablestore TTL is at least a day", retention)
	}
	s := &Store{
		cfg:         cfg,
		retention:   retention,
		writeWindow: DefaultWriteWindow,
		log:         slog.Default(),
		transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     30 * time.Second,
			TLSHandshakeTimeout: 5 * time.Second,
		},
	}
	for _, o := range options {
		o(s)
	}
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	if err := s.ensureTable(ctx); err != nil {
		s.transport.CloseIdleConnections()
		return nil, err
	}
	return s, nil
}

func (c Config) validate() error {
	for _, f := range []struct{ name, value string }{
		{"OTS_ENDPOINT", c.Endpoint}, {"OTS_INSTANCENAME", c.Instance}, {"TABLE_NAME", c.Table},
		{"OTS_KEYID", c.KeyID}, {"OTS_SECRET", c.Secret},
	} {
		if f.value == "" {
			return fmt.Errorf("ots: %s is empty", f.name)
		}
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("ots: OTS_ENDPOINT %q is not an http(s) URL such as https://<instance>.<region>.ots.aliyuncs.com", c.Endpoint)
	}
	return nil
}

// Ping reads one key of the table, so readiness reflects reachability, the key and the
// table. It is a data read: table-level calls such as DescribeTable are rate limited.
func (s *Store) Ping(ctx context.Context) error {
	if _, _, _, err := s.readFeed(ctx, pingRoom, 0, "ping"); err != nil {
		return s.wrap("ping", err)
	}
	return nil
}

// EnforcedRetention reads the table's TTL back from the service.
func (s *Store) EnforcedRetention(ctx context.Context) (time.Duration, error) {
	d, err := s.describe(ctx, s.client(ctx, true))
	if err != nil {
		return 0, s.wrap("describe table", err)
	}
	return time.Duration(d.TableOption.TimeToAlive) * time.Second, nil
}

// Settle is how long after its write a row becomes readable: the write window plus the
// clock allowance.
func (s *Store) Settle() time.Duration { return s.writeWindow + clockAllowance }

// Close releases idle connections; nothing else is held open.
func (s *Store) Close() error {
	s.transport.CloseIdleConnections()
	return nil
}

// nextSeqs reserves n sequence numbers at the current time, above any this process gave.
func (s *Store) nextSeqs(n int) int64 {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	base := max(time.Now().UnixNano(), s.lastSeq+1)
	s.lastSeq = base + int64(n) - 1
	return base
}

// errOversize is the batch limit error, never ErrUnavailable: a retry cannot cure it.
var errOversize = errors.New("ots: batch too large")
