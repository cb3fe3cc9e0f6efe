// Package store defines where processed barrages live and how readers follow a room.
// The embedded store (sqlite/) and Tablestore (ots/) both implement Store, and the
// contract tests in storetest/ hold them to the same guarantees.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/barrage-live/barrage/internal/barrage"
)

// Cursor marks a position in one room's feed. Cursors of a room compare as strings in
// feed order, so the empty cursor is before everything. Clients see them as SSE ids and
// pass them back opaquely.
type Cursor string

// Record is a stored barrage and its position in the room's feed.
type Record struct {
	barrage.Barrage
	Cursor Cursor `json:"cursor"`
}

// Store keeps barrages, idempotently, and lets readers follow a room without gaps.
//
// Guarantees every implementation keeps (storetest checks them):
//   - Put stores a barrage once per id. A barrage whose id is already stored is skipped,
//     even when its other fields differ. Put returns nil only when every barrage it was
//     given is durable, and then gives back the records it stored new, each with the
//     cursor After will return it under.
//   - After returns the records of a room whose cursor is greater than after, in cursor
//     order. Once After has returned a record with cursor x, no record with a cursor at or
//     below x becomes visible later: a store holds back a row until that is true, so a
//     reader that follows the cursors it is given never misses a row and never sees one twice.
//   - Records expire after the retention the store was opened with; expiry never moves a
//     cursor.
type Store interface {
	// Put stores bs and returns the records that were new, with their cursors, in the
	// order given.
	Put(ctx context.Context, bs []barrage.Barrage) (stored []Record, err error)
	// After returns at most limit records of room that follow after, oldest first.
	After(ctx context.Context, room string, after Cursor, limit int) ([]Record, error)
	// Latest returns the last n visible records of room, oldest first. A reader follows on
	// from the last one's cursor.
	Latest(ctx context.Context, room string, n int) ([]Record, error)
	// Ping reports whether the store can serve requests now.
	Ping(ctx context.Context) error
	Close() error
}

// Options are the settings every store takes.
type Options struct {
	Retention time.Duration // how long a barrage is kept
}

// DefaultRetention is how long barrages are kept unless configured.
const DefaultRetention = 7 * 24 * time.Hour

// ErrUnavailable wraps failures that a retry may cure: the store is busy, throttled or
// unreachable. The processor answers 5xx for them, so the event driver retries.
var ErrUnavailable = errors.New("store unavailable")

// MaxBatch is the most barrages one Put may carry; Tablestore's BatchWriteRow takes 200 rows.
const MaxBatch = 200
