package storetest

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/barrage-live/barrage/internal/barrage"
	"github.com/barrage-live/barrage/internal/store"
)

// Flaky wraps a store and, while failing is switched on, answers every call but Close with
// an error wrapping store.ErrUnavailable, as a busy or unreachable backend would. It lets
// fault tests take the store away for a while and give it back.
type Flaky struct {
	store.Store
	failing atomic.Bool
	refused atomic.Int64
}

// NewFlaky wraps s; it starts healthy.
func NewFlaky(s store.Store) *Flaky { return &Flaky{Store: s} }

// SetFailing switches the faults on or off.
func (f *Flaky) SetFailing(on bool) { f.failing.Store(on) }

// Failing reports whether faults are on.
func (f *Flaky) Failing() bool { return f.failing.Load() }

// Refused counts the calls answered with a fault so far.
func (f *Flaky) Refused() int64 { return f.refused.Load() }

func (f *Flaky) fault(op string) error {
	if !f.failing.Load() {
		return nil
	}
	f.refused.Add(1)
	return fmt.Errorf("storetest: %s refused while failing: %w", op, store.ErrUnavailable)
}

// Put stores bs unless failing.
func (f *Flaky) Put(ctx context.Context, bs []barrage.Barrage) ([]store.Record, error) {
	if err := f.fault("put"); err != nil {
		return nil, err
	}
	return f.Store.Put(ctx, bs)
}

// After reads unless failing.
func (f *Flaky) After(ctx context.Context, room string, after store.Cursor, limit int) ([]store.Record, error) {
	if err := f.fault("after"); err != nil {
		return nil, err
	}
	return f.Store.After(ctx, room, after, limit)
}

// Latest reads unless failing.
func (f *Flaky) Latest(ctx context.Context, room string, n int) ([]store.Record, error) {
	if err := f.fault("latest"); err != nil {
		return nil, err
	}
	return f.Store.Latest(ctx, room, n)
}

// Ping fails while failing, so readiness reflects the fault.
func (f *Flaky) Ping(ctx context.Context) error {
	if err := f.fault("ping"); err != nil {
		return err
	}
	return f.Store.Ping(ctx)
}
