package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/barrage-live/barrage/internal/store"
)

// Opener opens a fresh store for one subtest; the backend's test registers cleanup with t.
// Stores opened by one Run may share a table: the suite gives every subtest its own rooms.
type Opener func(t *testing.T, opts store.Options) store.Store

// Expirer is implemented by backends whose expiry the suite can trigger: ExpireNow deletes
// what the store's retention says is expired at now. Backends that expire on their own
// schedule (a table TTL) leave it out and the expiry test skips.
type Expirer interface {
	ExpireNow(ctx context.Context, now time.Time) error
}

// RetentionReporter is implemented by backends that can say which retention they enforce,
// for example a table's TTL read back from the service.
type RetentionReporter interface {
	EnforcedRetention(ctx context.Context) (time.Duration, error)
}

// Run holds the store that open returns to every guarantee in package store, as subtests.
func Run(t *testing.T, open func(t *testing.T, opts store.Options) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"Idempotency", testIdempotency},
		{"MixedBatch", testMixedBatch},
		{"PutReturnsStored", testPutReturnsStored},
		{"OversizeBatch", testOversizeBatch},
		{"Order", testOrder},
		{"Replay", testReplay},
		{"Latest", testLatest},
		{"FollowWhileWriting", testFollowWhileWriting},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Paging", testPaging},
		{"Expiry", testExpiry},
		{"RetentionSetting", testRetentionSetting},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, open) })
	}
}
