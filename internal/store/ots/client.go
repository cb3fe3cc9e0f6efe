package ots

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aliyun/aliyun-tablestore-go-sdk/tablestore"

	"github.com/barrage-live/barrage/internal/store"
)

// The SDK's calls take no context. Each call therefore gets a client whose transport
// carries the call's context, so a deadline or cancellation stops the request and the
// SDK's own retries; clients are cheap and share one connection pool.
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

// abandoned is what a cancelled request fails with. It is deliberately neither a
// net.Error nor worded like a reset connection, so the SDK does not retry it.
type abandoned struct{ cause error }

func (e abandoned) Error() string { return "request abandoned: " + e.cause.Error() }
func (e abandoned) Unwrap() error { return e.cause }

func (t ctxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := t.ctx.Err(); err != nil {
		return nil, abandoned{err}
	}
	resp, err := t.base.RoundTrip(r.WithContext(t.ctx))
	if err != nil && t.ctx.Err() != nil {
		return nil, abandoned{t.ctx.Err()}
	}
	return resp, err
}

// client returns an SDK client bound to ctx. retry lets the SDK retry busy and throttled
// answers itself; Open's first call does not, so a bad endpoint fails at once.
func (s *Store) client(ctx context.Context, retry bool) *tablestore.TableStoreClient {
	cfg := tablestore.NewDefaultTableStoreConfig()
	cfg.Transport = ctxTransport{ctx: ctx, base: s.transport}
	cfg.HTTPTimeout = tablestore.HTTPTimeout{ConnectionTimeout: 5 * time.Second, RequestTimeout: 30 * time.Second}
	cfg.DefaultRetryInterval = 10 * time.Millisecond
	cfg.MaxRetryInterval = 200 * time.Millisecond
	cfg.MaxRetryTime = 5 * time.Second
	if !retry {
		cfg.RetryTimes = 0
	}
	return tablestore.NewClientWithConfig(s.cfg.Endpoint, s.cfg.Instance, s.cfg.KeyID, s.cfg.Secret, "", cfg)
}

// otsCode returns the service's error code, or "" for a transport failure.
func otsCode(err error) (code, message string, ok bool) {
	var oe *tablestore.OtsError
	if errors.As(err, &oe) {
		return oe.Code, oe.Message, true
	}
	return "", "", false
}

// transient reports failures a retry may cure: busy, throttled, unavailable, 5xx, and
// anything that never got an answer from the service.
func transient(err error) bool {
	var oe *tablestore.OtsError
	if !errors.As(err, &oe) {
		return true
	}
	if oe.HttpStatusCode >= 500 {
		return true
	}
	switch oe.Code {
	case tablestore.SERVER_BUSY, tablestore.STORAGE_SERVER_BUSY, tablestore.NOT_ENOUGH_CAPACITY_UNIT,
		tablestore.TABLE_NOT_READY, tablestore.PARTITION_UNAVAILABLE, tablestore.ROW_OPERATION_CONFLICT,
		tablestore.QUOTA_EXHAUSTED, tablestore.STORAGE_TIMEOUT, tablestore.SERVER_UNAVAILABLE,
		tablestore.INTERNAL_SERVER_ERROR, "OTSRequestTimeout":
		return true
	}
	return false
}

// wrap names the layer and the operation, marks transient failures store.ErrUnavailable
// and turns credential and instance errors into the variable to fix.
func (s *Store) wrap(op string, err error) error {
	if hint := s.hint(err); hint != "" {
		return fmt.Errorf("ots: %s: %s: %w", op, hint, err)
	}
	if transient(err) {
		return fmt.Errorf("ots: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("ots: %s: %w", op, err)
}

// hint says which setting an authentication error points at.
func (s *Store) hint(err error) string {
	code, msg, ok := otsCode(err)
	if !ok || (code != "OTSAuthFailed" && code != "OTSNoPermissionAccess") {
		return ""
	}
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "system time"):
		return "the clock of this host is more than 15 minutes off Tablestore's: fix its time sync"
	case strings.Contains(m, "acl"):
		return fmt.Sprintf("instance %q refuses requests from this network: check OTS_ENDPOINT (VPC or public) and the instance's network ACL", s.cfg.Instance)
	case strings.Contains(m, "privilege") || strings.Contains(m, "permission"):
		return fmt.Sprintf("access key %q may not use instance %q: check the RAM policy of OTS_KEYID and OTS_INSTANCENAME", s.cfg.KeyID, s.cfg.Instance)
	case strings.Contains(m, "instance"):
		return fmt.Sprintf("Tablestore has no instance %q that this key may use: check OTS_INSTANCENAME", s.cfg.Instance)
	case strings.Contains(m, "signature"):
		return fmt.Sprintf("Tablestore rejected the signature of access key %q: check OTS_SECRET belongs to OTS_KEYID", s.cfg.KeyID)
	default:
		return fmt.Sprintf("Tablestore rejected access key %q: check OTS_KEYID (and OTS_SECRET)", s.cfg.KeyID)
	}
}
